"""Salt-style `saline apply` through a real master and two agents: `--saltenv`, `--out salt-json`."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.e2e

TOP = """base:
  'node*':
    - common
dev:
  'node1':
    - devonly
"""


@pytest.fixture
def tree(two_agents):
    d = two_agents
    states = d.base / "states"
    states.mkdir()
    (states / "top.sls").write_text(TOP)
    (states / "common.sls").write_text("/etc/common:\n  file.managed:\n    - contents: c {{ grains['id'] }}\n")
    (states / "devonly.sls").write_text("/etc/dev:\n  file.managed:\n    - contents: dev\n    - mode: 0640\n")
    (d.base / "pillar").mkdir()
    for aid in ("node1", "node2"):
        (d.agent_dirs[aid] / "root" / "etc").mkdir(parents=True)
    return d


def test_apply_saltenv_applies_only_that_environment(tree) -> None:
    d = tree
    r = d.cli("apply", "node1", "--saltenv", "dev", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    job = json.loads(r.stdout)
    assert job["kwargs"].get("saltenv") == "dev"
    root = d.agent_dirs["node1"] / "root"
    assert (root / "etc/dev").read_text() == "dev\n"
    assert not (root / "etc/common").exists()
    # node2 matches nothing in dev: refused before anything runs, saying so
    r = d.cli("apply", "node2", "--saltenv", "dev")
    assert r.returncode == 1 and "no states in the top file match agent 'node2'" in r.stderr
    r = d.cli("apply", "node1", "--saltenv", "qa")
    assert r.returncode == 1 and "no environment 'qa' in the top file (it has base, dev)" in r.stderr
    # without --saltenv: every environment, base first
    r = d.cli("apply", "node1", "--json")
    assert r.returncode == 0
    assert [s["id"] for s in json.loads(r.stdout)["returns"][0]["data"]["results"]] == ["/etc/common", "/etc/dev"]


def test_apply_out_salt_json_is_keyed_like_salt(tree) -> None:
    d = tree
    r = d.cli("apply", "node*", "common", "--test", "--out", "salt-json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "published to 2 agent(s)" in r.stderr  # progress on stderr, stdout is one JSON document
    out = json.loads(r.stdout)
    assert sorted(out) == ["node1", "node2"]
    state = out["node1"]["file_|-/etc/common_|-/etc/common_|-managed"]
    assert state["result"] is None and state["changes"] == {"newfile": "/etc/common"}
    assert (state["__id__"], state["__sls__"], state["__run_num__"], state["name"]) == ("/etc/common", "common", 0,
                                                                                       "/etc/common")
    r = d.cli("apply", "node*", "common", "--out", "salt-json")
    assert r.returncode == 0
    out = json.loads(r.stdout)
    assert out["node2"]["file_|-/etc/common_|-/etc/common_|-managed"]["changes"]["diff"] == "New file"
    # a plain function: the return as Salt prints it; jobs show takes the same output
    r = d.cli("run", "node*", "test.ping", "--out", "salt-json")
    assert r.returncode == 0 and json.loads(r.stdout) == {"node1": True, "node2": True}
    # an agent down is Salt's "did not return", exit code 2
    d.agents["node2"].kill()
    d.wait_agent_state("node2", "down")
    r = d.cli("run", "node*", "test.ping", "--out", "salt-json")
    assert r.returncode == 2
    assert json.loads(r.stdout) == {"node1": True, "node2": "Minion did not return. [Not connected]"}
