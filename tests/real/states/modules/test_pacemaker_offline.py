"""pacemaker.* against a real offline CIB file (``CIB_file=``), no cluster needed.

The file starts as ``cibadmin --empty`` plus the two lab nodes; the real cibadmin,
crm_attribute and crm_resource read and write it, exactly as on a node. At the end,
``crm_simulate`` on the file shows where the configured resources would run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from saline.states.system.cib import QUERY_ARGV
from saline.states.engine.runner import Runner
from tests.cluster.seed import PROPERTIES, apply_all, failures, seed_states, standin_states
from tests.harness import assert_full_cycle, assert_refused, run

pytestmark = [
    pytest.mark.real,
    pytest.mark.skipif(shutil.which("cibadmin") is None, reason="pacemaker-cli-utils not installed"),
]

LXC = ("pacemaker.primitive", {
    "name": "res_lxc_ct1", "agent": "ocf:heartbeat:lxc",
    "params": {"container": "ct1", "config": "/lxc1/ct1/config"},
    "ops": [{"name": "start", "timeout": "60s"}, {"name": "stop", "timeout": "60s"},
            {"name": "monitor", "interval": "60s", "timeout": "30s"}],
})
FS = ("pacemaker.primitive", {
    "name": "res_fs_1", "agent": "ocf:heartbeat:Filesystem",
    "params": {"device": "/dev/vg_node1/lv_node1", "directory": "/lxc1", "fstype": "ext4"},
})
DRBD = ("pacemaker.primitive", {"name": "res_drbd_r1", "agent": "ocf:linbit:drbd", "params": {"drbd_resource": "r1"}})


@pytest.fixture
def runner(tmp_path) -> Runner:
    path = tmp_path / "cib.xml"
    path.write_text(subprocess.run(["cibadmin", "--empty"], capture_output=True, text=True, check=True).stdout)
    r = Runner(env={**os.environ, "CIB_file": str(path)})
    for i in (1, 2):
        r.run(["cibadmin", "--create", "--scope", "nodes", "--xml-text", f'<node id="{i}" uname="node{i}"/>'], check=True)
    return r


def snapshot(runner: Runner):
    return lambda: runner.run(QUERY_ARGV, check=True).stdout


def prepare(runner: Runner, *states) -> None:
    for fun, args in states:
        res = run(fun, args, runner)
        assert res.result is True, res.comment


def test_properties_full_cycle(runner):
    applied = assert_full_cycle(*PROPERTIES, runner, snapshot(runner))
    assert applied.changes["stonith-enabled"] == {"old": None, "new": "false"}


def test_property_value_starting_with_dash_is_stored_whole(runner):
    # crm_attribute --update -INFINITY used to store "-I" (the rest read as options) and fail as not idempotent.
    assert_full_cycle("pacemaker.properties", {"name": "p", "properties": {"node-health-red": "-INFINITY"}},
                      runner, snapshot(runner))
    assert 'name="node-health-red" value="-INFINITY"' in snapshot(runner)()


def test_op_options_are_set_and_stable(runner):
    assert_full_cycle("pacemaker.primitive", {"name": "r", "agent": "ocf:pacemaker:Dummy", "ops": [
        {"name": "monitor", "interval": "10s", "options": {"on-fail": "restart", "record-pending": True}}]},
        runner, snapshot(runner))
    assert 'on-fail="restart"' in snapshot(runner)()


def test_primitive_full_cycle_and_op_change(runner):
    assert_full_cycle(*LXC, runner, snapshot(runner))
    fun, args = LXC
    longer = dict(args, ops=[{**op, "timeout": "90s"} if op["name"] == "stop" else op for op in args["ops"]])
    res = run(fun, longer, runner)
    assert res.result is True and 'timeout="90s"' in res.changes["diff"]
    assert 'timeout="90s"' in snapshot(runner)()


def test_group_full_cycle(runner):
    prepare(runner, FS, LXC)
    assert_full_cycle("pacemaker.group", {"name": "grp_lxc1", "members": ["res_fs_1", "res_lxc_ct1"]}, runner, snapshot(runner))


def test_promotable_clone_full_cycle(runner):
    prepare(runner, DRBD)
    args = {"name": "ms_drbd_r1", "resource": "res_drbd_r1", "promotable": True, "meta": {"promoted-max": 1, "notify": True}}
    assert_full_cycle("pacemaker.clone", args, runner, snapshot(runner))
    assert '<clone id="ms_drbd_r1">' in snapshot(runner)()


@pytest.mark.parametrize("fun, args", [
    ("pacemaker.location", {"name": "loc1", "resource": "res_fs_1", "node": "node1", "score": 100}),
    ("pacemaker.order", {"name": "ord1", "first": "res_fs_1", "then": "res_lxc_ct1"}),
    ("pacemaker.colocation", {"name": "col1", "resource": "res_lxc_ct1", "with_resource": "res_fs_1"}),
])
def test_constraint_full_cycle(runner, fun, args):
    prepare(runner, FS, LXC)
    assert_full_cycle(fun, args, runner, snapshot(runner))


def test_alert_full_cycle(runner):
    assert_full_cycle("pacemaker.alert", {"name": "a1", "path": "/usr/lib/saline/pacemaker-alert",
                                          "recipients": ["/run/saline/agent-events.sock"]}, runner, snapshot(runner))


@pytest.mark.parametrize("fun, args, match", [
    ("pacemaker.properties", {"name": "p", "properties": {"stonith-enabled": False, "stonith-enabld": False}}, "unknown cluster property"),
    ("pacemaker.properties", {"name": "p", "properties": {"no-quorum-policy": "sometimes"}}, "must be one of"),
    ("pacemaker.primitive", {"name": "x", "agent": "ocf:heartbeat:no-such-agent"}, "unknown resource agent"),
    ("pacemaker.primitive", {"name": "x", "agent": "ocf:pacemaker:Dummy", "ops": [{"name": "monitor", "interval": "10 s s"}]},
     "not a Pacemaker duration"),
    ("pacemaker.primitive", {"name": "x", "agent": "ocf:heartbeat:lxc", "params": {"container": "c"}}, "requires parameter config"),
    ("pacemaker.location", {"name": "l", "resource": "ghost", "node": "node1"}, "does not exist"),
])
def test_bad_input_refused_before_the_cib_is_touched(runner, fun, args, match):
    assert_refused(fun, args, runner, snapshot(runner), match)


def test_operator_changes_survive(runner):
    prepare(runner, FS, LXC)
    # The operator stops a resource and adds an unrelated resource and constraint by hand.
    runner.run(["crm_resource", "--resource", "res_lxc_ct1", "--meta", "--set-parameter", "target-role",
                "--parameter-value", "Stopped"], check=True)
    runner.run(["cibadmin", "--create", "--scope", "resources", "--xml-text",
                '<primitive id="ops_own" class="ocf" provider="pacemaker" type="Dummy"/>'], check=True)
    fun, args = LXC
    res = run(fun, dict(args, params={**args["params"], "log": "/var/log/ct1.log"}), runner)
    assert res.result is True and res.changes
    cib = snapshot(runner)()
    assert 'name="target-role" value="Stopped"' in cib and 'id="ops_own"' in cib
    assert run(*LXC, runner).result is True


def test_whole_seed_config_planned_offline_then_simulated(runner):
    """The seed's whole configuration applied to a file, then crm_simulate on it. The
    real agents cannot run here (no DRBD/LVM kernel support), so the simulation uses
    the Dummy/Stateful stand-ins for where things would start and be promoted."""
    states = seed_states(disabled=True) + standin_states()
    assert failures(apply_all(states, runner)) == []
    assert all(r.changes == {} and r.result is True for r in apply_all(states, runner)), "second apply must be a no-op"
    sim = subprocess.run(["crm_simulate", "--simulate", "--xml-file", runner.env["CIB_file"], "--node-up", "node1",
                          "--node-up", "node2"], capture_output=True, text=True)
    assert sim.returncode == 0, sim.stderr
    summary = sim.stdout.split("Transition Summary:", 1)[1].split("Executing Cluster Transition", 1)[0]
    starts = sorted(re.findall(r"Start\s+(\S+)\s+\(\s*(\S+)\s*\)", summary))
    # First transition: the promotable stand-in clones start on both nodes (promotion
    # follows once Stateful's monitor sets its promotion score, which a simulation
    # does not run); the seed's real resources are disabled and only probed.
    assert starts == [("sb_drbd_1:0", "node1"), ("sb_drbd_1:1", "node2"), ("sb_drbd_2:0", "node1"), ("sb_drbd_2:1", "node2")]
    assert "monitor on node1" in sim.stdout and not re.search(r"Start\s+(drbd|lvm|fs|lxc)_", summary)
