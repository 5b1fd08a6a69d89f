"""blockdev.formatted on real loop devices: mkfs only where blkid sees nothing."""

from __future__ import annotations

import subprocess

import pytest

from saline.states.engine.runner import Runner
from tests.harness import assert_full_cycle, assert_refused, run
from tests.real.disksnap import blkid_snapshot
from tests.real.loopdev import loops, lvm_env  # noqa: F401  (fixtures)

pytestmark = pytest.mark.real


def test_ext4_full_cycle_on_blank_device(loops):
    dev = loops(32)
    applied = assert_full_cycle("blockdev.formatted", {"name": dev, "fs_type": "ext4", "label": "lxc1"}, Runner(), blkid_snapshot(dev))
    assert applied.changes["old"] == "empty"
    tags = subprocess.run(["blkid", "-p", "-o", "export", dev], capture_output=True, text=True).stdout
    assert "TYPE=ext4" in tags and "LABEL=lxc1" in tags
    # The filesystem is sound, as e2fsck sees it.
    assert subprocess.run(["e2fsck", "-f", "-n", dev], capture_output=True).returncode == 0


def test_vfat_full_cycle_checked_with_mtools(loops):
    dev = loops(64)
    assert_full_cycle("blockdev.formatted", {"name": dev, "fs_type": "vfat"}, Runner(), blkid_snapshot(dev))
    info = subprocess.run(["minfo", "-i", dev, "::"], capture_output=True, text=True, env={"MTOOLS_SKIP_CHECK": "1", "PATH": "/usr/bin:/bin"})
    assert info.returncode == 0, info.stderr


def test_refuses_to_format_over_another_filesystem(loops):
    dev = loops(32)
    subprocess.run(["mkfs.vfat", dev], check=True, capture_output=True)
    res = assert_refused("blockdev.formatted", {"name": dev, "fs_type": "ext4"}, Runner(), blkid_snapshot(dev), "TYPE=vfat")
    assert "force: true" in res.comment


def test_refuses_to_format_over_a_physical_volume(loops, lvm_env):
    dev = loops(32)
    env = lvm_env([dev])
    subprocess.run(["pvcreate", dev], check=True, capture_output=True, env=env)
    assert_refused("blockdev.formatted", {"name": dev, "fs_type": "ext4"}, Runner(env=env), blkid_snapshot(dev), "TYPE=LVM2_member")


def test_force_formats_over_another_filesystem(loops):
    dev = loops(32)
    subprocess.run(["mkfs.vfat", dev], check=True, capture_output=True)
    assert_full_cycle("blockdev.formatted", {"name": dev, "fs_type": "ext4", "force": True}, Runner(), blkid_snapshot(dev))


def test_bad_arguments_are_clear_errors(loops):
    dev = loops(8)
    snap = blkid_snapshot(dev)
    assert_refused("blockdev.formatted", {"name": dev, "fs_type": "ntfs"}, Runner(), snap, "fs_type")
    assert_refused("blockdev.formatted", {"name": dev, "fstype": "ext4"}, Runner(), snap, "fstype")



def test_missing_device_is_planned_in_a_dry_run_and_fails_for_real(tmp_path):
    """The device an earlier state would create (an LV): a dry run shows the mkfs; a real
    run fails with mkfs's own error and creates nothing at that path."""
    missing = tmp_path / "no-such-disk"
    args = {"name": str(missing), "fs_type": "ext4"}
    dry = run("blockdev.formatted", args, Runner(), test=True)
    assert dry.result is None and "not present yet" in dry.comment
    failed = run("blockdev.formatted", args, Runner())
    assert failed.result is False and "mkfs.ext4" in failed.comment
    assert not missing.exists()


def test_refuses_a_device_blkid_finds_ambivalent(loops, tmp_path):
    """ext4 data under a stale vfat boot sector: blkid -p says "ambivalent result" (rc 8) and
    reports no TYPE. That is content, not an empty device: mkfs must not run over it."""
    dev = loops(32)
    subprocess.run(["mkfs.ext4", "-q", dev], check=True, capture_output=True)
    vfat = tmp_path / "vfat.img"
    with open(vfat, "wb") as f:
        f.truncate(32 * 1024 * 1024)
    subprocess.run(["mkfs.vfat", str(vfat)], check=True, capture_output=True)
    subprocess.run(["dd", f"if={vfat}", f"of={dev}", "bs=512", "count=1", "conv=notrunc"], check=True, capture_output=True)
    assert subprocess.run(["blkid", "-p", dev], capture_output=True).returncode == 8
    res = assert_refused("blockdev.formatted", {"name": dev, "fs_type": "ext4"}, Runner(), blkid_snapshot(dev), "ambivalent")
    assert "force: true" in res.comment


def test_a_mounted_device_is_refused_and_a_failing_findmnt_is_not_read_as_unmounted(loops, tmp_path):
    import os

    dev = loops(32)
    subprocess.run(["mkfs.ext4", "-q", dev], check=True, capture_output=True)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    subprocess.run(["mount", dev, str(mnt)], check=True, capture_output=True)
    snap = blkid_snapshot(dev)
    args = {"name": dev, "fs_type": "ext2", "force": True}
    assert_refused("blockdev.formatted", args, Runner(), snap, "is mounted on")
    # A node without findmnt on PATH (rc 127): the state fails saying so, it does not format.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("blkid", "mkfs.ext2", "mke2fs"):
        os.symlink(subprocess.run(["which", tool], capture_output=True, text=True, check=True).stdout.strip(), bindir / tool)
    assert_refused("blockdev.formatted", args, Runner(env={**os.environ, "PATH": str(bindir)}), snap, "findmnt")
    assert subprocess.run(["findmnt", "--source", dev], capture_output=True).returncode == 0
