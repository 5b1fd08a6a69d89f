"""Salt's target types through the real master: -G, -I, -C, -N (nodegroups), -E, -L."""

from __future__ import annotations

import pytest

from tests.e2e.procs import Deployment

pytestmark = pytest.mark.e2e


@pytest.fixture
def cluster(tmp_path):
    d = Deployment(tmp_path, nodegroups={"primaries": "I@role:primary", "both": ["node1", "node2"]})
    try:
        (tmp_path / "pillar").mkdir()
        (tmp_path / "pillar/top.sls").write_text("base:\n  node1: [one]\n  node2: [two]\n")
        (tmp_path / "pillar/one.sls").write_text("role: primary\n")
        (tmp_path / "pillar/two.sls").write_text("role: standby\n")
        d.start_master()
        d.add_agent("node1")
        d.add_agent("node2")
        d.accept("node1", "node2")
        yield d
    finally:
        d.close()


def targeted(d: Deployment, *argv: str) -> tuple[int, list[str]]:
    rc, job = d.cli_json("run", *argv, "test.ping")
    return rc, sorted(r["agent_id"] for r in job.get("returns", [])) if isinstance(job, dict) else []


def test_target_types(cluster):
    d = cluster
    assert targeted(d, "-G", "os_family:Debian") == (0, ["node1", "node2"])
    assert targeted(d, "-G", "id:node2") == (0, ["node2"])
    assert targeted(d, "-I", "role:standby") == (0, ["node2"])
    assert targeted(d, "-C", "G@os:Debian and I@role:primary") == (0, ["node1"])
    assert targeted(d, "-C", "node* and not L@node1") == (0, ["node2"])
    assert targeted(d, "-N", "primaries") == (0, ["node1"])
    assert targeted(d, "-N", "both") == (0, ["node1", "node2"])
    assert targeted(d, "-E", r"node[2-9]") == (0, ["node2"])
    assert targeted(d, "-L", "node1,node9") == (0, ["node1"])
    r = d.cli("run", "-G", "os:RedHat", "test.ping")
    assert r.returncode == 1 and "no accepted agent matches grain target 'os:RedHat'" in r.stdout + r.stderr
    r = d.cli("run", "-C", "G@os:Debian and", "test.ping")
    assert r.returncode == 1 and "ends too early" in r.stdout + r.stderr
