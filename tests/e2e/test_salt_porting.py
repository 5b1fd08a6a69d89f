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


PILLAR_TOP = "base:\n  'node1':\n    - secrets\n  'node2':\n    - other\n"


@pytest.fixture
def exec_tree(deployment):
    """node1 allows pillar.* and state.*; node2 only the defaults (no pillar.*)."""
    d = deployment
    d.add_agent("node1", functions=["test.*", "state.*", "pillar.*"])
    d.add_agent("node2")
    d.accept("node1", "node2")
    states = d.base / "states"
    states.mkdir()
    (states / "top.sls").write_text("base:\n  'node*':\n    - app\n")
    (states / "lib.sls").write_text("/etc/lib:\n  file.managed:\n    - contents: lib\n")
    (states / "app.sls").write_text(
        "include:\n  - lib\n/etc/app:\n  file.managed:\n    - contents: {{ pillar.get('role', 'none') }}\n"
        "    - require:\n      - file: /etc/lib\n/etc/other:\n  file.managed:\n    - contents: other\n")
    (d.base / "pillar").mkdir()
    (d.base / "pillar" / "top.sls").write_text(PILLAR_TOP)
    (d.base / "pillar" / "secrets.sls").write_text("role: primary\ndb: {password: s3cret, port: 5432}\n")
    (d.base / "pillar" / "other.sls").write_text("role: standby\n")
    for aid in ("node1", "node2"):
        (d.agent_dirs[aid] / "root" / "etc").mkdir(parents=True)
    return d


def run_json(d, *argv):
    r = d.cli("run", *argv, "--out", "salt-json")
    return r.returncode, (json.loads(r.stdout) if r.stdout.strip() else None), r.stderr


def test_pillar_functions_answer_with_the_agents_own_pillar_masked(exec_tree) -> None:
    d = exec_tree
    assert run_json(d, "node1", "pillar.items")[:2] == (0, {"node1": {"role": "**********", "db": {
        "password": "**********", "port": "**********"}}})
    assert run_json(d, "node1", "pillar.get", "db:password", "unmask=True")[:2] == (0, {"node1": "s3cret"})
    assert run_json(d, "node1", "pillar.get", "db:none", "default=7", "unmask=True")[:2] == (0, {"node1": 7})
    assert run_json(d, "node1", "pillar.item", "role", "db:port", "unmask=True")[:2] == \
        (0, {"node1": {"role": "primary", "db:port": 5432}})
    # node2 does not allow pillar.*: its agent refuses (the allow-list is the agent's)
    rc, out, _ = run_json(d, "node*", "pillar.get", "role", "unmask=True")
    assert rc == 2 and out["node1"] == "primary" and "not allowed" in out["node2"]
    # the job record keeps the caller's arguments, not the pillar the master compiled
    rc, jobs = d.cli_json("jobs", "list")
    rc, job = d.cli_json("jobs", "show", jobs[0]["jid"])
    assert job["kwargs"] == {"unmask": True} and "s3cret" not in json.dumps(job["kwargs"])
    # the master fills in `compiled`; a caller cannot
    r = d.cli("run", "node1", "pillar.items", "compiled={a: 1}")
    assert r.returncode == 1 and "'compiled' is filled in by the master" in r.stderr


def test_state_show_functions_and_sls_id(exec_tree) -> None:
    d = exec_tree
    rc, out, _ = run_json(d, "node1", "state.show_top")
    assert (rc, out) == (0, {"node1": {"base": ["app"]}})
    rc, out, _ = run_json(d, "node1", "state.show_sls", "app")
    app = out["node1"]["/etc/app"]
    assert app["file"][0] == {"contents": "primary"}  # rendered with node1's own pillar
    assert app["__sls__"] == "app" and out["node1"]["/etc/lib"]["__sls_included_from__"] == ["app"]
    rc, out, _ = run_json(d, "node*", "state.show_highstate")
    assert out["node2"]["/etc/app"]["file"][0] == {"contents": "standby"}
    rc, out, _ = run_json(d, "node1", "state.show_lowstate")
    assert [c["__id__"] for c in out["node1"]] == ["/etc/lib", "/etc/app", "/etc/other"]
    # sls_id: the ID and what it requires, nothing else; dry run first
    rc, out, _ = run_json(d, "node1", "state.sls_id", "/etc/app", "app", "test=True")
    assert rc == 0 and sorted(out["node1"]) == ["file_|-/etc/app_|-/etc/app_|-managed",
                                                "file_|-/etc/lib_|-/etc/lib_|-managed"]
    root = d.agent_dirs["node1"] / "root"
    assert not (root / "etc/app").exists()
    r = d.cli("run", "node1", "state.sls_id", "/etc/app", "app")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Succeeded: 2 (changed=2)" in r.stdout  # shown as a state run, like state.apply
    assert (root / "etc/app").read_text() == "primary\n" and (root / "etc/lib").exists()
    assert not (root / "etc/other").exists()
    # mistakes are refused before anything is sent, saying what to do
    r = d.cli("run", "node1", "state.sls_id", "/etc/nope", "app")
    assert r.returncode == 1 and "No matches for ID '/etc/nope' found in SLS 'app'" in r.stderr
    r = d.cli("run", "node1", "state.show_sls")
    assert r.returncode == 1 and "state.show_sls needs 'mods'" in r.stderr
    r = d.cli("run", "node1", "state.show_sls", "missing")
    assert r.returncode == 1 and "'missing' not found" in r.stderr
    r = d.cli("run", "node1", "state.show_sls", "mods={a: 1}")
    assert r.returncode == 1 and "is not a valid SLS name" in r.stderr
    assert d.cli("run", "node1", "test.ping").returncode == 0  # the master is still there
