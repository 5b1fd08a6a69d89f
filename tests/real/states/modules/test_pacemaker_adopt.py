"""Taking over a CIB made by crmsh: meaning, not spelling, decides what changes.

The seed's cluster is loaded into an offline CIB file with the real ``crm configure load
update`` (crmsh 4.4 writes ``<master>``, ``role="Master"``, its own op ids and
``master-max``); saline's SLS for the same cluster then applies with no change at all
and the file stays byte-identical. ``convert_legacy: true`` turns a ``<master>`` into a
promotable ``<clone>`` in one replace of the resources section.
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
from tests.cluster.seed import apply_all, failures, seed_states
from tests.harness import assert_full_cycle, run

pytestmark = [
    pytest.mark.real,
    pytest.mark.skipif(shutil.which("cibadmin") is None or shutil.which("crm") is None, reason="pacemaker/crmsh not installed"),
]

SEED_CRM = Path(__file__).parents[3] / "fixtures" / "pacemaker" / "seed-crmsh.crm"


@pytest.fixture
def crmsh_cib(tmp_path) -> tuple[Runner, Path]:
    """An offline CIB with two nodes and the seed's configuration loaded by crmsh."""
    path = tmp_path / "cib.xml"
    path.write_text(subprocess.run(["cibadmin", "--empty"], capture_output=True, text=True, check=True).stdout)
    env = {**os.environ, "CIB_file": str(path)}
    r = Runner(env=env)
    for i in (1, 2):
        r.run(["cibadmin", "--create", "--scope", "nodes", "--xml-text", f'<node id="{i}" uname="node{i}"/>'], check=True)
    # crmsh keeps '#' lines as XML comments in the CIB: load the configuration without the header.
    crm = tmp_path / "seed.crm"
    crm.write_text("".join(line for line in SEED_CRM.read_text().splitlines(keepends=True) if not line.startswith("#")))
    subprocess.run(["crm", "configure", "load", "update", str(crm)], env=env, check=True, capture_output=True, timeout=120)
    return r, path


def test_crmsh_made_cib_is_what_crmsh_writes(crmsh_cib):
    runner, _ = crmsh_cib
    text = runner.run(QUERY_ARGV, check=True).stdout
    for spelling in ('<master id="ms_drbd_1">', 'role="Master"', 'name="master-max"', 'id="lxc_1-monitor-60"',
                     'with-rsc-role="Master"', 'score="+INFINITY"', 'name="notify" value="yes"'):
        assert spelling in text


def test_seed_sls_adopts_the_crmsh_cib_with_no_change(crmsh_cib):
    runner, path = crmsh_cib
    before = path.read_bytes()
    for test in (True, False):
        results = apply_all(seed_states(), runner, test=test)
        assert failures(results) == []
        changed = {r.id: r.changes for r in results if r.changes}
        assert changed == {}, changed
        assert all(r.result is True for r in results)
    assert path.read_bytes() == before, "an object that means the same was rewritten"


def test_a_real_change_on_an_adopted_master_edits_it_in_place(crmsh_cib):
    runner, _ = crmsh_cib
    args = {"name": "ms_drbd_1", "resource": "drbd_1", "promotable": True,
            "meta": {"promoted-max": 1, "promoted-node-max": 1, "clone-max": 2, "clone-node-max": 1, "notify": False}}
    res = run("pacemaker.clone", args, runner)
    assert res.result is True and "notify" in res.changes["diff"]
    text = runner.run(QUERY_ARGV, check=True).stdout
    assert '<master id="ms_drbd_1">' in text and 'name="promoted-max"' not in text, "no twin of master-max"
    assert run("pacemaker.clone", args, runner).changes == {}


def test_convert_legacy_turns_master_into_a_promotable_clone(crmsh_cib):
    runner, _ = crmsh_cib
    args = {"name": "ms_drbd_1", "resource": "drbd_1", "promotable": True, "convert_legacy": True,
            "meta": {"promoted-max": 1, "promoted-node-max": 1, "clone-max": 2, "clone-node-max": 1, "notify": True}}
    applied = assert_full_cycle("pacemaker.clone", args, runner, lambda: runner.run(QUERY_ARGV, check=True).stdout)
    assert "<master> ms_drbd_1" in applied.changes["converted"]
    root = ET.fromstring(runner.run(QUERY_ARGV, check=True).stdout)
    assert root.find(".//master[@id='ms_drbd_1']") is None
    converted = root.find(".//clone[@id='ms_drbd_1']")
    meta = {nv.get("name"): nv.get("value") for nv in converted.iter("nvpair")}
    assert meta["promotable"] == "true" and meta["promoted-max"] == "1" and "master-max" not in meta
    assert {op.get("role") for op in converted.iter("op")} == {"Promoted", "Unpromoted"}
    # The rest of the seed's SLS still means what the CIB says.
    assert {r.id: r.changes for r in apply_all(seed_states(), runner) if r.changes} == {}
    verify = subprocess.run(["crm_verify", "--xml-file", runner.env["CIB_file"]], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stderr


def test_declaring_an_ms_as_a_plain_clone_is_refused(crmsh_cib):
    runner, path = crmsh_cib
    before = path.read_bytes()
    res = run("pacemaker.clone", {"name": "ms_drbd_1", "resource": "drbd_1"}, runner)
    assert res.result is False and "promotable: true" in res.comment and path.read_bytes() == before


PCS_COMMANDS = [
    ["resource", "create", "drbd_1", "ocf:linbit:drbd", "drbd_resource=r1", "op", "monitor", "interval=29s",
     "role=Promoted", "timeout=20s", "op", "monitor", "interval=31s", "role=Unpromoted", "timeout=20s", "--no-default-ops"],
    ["resource", "promotable", "drbd_1", "ms_drbd_1", "promoted-max=1", "promoted-node-max=1", "clone-max=2",
     "clone-node-max=1", "notify=true"],
    ["resource", "create", "fs_1", "ocf:heartbeat:Filesystem", "device=/dev/vg_node1/lv_node1", "directory=/lxc1",
     "fstype=ext4", "--no-default-ops", "--group", "grp_lxc1"],
    ["constraint", "colocation", "add", "grp_lxc1", "with", "Promoted", "ms_drbd_1", "INFINITY", "id=col1"],
    ["constraint", "order", "promote", "ms_drbd_1", "then", "start", "grp_lxc1", "id=ord1"],
]
PCS_SLS = [
    ("pacemaker.primitive", {"name": "drbd_1", "agent": "ocf:linbit:drbd", "params": {"drbd_resource": "r1"},
                             "ops": [{"name": "monitor", "interval": "29s", "role": "Promoted", "timeout": "20s"},
                                     {"name": "monitor", "interval": "31s", "role": "Unpromoted", "timeout": "20s"}]}),
    ("pacemaker.clone", {"name": "ms_drbd_1", "resource": "drbd_1", "promotable": True, "meta": {
        "promoted-max": 1, "promoted-node-max": 1, "clone-max": 2, "clone-node-max": 1, "notify": True}}),
    # pcs gives a monitor op even with --no-default-ops; the SLS says so too
    ("pacemaker.primitive", {"name": "fs_1", "agent": "ocf:heartbeat:Filesystem", "params": {
        "device": "/dev/vg_node1/lv_node1", "directory": "/lxc1", "fstype": "ext4"},
        "ops": [{"name": "monitor", "interval": "20s", "timeout": "40s"}]}),
    ("pacemaker.group", {"name": "grp_lxc1", "members": ["fs_1"]}),
    ("pacemaker.colocation", {"name": "col1", "resource": "grp_lxc1", "with_resource": "ms_drbd_1",
                              "with_rsc_role": "Promoted"}),
    ("pacemaker.order", {"name": "ord1", "first": "ms_drbd_1", "first_action": "promote", "then": "grp_lxc1"}),
]


@pytest.mark.skipif(shutil.which("pcs") is None, reason="pcs not installed")
def test_pcs_made_cib_is_adopted_with_no_change(tmp_path):
    """pcs spells it yet another way (meta after the primitive, rsc-role="Started", its op
    ids): the same SLS means the same, nothing is written."""
    path = tmp_path / "cib.xml"
    path.write_text(subprocess.run(["cibadmin", "--empty"], capture_output=True, text=True, check=True).stdout)
    for argv in PCS_COMMANDS:
        subprocess.run(["pcs", "-f", str(path), *argv], check=True, capture_output=True, timeout=120)
    runner = Runner(env={**os.environ, "CIB_file": str(path)})
    assert 'rsc-role="Started"' in runner.run(QUERY_ARGV, check=True).stdout
    before = path.read_bytes()
    results = apply_all(PCS_SLS, runner)
    assert failures(results) == [] and {r.id: r.changes for r in results if r.changes} == {}
    assert path.read_bytes() == before
