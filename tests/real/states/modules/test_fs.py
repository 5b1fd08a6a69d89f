"""fs.grown for real: ext4 on a loop device that is then grown (``losetup -c``), checked
with ``e2fsck -f`` and resized offline with ``resize2fs``.

Without device-mapper an LV has no /dev node, so the grow-the-filesystem half of the
seed's recipe runs on a loop device standing in for the LV; the lvextend half is a real
LVM test in test_mod_lvm.py and an exact-argv plan test in tests/unit/test_mod_fs.py.
"""

from __future__ import annotations

import subprocess

import pytest

from saline.states.modules.fs import parse_dumpe2fs
from saline.states.engine.runner import Runner
from tests.harness import assert_full_cycle, assert_refused
from tests.real.loopdev import loops  # noqa: F401  (fixtures)

pytestmark = pytest.mark.real


def fs_snapshot(dev: str):
    """The filesystem geometry and the device size, as dumpe2fs and blockdev report them."""

    def snap():
        dump = subprocess.run(["dumpe2fs", "-h", dev], capture_output=True, text=True)
        size = subprocess.run(["blockdev", "--getsize64", dev], capture_output=True, text=True).stdout.strip()
        return (parse_dumpe2fs(dump.stdout).size if dump.returncode == 0 else None), size

    return snap


def test_grows_ext4_offline_after_the_device_grew(loops):
    dev = loops(32)
    subprocess.run(["mkfs.ext4", "-q", dev], check=True)
    loops.grow(dev, 48)
    applied = assert_full_cycle("fs.grown", {"name": dev}, Runner(), fs_snapshot(dev))
    assert applied.changes["fs_size"] == {"old": "32M", "new": "48M"}
    assert fs_snapshot(dev)()[0] == 48 * 1024**2
    assert subprocess.run(["e2fsck", "-f", "-n", dev], capture_output=True).returncode == 0


def test_refuses_a_mounted_filesystem(loops, tmp_path):
    dev = loops(32)
    subprocess.run(["mkfs.ext4", "-q", dev], check=True)
    loops.grow(dev, 48)
    mnt = tmp_path / "lxc1"
    mnt.mkdir()
    subprocess.run(["mount", dev, str(mnt)], check=True)
    try:
        res = assert_refused("fs.grown", {"name": dev}, Runner(), fs_snapshot(dev), "mounted on")
        assert str(mnt) in res.comment and "offline" in res.comment
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def test_refuses_what_it_cannot_grow(loops):
    dev = loops(16)
    snap = fs_snapshot(dev)
    assert_refused("fs.grown", {"name": dev}, Runner(), snap, "no ext2/3/4 filesystem")
    subprocess.run(["mkfs.ext4", "-q", dev], check=True)
    # size names an LV size; a loop device is not an LV.
    assert_refused("fs.grown", {"name": dev, "size": "1G"}, Runner(), snap, "not a logical volume")
    assert_refused("fs.grown", {"name": dev, "size": "big"}, Runner(), snap, "not a size")
