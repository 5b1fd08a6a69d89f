"""mount.mounted for real: ext4 on a loop device mounted on a tmp mount point, with the
entry in a tmp fstab (``config``). vfat cannot be mounted on this kernel; ext4 can."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from saline.states.engine.runner import Runner
from tests.harness import assert_full_cycle, assert_refused, run
from tests.real.loopdev import loops  # noqa: F401  (fixtures)

pytestmark = pytest.mark.real


def mount_snapshot(mnt: Path, fstab: Path):
    def snap():
        found = subprocess.run(["findmnt", "--json", "-o", "SOURCE,TARGET,OPTIONS", "--mountpoint", str(mnt)], capture_output=True, text=True).stdout
        return found, fstab.read_text() if fstab.exists() else None, mnt.is_dir()

    return snap


@pytest.fixture
def ext4(loops, tmp_path):
    dev = loops(32)
    subprocess.run(["mkfs.ext4", "-q", dev], check=True)
    mnt = tmp_path / "lxc1"
    yield dev, mnt
    subprocess.run(["umount", "--quiet", str(mnt)], capture_output=True)


def test_mount_and_fstab_full_cycle(ext4, tmp_path):
    dev, mnt = ext4
    fstab = tmp_path / "fstab"
    fstab.write_text("# /etc/fstab: static file system information.\nproc /proc proc defaults 0 0\n")
    args = {"name": str(mnt), "device": dev, "fstype": "ext4", "opts": "noatime,nofail", "config": str(fstab), "mkmnt": True, "pass_num": 2}
    assert_full_cycle("mount.mounted", args, Runner(), mount_snapshot(mnt, fstab))
    lines = fstab.read_text().splitlines()
    assert lines[:2] == ["# /etc/fstab: static file system information.", "proc /proc proc defaults 0 0"]
    assert lines[2] == f"{dev} {mnt} ext4 noatime,nofail 0 2"
    found = subprocess.run(["findmnt", "-n", "-o", "OPTIONS", "--mountpoint", str(mnt)], capture_output=True, text=True).stdout
    assert "noatime" in found.strip().split(",")
    # Same options in another order: compared as sets, nothing to do.
    again = run("mount.mounted", {**args, "opts": ["nofail", "noatime"]}, Runner())
    assert again.result is True and again.changes == {}


def test_kernel_default_options_do_not_force_remounts(ext4, tmp_path):
    """exec/suid/dev/async are never listed by the kernel (only their opposites are):
    asking for them must converge, not remount on every run."""
    dev, mnt = ext4
    fstab = tmp_path / "fstab"
    args = {"name": str(mnt), "device": dev, "fstype": "ext4", "opts": "defaults,exec,suid,dev,async",
            "config": str(fstab), "mkmnt": True}
    assert_full_cycle("mount.mounted", args, Runner(), mount_snapshot(mnt, fstab))


def test_remounts_with_a_missing_option(ext4, tmp_path):
    dev, mnt = ext4
    mnt.mkdir()
    subprocess.run(["mount", dev, str(mnt)], check=True)
    fstab = tmp_path / "fstab"
    args = {"name": str(mnt), "device": dev, "fstype": "ext4", "opts": "ro", "config": str(fstab), "persist": False}
    applied = assert_full_cycle("mount.mounted", args, Runner(), mount_snapshot(mnt, fstab))
    assert "options" in applied.changes


def test_refusals(ext4, loops, tmp_path):
    dev, mnt = ext4
    fstab = tmp_path / "fstab"
    snap = mount_snapshot(mnt, fstab)
    base = {"name": str(mnt), "device": dev, "fstype": "ext4", "config": str(fstab)}
    assert_refused("mount.mounted", base, Runner(), snap, "mkmnt")
    assert_refused("mount.mounted", {**base, "device": "/dev/saline-no-such"}, Runner(), snap, "does not exist")
    assert_refused("mount.mounted", {**base, "options": "ro"}, Runner(), snap, "options")
    other = loops(32)
    subprocess.run(["mkfs.ext4", "-q", other], check=True)
    mnt.mkdir()
    subprocess.run(["mount", other, str(mnt)], check=True)
    assert_refused("mount.mounted", base, Runner(), snap, f"mounted from {other}")


@pytest.mark.parametrize("field,value", [
    ("device", "/dev/x /etc ext4 defaults 0 0\n/dev/evil"),
    ("name", "/srv/my data"),
    ("fstype", "ext4\n/dev/evil /etc ext4 defaults 0 0"),
    ("opts", "defaults #"),
])
def test_fields_that_would_break_fstab_are_refused(ext4, tmp_path, field, value):
    """A pillar value with whitespace, a newline or '#' would add or split fstab lines."""
    dev, mnt = ext4
    fstab = tmp_path / "fstab"
    fstab.write_text("# static file system information\n")
    args = {"name": str(mnt), "device": dev, "fstype": "ext4", "config": str(fstab), "mount": False, field: value}
    assert_refused("mount.mounted", args, Runner(), mount_snapshot(mnt, fstab), "cannot be an fstab field")
