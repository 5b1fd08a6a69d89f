"""efi.bootloader planned from facts; sfdisk/efibootmgr parsers on real outputs
(tests/fixtures/sfdisk: made here with sgdisk; tests/fixtures/efibootmgr: the man page)."""

from __future__ import annotations

from pathlib import Path

import pytest

from saline.states.engine.base import CommandStep, Refuse
from saline.states.system.blkid import BlockContent
from saline.states.system.fstab import FstabEntry
from saline.states.modules.efi import BootloaderArgs, BootloaderFacts, EspFacts, bootloader, choose_boot_option
from saline.states.system.efi import parse_efibootmgr, parse_sfdisk_json
from tests.paths import FIXTURES

FIX = FIXTURES


def load(rel: str) -> str:
    return "".join(l for l in (FIX / rel).read_text().splitlines(keepends=True) if not l.startswith("#@"))


TABLE = parse_sfdisk_json(load("sfdisk/gpt-esp-raid.json"))


def test_sfdisk_json_parse():
    assert TABLE.label == "gpt" and TABLE.device == "/dev/sdb"
    esp, raid = TABLE.partitions
    assert (esp.node, esp.number, esp.is_esp("gpt")) == ("/dev/sdb1", 1, True)
    assert (raid.number, raid.is_esp("gpt")) == (2, False)


def test_efibootmgr_parse():
    entries = parse_efibootmgr(load("efibootmgr/manpage-example.txt"))
    assert [e.number for e in entries] == ["0000", "0001", "0002", "0003", "0004"]
    assert entries[4].label == "Linux" and entries[4].active


@pytest.mark.parametrize(
    "override, os, release, want",
    [(None, "Ubuntu", "12.04", "nobootwait"), (None, "Ubuntu", "14.04", "nobootwait"), (None, "Ubuntu", "16.04", "nofail"), (None, "Debian", "12", "nofail"), (None, "", "", "nofail"), ("nofail", "Ubuntu", "12.04", "nofail")],
)
def test_boot_option_by_os(override, os, release, want):
    assert choose_boot_option(override, os, release) == want


def esp(content: BlockContent, files: list[str], mounted: list[str] | None = None) -> EspFacts:
    return EspFacts(disk="/dev/sdb", table=TABLE, content=content, loader_files=files, mounted_at=mounted or [], proposed_volid="ABCD1234")


ARGS = BootloaderArgs(name="esp", disks=[{"disk": "/dev/sdb", "bootloader_id": "ubuntu2"}])


def test_mounted_esp_installs_in_place_and_never_reformats_vfat():
    vfat = BlockContent(device="/dev/sdb1", exists=True, tags={"TYPE": "vfat", "UUID": "1234-ABCD"})
    facts = BootloaderFacts(esps=[esp(vfat, [], ["/boot/efi"])], fstab_text=None, fstab_entry=FstabEntry(spec="UUID=1234-ABCD", file="/boot/efi", vfstype="vfat", mntops=["umask=0077", "nofail"], passno=1))
    plan = bootloader(ARGS, facts)
    assert [s.argv for s in plan.steps if isinstance(s, CommandStep)] == [
        ["grub-install", "--target=x86_64-efi", "--efi-directory=/boot/efi", "--bootloader-id=ubuntu2", "--recheck", "/dev/sdb"]
    ]


def test_complete_esp_plans_nothing():
    vfat = BlockContent(device="/dev/sdb1", exists=True, tags={"TYPE": "vfat", "UUID": "1234-ABCD"})
    entry = FstabEntry(spec="UUID=1234-ABCD", file="/boot/efi", vfstype="vfat", mntops=["nofail", "umask=0077"], passno=1)
    facts = BootloaderFacts(esps=[esp(vfat, ["grubx64.efi", "grub.cfg"])], fstab_text=entry.render() + "\n", fstab_entry=entry)
    assert bootloader(ARGS, facts).empty


def test_force_wipes_another_filesystem_first():
    ext4 = BlockContent(device="/dev/sdb1", exists=True, tags={"TYPE": "ext4"})
    facts = BootloaderFacts(esps=[esp(ext4, [])], fstab_text="", fstab_entry=None)
    with pytest.raises(Refuse, match="TYPE=ext4"):
        bootloader(ARGS, facts)
    plan = bootloader(ARGS.model_copy(update={"force": True, "fstab": False}), facts)
    assert [s.argv for s in plan.steps if isinstance(s, CommandStep)][:2] == [["wipefs", "-a", "/dev/sdb1"], ["mkfs.vfat", "-F", "32", "-i", "ABCD1234", "/dev/sdb1"]]


def test_nvram_without_the_id_is_reported():
    vfat = BlockContent(device="/dev/sdb1", exists=True, tags={"TYPE": "vfat", "UUID": "1234-ABCD"})
    facts = BootloaderFacts(esps=[esp(vfat, ["grubx64.efi"])], fstab_text=None, fstab_entry=None, nvram=parse_efibootmgr(load("efibootmgr/manpage-example.txt")))
    plan = bootloader(ARGS.model_copy(update={"fstab": False}), facts)
    assert plan.empty and "no UEFI boot entry (efibootmgr) for ubuntu2" in plan.comment
