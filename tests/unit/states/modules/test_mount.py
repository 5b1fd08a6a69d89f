"""fstab editing and mount.mounted planned from facts (real mounts in tests/real/test_mod_mount.py)."""

from __future__ import annotations

import pytest

from saline.states.engine.base import Refuse
from saline.states.system.fstab import FstabEntry, find, with_entry
from saline.states.modules.mount import MountedArgs, MountedFacts, mounted
from saline.states.system.mounts import ActiveMount

def test_fstab_edit_keeps_everything_else():
    text = "# comment\nUUID=a / ext4 errors=remount-ro 0 1\nUUID=b /boot/efi vfat umask=0077 0 1\n/dev/old /boot/efi vfat defaults 0 0\n"
    assert find(text, "/boot/efi").spec == "/dev/old"
    new = FstabEntry(spec="UUID=b", file="/boot/efi", vfstype="vfat", mntops=["umask=0077", "nofail"], passno=1)
    assert with_entry(text, new) == "# comment\nUUID=a / ext4 errors=remount-ro 0 1\nUUID=b /boot/efi vfat umask=0077,nofail 0 1\n"


def test_mounted_compares_options_as_sets_and_refuses_another_device():
    entry = FstabEntry(spec="/dev/vg_node1/lv_node1", file="/lxc1", vfstype="ext4", mntops=["noatime", "nofail"])
    active = ActiveMount(target="/lxc1", source="/dev/dm-3", fstype="ext4", options=["rw", "noatime"])
    args = MountedArgs(name="/lxc1", device="/dev/vg_node1/lv_node1", fstype="ext4", opts="nofail,noatime")
    facts = MountedFacts(fstab_text=entry.render(), entry=entry, mountpoint_exists=True, active=active, device_resolved="/dev/dm-3")
    assert mounted(args, facts).empty
    with pytest.raises(Refuse, match="mounted from /dev/dm-3"):
        mounted(args, facts.model_copy(update={"device_resolved": "/dev/dm-4"}))
