"""Gate verdicts from cluster.status reports (built on the real crm_mon fixture)."""

from __future__ import annotations

import time

from saline.master.maintenance.gates import GATES, evaluate, simulation_gate
from saline.master.maintenance.lock import LockInfo
from saline.states.system.crm_mon import parse_crm_mon
from tests.paths import FIXTURES

HEALTHY_DRBD = {"configured": ["r1"], "resources": {"r1": {"summary": "r1 Primary", "problems": []}}}


def report(node: str, **over) -> dict:
    view = parse_crm_mon((FIXTURES / "pacemaker" / "crm_mon-failed-action.xml").read_text())
    view.failures = []
    base = {"node": node, "session": "1-2", "boot_id": "b", "crm": view.model_dump(),
            "constraints": ["grp_lxc1_prefers_node1"], "drbd": HEALTHY_DRBD, "md": {"arrays": {}},
            "data_paths": ["/lxc1"], "holders": []}
    base.update(over)
    return base


def verdicts(reports=None, up=None, lock=None, run_id=None) -> dict[str, tuple[bool, str]]:
    reports = reports or {"node1": report("node1"), "node2": report("node2")}
    gates = evaluate("node1", "node2", reports, up or {"node1": True, "node2": True}, lock, run_id)
    return {g.name: (g.ok, g.evidence) for g in gates}


def failing(**kw) -> list[str]:
    return [name for name, (ok, _) in verdicts(**kw).items() if not ok]


def test_a_healthy_cluster_passes_every_gate_with_evidence():
    v = verdicts()
    assert list(v) == list(GATES)
    assert all(ok for ok, _ in v.values()), v
    assert v["peer_online"][1] == "node2 online, not in standby; DC node2"
    assert v["drbd_healthy"][1] == "Connected, UpToDate/UpToDate, in sync: r1"


def test_each_gate_fails_on_its_own():
    crm = report("node1")["crm"]
    crm["nodes"]["node2"]["standby"] = True
    assert failing(reports={"node1": report("node1", crm=crm), "node2": report("node2")}) == ["peer_online"]
    assert failing(reports={"node1": report("node1", constraints=["cli-ban-lxc_ct1-on-node1"]),
                            "node2": report("node2")}) == ["no_stray_cli_constraints"]
    assert failing(reports={"node1": report("node1", constraints=["drbd-fence-by-handler-r1-ms"]),
                            "node2": report("node2")}) == ["no_drbd_fence_constraints"]
    failed = parse_crm_mon((FIXTURES / "pacemaker" / "crm_mon-failed-action.xml").read_text()).model_dump()
    v = verdicts(reports={"node1": report("node1", crm=failed), "node2": report("node2")})
    assert [n for n, (ok, _) in v.items() if not ok] == ["no_failed_actions"]
    assert "lxc_ct1_asyncmon_0 on node1 (Simulated failure)" in v["no_failed_actions"][1]
    sync = {"configured": ["r1"], "resources": {"r1": {"summary": "", "problems": ["peer node1 volume 0: SyncSource 40.00% done"]}}}
    assert failing(reports={"node1": report("node1"), "node2": report("node2", drbd=sync)}) == ["drbd_healthy"]
    md = {"arrays": {"md0": {"healthy": False, "summary": "md0: active; degraded [2/1] [U_]"}}}
    assert failing(reports={"node1": report("node1", md=md), "node2": report("node2")}) == ["md_clean"]
    holder = [{"pid": 42, "comm": "grub-mount", "path": "/lxc1/snap"}]
    v = verdicts(reports={"node1": report("node1", holders=holder), "node2": report("node2")})
    assert [n for n, (ok, _) in v.items() if not ok] == ["no_unmanaged_holders"]
    assert "pid 42 (grub-mount) holds /lxc1/snap" in v["no_unmanaged_holders"][1]
    assert failing(up={"node1": True, "node2": False}) == ["agents_up"]
    other = LockInfo(run_id="20990101000000-abcdef", owner="someone", started=time.time(), expires=time.time() + 60)
    assert failing(lock=other) == ["lock_free"]
    assert failing(lock=other, run_id="20990101000000-abcdef") == []  # our own lock


def test_no_status_from_the_node_fails_instead_of_passing():
    v = verdicts(reports={"node1": "agent no_return", "node2": report("node2")})
    assert not v["agents_up"][0] and not v["peer_online"][0] and not v["no_unmanaged_holders"][0]
    assert "node1: cluster.status failed: agent no_return" in v["agents_up"][1]


def test_drbd_errors_and_resources_that_are_configured_but_down():
    down = {"configured": ["r0", "r1"], "resources": {"r1": {"summary": "", "problems": []}}}
    v = verdicts(reports={"node1": report("node1", drbd=down), "node2": report("node2")})
    assert v["drbd_healthy"] == (False, "node1 r0: configured but not up")
    broken = {"configured": ["r1"], "error": "drbdadm status: no kernel module"}
    assert not verdicts(reports={"node1": report("node1", drbd=broken), "node2": report("node2")})["drbd_healthy"][0]


def test_the_standby_simulation_gate():
    ok = simulation_gate("node1", {"lost": [], "still_on_node": [], "moves": ["grp_lxc1", "ms_drbd_r1"]})
    assert ok.ok and "moves: grp_lxc1, ms_drbd_r1" in ok.evidence
    bad = simulation_gate("node1", {"lost": ["lxc_ct1 would stop"], "still_on_node": [], "moves": []})
    assert not bad.ok and "lxc_ct1 would stop" in bad.evidence
    assert not simulation_gate("node1", "crm_simulate: command not found").ok
