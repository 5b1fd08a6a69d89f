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
