"""crm_mon / crm_simulate XML on real outputs from the lab (tests/fixtures/pacemaker/README.md)."""

from __future__ import annotations

from saline.states.system.crm_mon import (
    cli_constraints, constraint_ids, fence_constraints, lost_in, parse_crm_mon, parse_simulation,
)
from saline.master.schedule.scheduler import resource_problems
from saline.states.system.pcmk_status import parse_resources
from tests.paths import FIXTURES

PCMK = FIXTURES / "pacemaker"


def test_crm_mon_nodes_placement_and_failed_action():
    view = parse_crm_mon((PCMK / "crm_mon-failed-action.xml").read_text())
    assert view.dc == "node2"
    assert {n: (s.online, s.standby) for n, s in view.nodes.items()} == {"node1": (True, False), "node2": (True, False)}
    assert [f.op_key for f in view.failures] == ["lxc_ct1_asyncmon_0"]
    assert view.failures[0].node == "node1" and view.failures[0].exitreason == "Simulated failure"
    on1 = {(view.top_level(r), r.id, r.role) for r in view.on_node("node1")}
    assert on1 == {("ms_drbd_r1", "drbd_r1", "Promoted"), ("grp_lxc1", "lvm_vg_node1", "Started"),
                   ("grp_lxc1", "fs_lxc1", "Started"), ("grp_lxc1", "lxc_ct1", "Started")}
    assert all(r.in_clone for r in view.resources if r.id == "drbd_r1")
    assert not any(r.in_clone for r in view.resources if r.parent == "grp_lxc1")


def test_simulated_standby_moves_everything_to_the_peer():
    before, after = parse_simulation((PCMK / "crm_simulate-standby-node1.xml").read_text())
    # The copy already has node1 in standby; "before" is where resources still run.
    assert before.nodes["node1"].standby and {before.top_level(r) for r in before.on_node("node1")} == {
        "ms_drbd_r1", "grp_lxc1"}
    assert after.nodes["node1"].standby and after.on_node("node1") == []
    assert {after.top_level(r) for r in after.on_node("node2")} == {"ms_drbd_r1", "grp_lxc1"}
    assert lost_in(before, after) == []


def test_lost_in_names_stopped_resources_and_a_lost_promotion():
    before, after = parse_simulation((PCMK / "crm_simulate-standby-node1.xml").read_text())
    # The same run read backwards: the "after" of a standby where nothing moved.
    for r in after.resources:
        if r.parent == "grp_lxc1":
            r.active, r.nodes = False, []
        if r.id == "drbd_r1" and r.role == "Promoted":
            r.role = "Unpromoted"
    assert lost_in(before, after) == ["drbd_r1 would lose its promoted instance", "fs_lxc1 would stop",
                                      "lvm_vg_node1 would stop", "lxc_ct1 would stop"]


def test_constraint_ids_and_the_ones_maintenance_cares_about():
    xml = """<constraints>
  <rsc_location id="cli-prefer-grp_lxc1" rsc="grp_lxc1" role="Started" node="node2" score="INFINITY"/>
  <rsc_location id="cli-ban-lxc_ct1-on-node1" rsc="lxc_ct1" role="Started" node="node1" score="-INFINITY"/>
  <rsc_location id="drbd-fence-by-handler-r1-ms_drbd_r1" rsc="ms_drbd_r1" role="Promoted">
    <rule id="drbd-fence-by-handler-r1-rule-ms_drbd_r1" score="-INFINITY"><expression attribute="#uname" operation="ne" value="node1" id="x"/></rule>
  </rsc_location>
  <rsc_location id="grp_lxc1_prefers_node1" rsc="grp_lxc1" node="node1" score="100"/>
</constraints>"""
    ids = constraint_ids(xml)
    assert ids == ["cli-prefer-grp_lxc1", "cli-ban-lxc_ct1-on-node1", "drbd-fence-by-handler-r1-ms_drbd_r1",
                   "grp_lxc1_prefers_node1"]
    assert cli_constraints(ids) == ["cli-prefer-grp_lxc1", "cli-ban-lxc_ct1-on-node1"]
    assert fence_constraints(ids) == ["drbd-fence-by-handler-r1-ms_drbd_r1"]


def test_a_clones_instances_are_merged_so_a_healthy_one_cannot_hide_a_failed_or_stopped_one():
    xml = (PCMK / "crm_mon-failed-action.xml").read_text()
    drbd = parse_resources(xml)["drbd_r1"]
    assert (drbd.nodes, drbd.role, drbd.active, drbd.failed) == (["node1", "node2"], "Promoted/Unpromoted", True, False)
    assert drbd.cannot_stop_cleanly == "it is active on several nodes (node1, node2)"
    assert parse_resources(xml)["lxc_ct1"].nodes == ["node1"]

    def problems(text: str) -> dict[str, str]:
        found = resource_problems({rid: r.model_dump() for rid, r in parse_resources(text).items()})
        return {p["item"]: p["comment"].split(";")[0] for p in found}

    assert problems(xml) == {}
    # The promoted instance on node1 failed; the healthy one on node2 comes after it in crm_mon's list
    # (the instances share one id: reading them as a dict kept the last and drift saw no failure).
    promoted = 'role="Promoted" active="true" orphaned="false" blocked="false" managed="true" failed="false"'
    assert promoted in xml
    failed = xml.replace(promoted, promoted.replace('failed="false"', 'failed="true"'), 1)
    assert problems(failed) == {"resource drbd_r1": "Pacemaker resource drbd_r1 is failed"}
    # The instance on node2 stopped (node2 in standby): the resource still runs on node1, not "stopped".
    unpromoted = 'role="Unpromoted" active="true"'
    assert unpromoted in xml
    assert problems(xml.replace(unpromoted, 'role="Stopped" active="false"', 1)) == {}


def test_absurdly_large_output_is_refused_before_parsing():
    import pytest

    from saline.states.system.crm_mon import MAX_XML, parse_crm_mon

    with pytest.raises(ValueError, match="more than"):
        parse_crm_mon("<x>" + " " * MAX_XML + "</x>")
