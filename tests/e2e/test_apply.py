"""`saline apply` through master → two agents, with real state runs on each agent's root."""

import pytest

from tests.debs import build_deb, empty_dpkg_db

pytestmark = pytest.mark.e2e

TOP = """base:
  'node*':
    - app
"""

APP = """/etc/app.conf:
  file.managed:
    - contents: |
        node={{ grains['id'] }}
        role={{ pillar['role'] }}
    - mode: "0640"

saline-hello:
  pkg.installed:
    - sources:
      - saline-hello: /srv/debs/saline-hello_1.0-1_all.deb

hold-saline-hello:
  pkg.held:
    - name: saline-hello
    - require:
      - pkg: saline-hello

/etc/default/grub:
  file.keyvalue:
    - key_values:
        GRUB_TIMEOUT: 5
        GRUB_DISABLE_OS_PROBER: "true"
    - append_if_not_found: true
"""

PILLAR_TOP = """base:
  'node1':
    - node1
  'node2':
    - node2
"""


@pytest.fixture
def tree(two_agents):
    d = two_agents
    (d.base / "states").mkdir()
    (d.base / "states" / "top.sls").write_text(TOP)
    (d.base / "states" / "app.sls").write_text(APP)
    (d.base / "pillar").mkdir()
    (d.base / "pillar" / "top.sls").write_text(PILLAR_TOP)
    (d.base / "pillar" / "node1.sls").write_text("role: primary\nsecret: only-for-node1\n")
    (d.base / "pillar" / "node2.sls").write_text("role: standby\n")
    for aid in ("node1", "node2"):
        root = d.agent_dirs[aid] / "root"
        empty_dpkg_db(root / "var/lib/dpkg")
        (root / "srv/debs").mkdir(parents=True)
        build_deb(root / "srv/debs", "saline-hello", "1.0-1")
        (root / "etc/default").mkdir(parents=True)
        (root / "etc/default/grub").write_text('GRUB_DEFAULT=0\nGRUB_TIMEOUT=2\nGRUB_CMDLINE_LINUX=""\n')
    return d


def summary(job, aid):
    ret = next(r for r in job["returns"] if r["agent_id"] == aid)
    assert ret["status"] == "returned", ret
    return ret["data"]["summary"], {r["id"]: r for r in ret["data"]["results"]}


def test_apply_changes_then_converges_then_detects_drift(tree):
    d = tree
    root1 = d.agent_dirs["node1"] / "root"

    # Dry run first: would-change everywhere, nothing touched.
    rc, job = d.cli_json("apply", "node*", "--test")
    assert rc == 0
    s, results = summary(job, "node1")
    assert s["failed"] == 0 and all(r["result"] is None for r in results.values())
    # pkg.held cannot be planned before the package it holds is installed: said, not failed.
    assert "Cannot be planned before saline-hello is applied" in results["hold-saline-hello"]["comment"]
    assert not (root1 / "etc/app.conf").exists()

    rc, job = d.cli_json("apply", "node*")
    assert rc == 0, job
    for aid, role in (("node1", "primary"), ("node2", "standby")):
        s, results = summary(job, aid)
        assert s["failed"] == 0 and s["changed"] == 4, results
        conf = d.agent_dirs[aid] / "root/etc/app.conf"
        assert conf.read_text() == f"node={aid}\nrole={role}\n"
        assert oct(conf.stat().st_mode & 0o777) == "0o640"
    assert "GRUB_TIMEOUT=5" in (root1 / "etc/default/grub").read_text()
    status = (root1 / "var/lib/dpkg/status").read_text()
    assert "Package: saline-hello" in status and "Status: hold ok installed" in status

    # Converged: the second apply changes nothing.
    rc, job = d.cli_json("apply", "node*")
    assert rc == 0
    for aid in ("node1", "node2"):
        s, results = summary(job, aid)
        assert s["changed"] == 0 and s["failed"] == 0 and all(r["changes"] == {} for r in results.values())

    # Drift on node1 only: --test shows it and changes nothing.
    (root1 / "etc/app.conf").write_text("tampered\n")
    rc, job = d.cli_json("apply", "node*", "--test")
    assert rc == 0
    _, results1 = summary(job, "node1")
    _, results2 = summary(job, "node2")
    assert results1["/etc/app.conf"]["result"] is None and "tampered" in results1["/etc/app.conf"]["changes"]["diff"]
    assert results2["/etc/app.conf"]["result"] is True
    assert (root1 / "etc/app.conf").read_text() == "tampered\n"

    # The stored job shows the state returns.
    r = d.cli("jobs", "show", job["jid"])
    assert r.returncode == 0 and "Summary for node1" in r.stdout and "Would" in r.stdout


def test_failing_state_exits_nonzero_and_compile_errors_run_nothing(tree):
    d = tree
    (d.base / "states" / "bad.sls").write_text("/etc/x:\n  file.managed:\n    - contents: x\n    - colour: red\n")
    r = d.cli("apply", "node1", "bad")
    assert r.returncode == 1 and "colour" in r.stderr and "bad.sls" in r.stderr
    assert not (d.agent_dirs["node1"] / "root/etc/x").exists()

    (d.base / "states" / "fails.sls").write_text(
        "/etc/sub/dir/file:\n  file.managed:\n    - contents: x\n"  # parent missing, makedirs off: fails
        "after:\n  file.managed:\n    - name: /etc/after\n    - contents: y\n    - require:\n      - file: /etc/sub/dir/file\n")
    rc, job = d.cli_json("apply", "node1", "fails")
    assert rc == 2
    s, results = summary(job, "node1")
    assert s["failed"] == 2 and "requisite failed" in results["after"]["comment"]
    assert not (d.agent_dirs["node1"] / "root/etc/after").exists()


def test_an_agent_only_receives_its_own_pillar(tree):
    d = tree
    (d.base / "states" / "leak.sls").write_text(
        "/etc/pillar-dump:\n  file.managed:\n    - contents: \"{{ pillar.get('secret', 'none') }} {{ pillar | length }}\"\n")
    rc, job = d.cli_json("apply", "node*", "leak")
    assert rc == 0
    assert "only-for-node1" in (d.agent_dirs["node1"] / "root/etc/pillar-dump").read_text()
    assert "only-for-node1" not in (d.agent_dirs["node2"] / "root/etc/pillar-dump").read_text()
