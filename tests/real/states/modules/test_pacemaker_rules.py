"""rsc_defaults, op_defaults, location rules, resource sets, and the simulated preview,
against real offline CIB files (CIB_file) with the real cibadmin, crm_verify, crm_simulate.

The "running" CIB is made by crm_simulate itself: two nodes brought up with
``--node-up``, the transition executed and saved (``--save-output``), so its status
section says d1 and d2 run, as a live cluster's would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from saline.states.engine.runner import Runner
from saline.states.system.cib import QUERY_ARGV
from tests.harness import assert_full_cycle, assert_refused, run

pytestmark = [
    pytest.mark.real,
    pytest.mark.skipif(shutil.which("crm_simulate") is None, reason="pacemaker-cli-utils not installed"),
]


def _empty(path: Path) -> Runner:
    path.write_text(subprocess.run(["cibadmin", "--empty"], capture_output=True, text=True, check=True).stdout)
    r = Runner(env={**os.environ, "CIB_file": str(path)})
    for i in (1, 2):
        r.run(["cibadmin", "--create", "--scope", "nodes", "--xml-text", f'<node id="{i}" uname="node{i}"/>'], check=True)
    for name, value in (("stonith-enabled", "false"), ("no-quorum-policy", "ignore")):
        r.run(["crm_attribute", "--type=crm_config", f"--name={name}", f"--update={value}"], check=True)
    return r


@pytest.fixture
def offline(tmp_path) -> Runner:
    return _empty(tmp_path / "cib.xml")


@pytest.fixture
def running(tmp_path) -> Runner:
    """d1 runs on node1, d2 on node2 (location preferences), both nodes online."""
    path = tmp_path / "cib.xml"
    r = _empty(path)
    for rid, node in (("d1", "node1"), ("d2", "node2")):
        r.run(["cibadmin", "--create", "--scope", "resources", "--xml-text",
               f'<primitive id="{rid}" class="ocf" provider="pacemaker" type="Dummy"/>'], check=True)
        r.run(["cibadmin", "--create", "--scope", "constraints", "--xml-text",
               f'<rsc_location id="pref-{rid}" rsc="{rid}" node="{node}" score="100"/>'], check=True)
    subprocess.run(["crm_simulate", "--simulate", "--xml-file", str(path), "--node-up", "node1", "--node-up", "node2",
                    "--save-output", str(path)], check=True, capture_output=True)
    subprocess.run(["crm_simulate", "--simulate", "--xml-file", str(path), "--save-output", str(path)],
                   check=True, capture_output=True)
    return r


def snapshot(runner: Runner):
    return lambda: runner.run(QUERY_ARGV, check=True).stdout


def verify(runner: Runner) -> None:
    res = subprocess.run(["crm_verify", "--xml-file", runner.env["CIB_file"]], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_rsc_and_op_defaults_full_cycle(offline):
    applied = assert_full_cycle("pacemaker.rsc_defaults", {"name": "rd", "defaults": {
        "resource-stickiness": 100, "migration-threshold": 3}}, offline, snapshot(offline))
    assert applied.changes["created"] == "rsc_defaults rsc-defaults-options"
    assert_full_cycle("pacemaker.op_defaults", {"name": "od", "defaults": {"timeout": "60s", "record-pending": True}},
                      offline, snapshot(offline))
    root = ET.fromstring(snapshot(offline)())
    values = {nv.get("name"): nv.get("value") for nv in root.iter("nvpair")}
    assert values["resource-stickiness"] == "100" and values["timeout"] == "60s" and values["record-pending"] == "true"
    # a second name later: the same set, the first name kept
    assert_full_cycle("pacemaker.rsc_defaults", {"name": "rd2", "defaults": {"failure-timeout": "10min"}},
                      offline, snapshot(offline))
    assert len(ET.fromstring(snapshot(offline)()).findall("./rsc_defaults/meta_attributes")) == 1
    verify(offline)


def test_defaults_bad_names_and_values_refused(offline):
    assert_refused("pacemaker.rsc_defaults", {"name": "rd", "defaults": {"stickyness": 1}}, offline, snapshot(offline),
                   "unknown name stickyness")
    offline.run(["cibadmin", "--create", "--scope", "resources", "--xml-text",
                 '<primitive id="d1" class="ocf" provider="pacemaker" type="Dummy"/>'], check=True)
    refused = assert_refused("pacemaker.rsc_defaults", {"name": "rd", "defaults": {"target-role": "Bogus"}}, offline,
                             snapshot(offline), "crm_verify rejects")
    assert "Unknown role: Bogus" in refused.comment


def test_location_rules_on_uname_attributes_and_date_specs(offline):
    offline.run(["cibadmin", "--create", "--scope", "resources", "--xml-text",
                 '<primitive id="d1" class="ocf" provider="pacemaker" type="Dummy"/>'], check=True)
    args = {"name": "loc-d1", "resource": "d1", "rules": [
        {"score": 100, "expressions": [{"attribute": "#uname", "value": "node1"}]},
        {"score": "-INFINITY", "boolean_op": "or", "expressions": [{"attribute": "storage", "operation": "not_defined"},
                                                                  {"attribute": "cores", "operation": "lt", "value": 2,
                                                                   "type": "integer"}]},
        {"score": 50, "date_expressions": [{"operation": "date_spec", "date_spec": {"hours": "9-16", "weekdays": "1-5"}},
                                           {"operation": "in_range", "start": "2026-01-01", "end": "2026-12-31"}]},
    ]}
    applied = assert_full_cycle("pacemaker.location", args, offline, snapshot(offline))
    assert "simulation" in applied.changes
    text = snapshot(offline)()
    assert 'attribute="#uname" operation="eq" value="node1"' in text and 'hours="9-16" weekdays="1-5"' in text
    verify(offline)


def test_order_and_colocation_with_resource_sets(offline):
    for rid in ("a", "b", "c"):
        offline.run(["cibadmin", "--create", "--scope", "resources", "--xml-text",
                     f'<primitive id="{rid}" class="ocf" provider="pacemaker" type="Dummy"/>'], check=True)
    assert_full_cycle("pacemaker.order", {"name": "ord-sets", "sets": [
        {"resources": ["a", "b"], "sequential": False}, {"resources": ["c"]}]}, offline, snapshot(offline))
    assert_full_cycle("pacemaker.colocation", {"name": "col-sets", "sets": [{"resources": ["a", "b", "c"]}]},
                      offline, snapshot(offline))
    first = ET.fromstring(snapshot(offline)()).find(".//rsc_order[@id='ord-sets']/resource_set")
    assert first.get("sequential") == "false" and [r.get("id") for r in first] == ["a", "b"]
    verify(offline)
    assert_refused("pacemaker.order", {"name": "o2", "sets": [{"resources": ["a", "nope"]}]}, offline, snapshot(offline),
                   "'nope' does not exist")


def test_dry_run_lists_the_simulated_actions_and_warns_about_unnamed_stops(running):
    # Moving d1 away from node1: named, so only listed.
    avoid = {"name": "avoid-d1", "resource": "d1", "node": "node1", "score": "-INFINITY"}
    dry = run("pacemaker.location", avoid, running, test=True)
    assert dry.result is None and dry.changes["simulation"] == ["move d1 node1 → node2"]
    assert "warnings" not in dry.changes
    # Stopping everything through a default: d1 and d2 are not named by the state.
    stop_all = {"name": "rd", "defaults": {"target-role": "Stopped"}}
    before = snapshot(running)()
    dry = run("pacemaker.rsc_defaults", stop_all, running, test=True)
    assert dry.result is None and sorted(dry.changes["warnings"]) == [
        "would stop d1 on node1 (due to node availability) (not named by this state)",
        "would stop d2 on node2 (due to node availability) (not named by this state)"]
    refused = assert_refused("pacemaker.rsc_defaults", {**stop_all, "require_no_disruption": True}, running,
                             snapshot(running), "require_no_disruption")
    assert "stop d1 on node1" in refused.comment and snapshot(running)() == before


def test_a_property_that_stops_everything_is_simulated_too(running):
    """crm_attribute changes (pacemaker.properties) go through the same preview."""
    stop_all = {"name": "props", "properties": {"stop-all-resources": True}}
    dry = run("pacemaker.properties", stop_all, running, test=True)
    assert dry.result is None and len(dry.changes["warnings"]) == 2, dry.changes
    assert all(w.startswith("would stop d") for w in dry.changes["warnings"])
    assert_refused("pacemaker.properties", {**stop_all, "require_no_disruption": True}, running, snapshot(running),
                   "require_no_disruption")
