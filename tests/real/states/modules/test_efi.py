"""efi.bootloader on real loop-device disks: GPT/MBR tables (sgdisk/parted), the ESP flag
set with parted and read back with sfdisk --json, vfat checked with blkid and mtools.

grub-install cannot run here (no real ESP to write NVRAM for, vfat cannot be mounted on
this kernel): the disk that still needs GRUB is tested by the exact argv planned from its
real facts; the disk that already carries GRUB (put there with mtools, as the installer
would have) goes through the full apply cycle for real.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from saline.states.engine.apply import lookup, validate_args
from saline.states.engine.base import CommandStep, MkdirStep, StateContext, WriteFileStep
from saline.states.engine.runner import Runner
from tests.harness import assert_full_cycle, assert_refused
from tests.real.disksnap import disk_snapshot
from tests.real.loopdev import loops, need_tools  # noqa: F401  (fixtures)

pytestmark = pytest.mark.real

MTOOLS = {"MTOOLS_SKIP_CHECK": "1", "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}


def make_disk(loops, label: str) -> tuple[str, str]:
    """A disk with one 34 MiB Linux (not yet ESP) partition; returns (disk, partition node)."""
    need_tools("sgdisk", "parted", "sfdisk", "mkfs.vfat", "mdir")
    disk = loops(64)
    if label == "gpt":
        subprocess.run(["sgdisk", "-n", "1:2048:+34M", "-t", "1:8300", disk], check=True, capture_output=True)
    else:
        subprocess.run(["parted", "-s", disk, "mklabel", "msdos", "mkpart", "primary", "ext2", "1MiB", "35MiB"], check=True, capture_output=True)
    loops.partitions_appeared(disk)
    part = f"{disk}p1"
    assert Path(part).exists(), f"partx did not create {part}"
    return disk, part


def put_grub_on(part: str, bootloader_id: str) -> None:
    """What grub-install leaves on an ESP: EFI/<id>/grubx64.efi (written with mtools)."""
    subprocess.run(["mkfs.vfat", "-F", "32", part], check=True, capture_output=True)
    subprocess.run(["mmd", "-i", part, "::/EFI", f"::/EFI/{bootloader_id}"], check=True, capture_output=True, env=MTOOLS)
    subprocess.run(["mcopy", "-i", part, "/etc/hostname", f"::/EFI/{bootloader_id}/grubx64.efi"], check=True, capture_output=True, env=MTOOLS)


def plan_for(args: dict, runner: Runner, node: dict | None = None):
    fn = lookup("efi.bootloader")
    parsed = validate_args(fn, args)
    facts = fn.facts(parsed, StateContext(runner=runner, node=node or {}))
    return facts, fn.plan(parsed, facts)


@pytest.mark.parametrize("label", ["gpt", "dos"])
def test_existing_grub_esp_gets_flag_and_fstab_for_real(loops, tmp_path, label):
    disk, part = make_disk(loops, label)
    put_grub_on(part, "ubuntu")
    fstab = tmp_path / "fstab"
    fstab.write_text("UUID=0000-0001 /boot/efi vfat umask=0077 0 1\n")
    args = {"name": "esp", "disks": [{"disk": disk, "bootloader_id": "ubuntu"}], "config": str(fstab)}
    applied = assert_full_cycle("efi.bootloader", args, Runner(), disk_snapshot(disk, fstab))
    assert "bootloader" not in applied.changes[disk] and "vfat" not in applied.changes[disk]
    table = subprocess.run(["sfdisk", "--json", disk], capture_output=True, text=True, check=True).stdout
    assert ("C12A7328-F81F-11D2-BA4B-00A0C93EC93B" if label == "gpt" else '"type":"ef"') in table.replace(" ", "")
    assert fstab.read_text() == "UUID=0000-0001 /boot/efi vfat umask=0077,nofail 0 1\n"


def test_old_ubuntu_gets_nobootwait(loops, tmp_path):
    disk, part = make_disk(loops, "gpt")
    put_grub_on(part, "ubuntu")
    fstab = tmp_path / "fstab"
    fstab.write_text("UUID=0000-0001 /boot/efi vfat defaults 0 1\n")
    args = {"name": "esp", "disks": [{"disk": disk, "bootloader_id": "ubuntu"}], "config": str(fstab)}
    assert_full_cycle("efi.bootloader", args, Runner(), disk_snapshot(disk, fstab), node={"os": "Ubuntu", "osrelease": "12.04"})
    assert fstab.read_text() == "UUID=0000-0001 /boot/efi vfat defaults,nobootwait 0 1\n"


def test_second_disk_plan_is_the_seed_recipe(loops, tmp_path):
    """sda already has GRUB (id ubuntu); sdb's partition is blank: the plan is the seed's
    mkfs.vfat + parted set boot + mount + grub-install --bootloader-id ubuntu2, exactly."""
    sda, sda1 = make_disk(loops, "gpt")
    sdb, sdb1 = make_disk(loops, "gpt")
    put_grub_on(sda1, "ubuntu")
    fstab = tmp_path / "fstab"
    args = {"name": "esp", "disks": [{"disk": sda, "bootloader_id": "ubuntu"}, {"disk": sdb, "bootloader_id": "ubuntu2"}], "config": str(fstab), "staging_dir": "/run/saline/esp"}
    facts, plan = plan_for(args, Runner())
    volid = facts.esps[1].proposed_volid
    sda_uuid = facts.esps[0].content.uuid
    assert facts.esps[0].loader_files == ["grubx64.efi"]
    steps = [(type(s).__name__, getattr(s, "argv", None) or getattr(s, "path", None)) for s in plan.steps]
    assert steps == [
        ("CommandStep", ["parted", "-s", sda, "set", "1", "esp", "on"]),
        ("CommandStep", ["parted", "-s", sdb, "set", "1", "esp", "on"]),
        ("CommandStep", ["mkfs.vfat", "-F", "32", "-i", volid, sdb1]),
        ("MkdirStep", "/run/saline/esp/ubuntu2"),
        ("CommandStep", ["mount", "-t", "vfat", sdb1, "/run/saline/esp/ubuntu2"]),
        ("CommandStep", ["grub-install", "--target=x86_64-efi", "--efi-directory=/run/saline/esp/ubuntu2", "--bootloader-id=ubuntu2", "--recheck", sdb]),
        ("WriteFileStep", str(fstab)),
    ]
    # The staging mount is undone as a cleanup step: also when grub-install fails.
    assert [(s.argv, s.ok_rc) for s in plan.cleanup] == [(["umount", "/run/saline/esp/ubuntu2"], [0, 32])]
    assert plan.steps[-1].content.decode() == f"UUID={sda_uuid} /boot/efi vfat umask=0077,nofail 0 1\n"
    # And test mode on the real disks changes nothing.
    snap = disk_snapshot(sdb, fstab)
    before = snap()
    from tests.harness import run

    dry = run("efi.bootloader", args, Runner(), test=True)
    assert dry.result is None and "install GRUB on " + sdb + " as ubuntu2" in dry.comment
    assert snap() == before


def test_refusals(loops, tmp_path):
    disk, part = make_disk(loops, "gpt")
    subprocess.run(["mkfs.ext4", "-q", part], check=True)
    fstab = tmp_path / "fstab"
    snap = disk_snapshot(disk, fstab)
    one = {"disk": disk, "bootloader_id": "ubuntu"}
    assert_refused("efi.bootloader", {"name": "esp", "disks": [one], "config": str(fstab)}, Runner(), snap, "TYPE=ext4")
    assert_refused("efi.bootloader", {"name": "esp", "disks": [one, {**one}], "config": str(fstab)}, Runner(), snap, "must differ")
    assert_refused("efi.bootloader", {"name": "esp", "disks": [{**one, "partition": 3}], "config": str(fstab)}, Runner(), snap, "no partition 3")
    assert_refused("efi.bootloader", {"name": "esp", "disks": [{**one, "bootloader_id": "a b"}], "config": str(fstab)}, Runner(), snap, "bootloader_id")
    assert_refused("efi.bootloader", {"name": "esp", "disks": [one], "boot_option": "nowait", "config": str(fstab)}, Runner(), snap, "boot_option")
