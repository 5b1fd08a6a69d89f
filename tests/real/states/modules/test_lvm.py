"""lvm.pv_present / vg_present / lv_present against real LVM metadata on loop devices.

LVM runs with an isolated configuration (``LVM_SYSTEM_DIR`` → tmp lvm.conf with
``activation = 0``, filtered to the test's loop devices) passed through ``Runner(env=...)``.
There is no device-mapper here, so LVs get metadata but no /dev node: the filesystem side
of "grow an LV" is tested on a loop device in test_mod_fs.py.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from saline.states.engine.runner import Runner
from tests.harness import assert_full_cycle, assert_refused, run
from tests.real.disksnap import lvm_snapshot
from tests.real.loopdev import loops, lvm_env  # noqa: F401  (fixtures)

pytestmark = pytest.mark.real


def _lv_size(env: dict, ref: str) -> int:
    out = subprocess.run(["lvs", "--reportformat", "json", "--units", "b", "--nosuffix", "-o", "lv_size", ref], capture_output=True, text=True, env=env, check=True).stdout
    return int(json.loads(out)["report"][0]["lv"][0]["lv_size"])


@pytest.fixture
def two_disks(loops, lvm_env):
    a, b = loops(64), loops(64)
    return a, b, lvm_env([a, b])


def test_pv_vg_lv_full_cycles(two_disks):
    a, b, env = two_disks
    runner, snap = Runner(env=env), lvm_snapshot(env)
    assert_full_cycle("lvm.pv_present", {"name": a}, runner, snap)
    assert_full_cycle("lvm.vg_present", {"name": "vg_node1", "devices": [a]}, runner, snap)
    # The seed's container config space: lvcreate -n lv_node1 -L 1G (scaled to the loop).
    assert_full_cycle("lvm.lv_present", {"name": "lv_node1", "vgname": "vg_node1", "size": "16M"}, runner, snap)
    assert _lv_size(env, "vg_node1/lv_node1") == 16 * 1024**2


def test_vg_is_extended_by_a_listed_device(two_disks):
    a, b, env = two_disks
    runner, snap = Runner(env=env), lvm_snapshot(env)
    assert run("lvm.vg_present", {"name": "vg_node2", "devices": a}, runner).result is True
    applied = assert_full_cycle("lvm.vg_present", {"name": "vg_node2", "devices": f"{a},{b}"}, runner, snap)
    assert applied.changes == {"extended": [b]}


def test_lv_grows_rounded_to_extents_and_never_shrinks(two_disks):
    a, b, env = two_disks
    runner, snap = Runner(env=env), lvm_snapshot(env)
    run("lvm.vg_present", {"name": "vg_node1", "devices": [a]}, runner)
    run("lvm.lv_present", {"name": "www", "vgname": "vg_node1", "size": "8M"}, runner)
    applied = assert_full_cycle("lvm.lv_present", {"name": "www", "vgname": "vg_node1", "size": "10M"}, runner, snap)
    # 4 MiB extents: 10M rounds up to 12M, and the plan said so.
    assert applied.changes == {"size": {"old": "8M", "new": "12M"}}
    assert _lv_size(env, "vg_node1/www") == 12 * 1024**2
    refused = assert_refused("lvm.lv_present", {"name": "www", "vgname": "vg_node1", "size": "4M"}, runner, snap, "allow_shrink")
    assert "12M" in refused.comment
    shrunk = assert_full_cycle("lvm.lv_present", {"name": "www", "vgname": "vg_node1", "size": "4M", "allow_shrink": True}, runner, snap)
    assert shrunk.changes == {"size": {"old": "12M", "new": "4M"}}


def test_refusals_leave_lvm_untouched(two_disks):
    a, b, env = two_disks
    runner, snap = Runner(env=env), lvm_snapshot(env)
    subprocess.run(["mkfs.ext4", "-q", b], check=True)
    assert_refused("lvm.pv_present", {"name": b}, runner, snap, "TYPE=ext4")
    assert_refused("lvm.vg_present", {"name": "vg_x", "devices": [b]}, runner, snap, "TYPE=ext4")
    # A VG that an earlier state would create: the dry run plans lvcreate, a real run fails on LVM's own error.
    before = snap()
    missing_vg = {"name": "lv", "vgname": "vg_missing", "size": "4M"}
    dry = run("lvm.lv_present", missing_vg, runner, test=True)
    assert dry.result is None and "vg_missing not present yet" in dry.comment
    failed = run("lvm.lv_present", missing_vg, runner)
    assert failed.result is False and "vg_missing" in failed.comment and "lvcreate" in failed.comment
    assert snap() == before
    assert_refused("lvm.lv_present", {"name": "lv", "vgname": "vg_x", "size": "lots"}, runner, snap, "not a size")
    run("lvm.vg_present", {"name": "vg_a", "devices": [a]}, runner)
    assert_refused("lvm.vg_present", {"name": "vg_b", "devices": [a]}, runner, snap, "already belongs to volume group vg_a")


def test_names_and_devices_cannot_be_read_as_options(two_disks):
    """A pillar value starting with '-' would reach pvs/vgs/lvcreate as an option."""
    a, b, env = two_disks
    runner, snap = Runner(env=env), lvm_snapshot(env)
    assert_refused("lvm.pv_present", {"name": "--config=devices{filter=[\"a|.*|\"]}"}, runner, snap, "absolute path")
    assert_refused("lvm.vg_present", {"name": "-An", "devices": [a]}, runner, snap, "not a valid LVM name")
    assert_refused("lvm.vg_present", {"name": "vg_a", "devices": [a, "-ff"]}, runner, snap, "absolute path")
    assert_refused("lvm.lv_present", {"name": "lv", "vgname": "--yes", "size": "4M"}, runner, snap, "not a valid LVM name")
    assert_refused("lvm.lv_present", {"name": "-Zn", "vgname": "vg_a", "size": "4M"}, runner, snap, "not a valid LVM name")
    assert_refused("lvm.lv_present", {"name": "..", "vgname": "vg_a", "size": "4M"}, runner, snap, "not a valid LVM name")
