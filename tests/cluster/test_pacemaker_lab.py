"""pacemaker.* on the real two-node lab (Corosync 3 + Pacemaker 2.1 in namespaces).

The states run inside node1 (a lab NodeRunner: every command via nsenter into the
node), against the live CIB.

The seed's own resources (ocf:linbit:drbd, LVM-activate, Filesystem, lxc) need kernel
features this machine lacks (DRBD module, device-mapper activation, LVs for the
containers): they are defined, planned and applied for real with
``target-role=Stopped`` on their groups and clones, but never started. The live
start/promote/failover runs on stand-ins of the same shape: ``ocf:pacemaker:Dummy`` for
LVM/Filesystem/lxc and a promotable ``ocf:pacemaker:Stateful`` clone for DRBD.
"""

from __future__ import annotations

import time

import pytest

from saline.states.system.cib import QUERY_ARGV
from tests.cluster.seed import PROPERTIES, apply_all, failures, seed_states, standin_states
from tests.harness import assert_refused, run

pytestmark = pytest.mark.cluster

SEED = seed_states(disabled=True) + standin_states()


def wait_for(what: str, ready, timeout: float = 60.0):
    """Poll (no fixed sleeps): failover time varies with load (NOTES.md)."""
    started = time.monotonic()
    while True:
        value = ready()
        if value:
            return time.monotonic() - started
        assert time.monotonic() - started < timeout, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def configured(lab):
    """The seed config + stand-ins applied once (results kept for the tests to inspect)."""
    runner = lab.runner("node1")
    before = runner.run(QUERY_ARGV, check=True).stdout
    dry = apply_all(SEED, runner, test=True)
    after_dry = runner.run(QUERY_ARGV, check=True).stdout
    applied = apply_all(SEED, runner)
    return {"runner": runner, "before": before, "dry": dry, "after_dry": after_dry, "applied": applied}


def test_dry_run_shows_the_diff_and_changes_nothing(configured):
    dry = configured["dry"]
    assert configured["after_dry"] == configured["before"]
    props = dry[0]
    assert props.result is None and props.changes["stonith-enabled"] == {"old": None, "new": "false"}
    lxc = next(r for r in dry if r.id == "lxc_1")
    assert lxc.result is None and 'timeout="60s"' in lxc.changes["diff"] and 'interval="60s"' in lxc.changes["diff"]


def test_seed_config_applies_and_second_apply_is_a_no_op(configured, lab):
    assert failures(configured["applied"]) == []
    assert all(r.result is True and r.changes for r in configured["applied"])
    again = apply_all(SEED, configured["runner"])
    changed = [(r.id, r.changes) for r in again if r.changes or r.result is not True]
    assert changed == []
    # The other node sees the same configuration (the CIB is replicated).
    cib2 = lab.exec("node2", QUERY_ARGV, check=True).stdout
    assert 'id="lvm_1"' in cib2 and 'timeout="240s"' in cib2 and 'id="ms_drbd_2"' in cib2


def test_standins_run_where_the_seed_puts_them(configured, lab):
    def placed() -> bool:
        return (lab.resource_location("node2", "sb_lxc_1") == ["node1"]
                and lab.resource_location("node2", "sb_lxc_2") == ["node2"])

    wait_for("stand-in groups running on their preferred nodes", placed, timeout=90)
    # The seed's real resources are defined but stopped.
    assert lab.resource_location("node1", "lxc_1") == []


def test_operator_change_survives_reapply(configured, lab):
    runner = configured["runner"]
    lab.exec("node2", ["crm_resource", "--resource", "lxc_2", "--meta", "--set-parameter", "description",
                       "--parameter-value", "operator note"], check=True)
    lab.exec("node2", ["cibadmin", "--create", "--scope", "constraints", "--xml-text",
                       '<rsc_location id="operator-ban" rsc="fs_2" node="node1" score="-INFINITY"/>'], check=True)
    again = apply_all(SEED, runner)
    assert [r.id for r in again if r.changes] == []
    cib = runner.run(QUERY_ARGV, check=True).stdout
    assert 'value="operator note"' in cib and 'id="operator-ban"' in cib


def test_changed_op_timeout_is_updated_in_place(configured, lab):
    runner = configured["runner"]
    states = seed_states(disabled=True)
    fun, args = next(s for s in states if s[1]["name"] == "lvm_1")
    longer = dict(args, ops=[{**op, "timeout": "300s"} if op["name"] == "start" else op for op in args["ops"]])
    res = apply_all([(fun, longer)], runner)[0]
    assert res.result is True and '+    <op id="lvm_1-start-interval-0" interval="0" name="start" timeout="300s" />' in res.changes["diff"]
    back = apply_all([(fun, args)], runner)[0]
    assert back.result is True and 'timeout="240s"' in back.changes["diff"]


@pytest.mark.parametrize("fun, args, match", [
    ("pacemaker.properties", {"name": "p", "properties": {"no-quorum-policy": "ignore", "stonith-enabld": False}},
     "unknown cluster property stonith-enabld"),
    ("pacemaker.primitive", {"name": "x", "agent": "ocf:pacemaker:Dummy", "ops": [{"name": "monitor", "interval": "often"}]},
     "not a Pacemaker duration"),
    ("pacemaker.primitive", {"name": "x", "agent": "ocf:heartbeat:NoSuchAgent"}, "unknown resource agent"),
])
def test_bad_input_refused_before_the_live_cib_is_touched(configured, fun, args, match):
    runner = configured["runner"]
    assert_refused(fun, args, runner, lambda: runner.run(QUERY_ARGV, check=True).stdout, match)


def test_failover_on_node_crash_and_back(configured, lab):
    """Kill node1 (SIGKILL of every process in its namespaces): its stand-in group and
    the promoted role move to node2; node1 restarted → they come back (score 100)."""
    wait_for("sb_lxc_1 on node1", lambda: lab.resource_location("node2", "sb_lxc_1") == ["node1"], timeout=90)
    lab.kill("node1")
    took = wait_for("sb_lxc_1 to fail over to node2",
                    lambda: lab.resource_location("node2", "sb_lxc_1") == ["node2"], timeout=90)
    print(f"FAILOVER_SECONDS={took:.2f}")
    lab.start("node1")
    wait_for("sb_lxc_1 back on node1", lambda: lab.resource_location("node2", "sb_lxc_1") == ["node1"], timeout=90)
    # The configuration is unchanged by all this: still a no-op.
    assert [r.id for r in apply_all([PROPERTIES], configured["runner"]) if r.changes] == []


def test_dry_run_on_the_running_cluster_simulates_the_change(configured, lab):
    """saline's --test on the live cluster: the would-be CIB (with the live status) goes
    through crm_simulate; moving a running stand-in group is listed, and stopping a
    running resource the state does not name is refused with require_no_disruption."""
    runner = configured["runner"]
    wait_for("sb_lxc_1 running (after the failover test)", lambda: lab.resource_location("node1", "sb_lxc_1"), timeout=90)
    where = lab.resource_location("node1", "sb_lxc_1")
    avoid = {"name": "sb_avoid", "resource": "sb_grp_lxc1", "node": where[0], "score": "-INFINITY"}
    before = runner.run(QUERY_ARGV, check=True).stdout
    dry = run("pacemaker.location", avoid, runner, test=True)
    assert dry.result is None, dry
    assert f"move sb_lxc_1 {where[0]} → " in "\n".join(dry.changes["simulation"]), dry.changes
    # The group is named (its members too); the promoted DRBD stand-in it is colocated with
    # is not, and the move demotes it there: a warning, as it would be on the real cluster.
    warnings = dry.changes["warnings"]
    assert warnings and all(w.startswith("would demote sb_drbd_1:") and "(not named by this state)" in w
                            for w in warnings), dry.changes
    stop_all = {"name": "stop-all", "defaults": {"target-role": "Stopped"}, "require_no_disruption": True}
    refused = assert_refused("pacemaker.rsc_defaults", stop_all, runner,
                             lambda: runner.run(QUERY_ARGV, check=True).stdout, "require_no_disruption")
    assert "stop sb_lxc_1" in refused.comment
    assert runner.run(QUERY_ARGV, check=True).stdout == before
