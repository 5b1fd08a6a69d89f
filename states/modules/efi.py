"""``efi.bootloader``: the seed's "EFI bootloader on second disk" made declarative.

The ESP cannot be mirrored by md, so every listed disk gets its own: the partition
flagged as ESP (``parted set N esp on``), a vfat filesystem, GRUB installed with its own
``--bootloader-id`` (``ubuntu`` on sda, ``ubuntu2`` on sdb), and the ``/boot/efi`` fstab
entry carrying ``nofail`` (``nobootwait`` on Ubuntu before 15.04, whose mountall knew
only that; ``boot_option`` overrides) so the node boots with the first disk missing.

An ESP that is already vfat is never reformatted (with a bootloader on it or not); any
other filesystem on it is refused unless ``force: true``. Whether GRUB is on an ESP is
read with mtools (``mdir``) from the unmounted partition. An ESP that is not mounted is
mounted on a staging directory for grub-install and unmounted afterwards.
"""

from __future__ import annotations

import secrets
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from saline.states.engine.base import CommandStep, Facts, MkdirStep, Plan, Refuse, StateArgs, StateContext, state_function
from saline.states.system.blkid import BlockContent, probe
from saline.states.system.fstab import FstabEntry, FstabField, find
from saline.states.system.mounts import mounts_of
from saline.states.system.efi import BootEntry, PartitionTable, parse_efibootmgr, parse_sfdisk_json
from saline.states.engine.runner import Runner
from saline.states.modules.mount import fstab_plan, read_text

BootOption = Literal["nofail", "nobootwait"]
BOOT_OPTIONS = ("nofail", "nobootwait")
# mtools refuses FAT geometries it finds odd unless told not to check; we only read.
MTOOLS_ENV = {"MTOOLS_SKIP_CHECK": "1"}


class EspDisk(BaseModel):
    model_config = ConfigDict(extra="forbid")

    disk: str
    partition: int = 1
    bootloader_id: str = Field(pattern=r"^[A-Za-z0-9._-]+$")


class BootloaderArgs(StateArgs):
    disks: list[EspDisk] = Field(min_length=1)
    efi_directory: FstabField = "/boot/efi"
    target: str = "x86_64-efi"
    fstab: bool = True
    config: str = "/etc/fstab"
    boot_option: BootOption | None = None
    force: bool = False
    staging_dir: str = "/run/saline/esp"


class EspFacts(Facts):
    disk: str
    table: PartitionTable | None
    content: BlockContent | None
    loader_files: list[str]
    mounted_at: list[str]
    proposed_volid: str


class BootloaderFacts(Facts):
    esps: list[EspFacts]
    fstab_text: str | None
    fstab_entry: FstabEntry | None
    os_name: str = ""
    os_release: str = ""
    nvram: list[BootEntry] | None = None


def loader_files(runner: Runner, partition: str, bootloader_id: str) -> list[str]:
    """The files under EFI/<id>/ on the (unmounted) ESP, read with mtools."""
    result = runner.run(["mdir", "-b", "-i", partition, f"::/EFI/{bootloader_id}"], env=MTOOLS_ENV)
    if result.rc != 0:
        return []
    return [line.strip().rsplit("/", 1)[-1] for line in result.stdout.splitlines() if line.strip()]


def esp_facts(runner: Runner, esp: EspDisk) -> EspFacts:
    volid = secrets.token_hex(4).upper()
    if not runner.path(esp.disk).exists():
        return EspFacts(disk=esp.disk, table=None, content=None, loader_files=[], mounted_at=[], proposed_volid=volid)
    result = runner.run(["sfdisk", "--json", esp.disk])
    table = parse_sfdisk_json(result.stdout) if result.rc == 0 and result.stdout.strip() else None
    part = table.partition(esp.partition) if table else None
    if part is None:
        return EspFacts(disk=esp.disk, table=table, content=None, loader_files=[], mounted_at=[], proposed_volid=volid)
    content = probe(runner, part.node)
    files = loader_files(runner, part.node, esp.bootloader_id) if content.fs_type == "vfat" else []
    mounted = [m.target for m in mounts_of(runner, part.node)] if content.exists else []
    return EspFacts(disk=esp.disk, table=table, content=content, loader_files=files, mounted_at=mounted, proposed_volid=volid)


def bootloader_facts(args: BootloaderArgs, ctx: StateContext) -> BootloaderFacts:
    runner = ctx.runner
    text = read_text(runner, args.config) if args.fstab else None
    nvram = None
    if runner.which("efibootmgr") and runner.path("/sys/firmware/efi").is_dir():
        result = runner.run(["efibootmgr", "-v"])
        nvram = parse_efibootmgr(result.stdout) if result.rc == 0 else None
    return BootloaderFacts(
        esps=[esp_facts(runner, esp) for esp in args.disks],
        fstab_text=text,
        fstab_entry=find(text, args.efi_directory) if text is not None else None,
        os_name=str(ctx.node.get("os", "")),
        os_release=str(ctx.node.get("osrelease", "")),
        nvram=nvram,
    )


def choose_boot_option(override: BootOption | None, os_name: str, os_release: str) -> BootOption:
    """``nobootwait`` only where mountall read fstab (Ubuntu up to 14.10); ``nofail`` elsewhere."""
    if override:
        return override
    if os_name.lower() == "ubuntu":
        try:
            major, minor = (int(x) for x in os_release.split(".")[:2])
        except ValueError:
            return "nofail"
        if (major, minor) < (15, 4):
            return "nobootwait"
    return "nofail"


def vfat_uuid(volid: str) -> str:
    return f"{volid[:4]}-{volid[4:]}"


def _esp_plan(args: BootloaderArgs, esp: EspDisk, facts: EspFacts, cleanup: list) -> tuple[list, dict, str | None]:
    """Steps for one disk, its changes, and the vfat UUID the ESP will have; appends to ``cleanup``."""
    if facts.table is None:
        raise Refuse(f"{esp.disk} does not exist or has no partition table")
    part = facts.table.partition(esp.partition)
    if part is None or facts.content is None:
        raise Refuse(f"{esp.disk} has no partition {esp.partition} (the ESP is created when partitioning the disk)")
    steps: list = []
    changes: dict = {}
    if not part.is_esp(facts.table.label):
        steps.append(CommandStep(description=f"flag {part.node} as EFI system partition", argv=["parted", "-s", esp.disk, "set", str(esp.partition), "esp", "on"]))
        changes["esp_flag"] = {"old": part.type, "new": "esp"}
    uuid = facts.content.uuid
    if facts.content.fs_type != "vfat":
        if facts.mounted_at:
            raise Refuse(f"{part.node} is mounted on {', '.join(facts.mounted_at)}; will not format it")
        if not facts.content.empty:
            if not args.force:
                raise Refuse(f"{part.node} carries another filesystem; will not format it as the ESP without force: true ({facts.content.evidence()})")
            steps.append(CommandStep(description=f"wipe the old signatures on {part.node}", argv=["wipefs", "-a", part.node]))
        # The volume id is chosen here so the fstab entry can name the UUID before mkfs runs.
        steps.append(CommandStep(description=f"make a vfat filesystem on {part.node}", argv=["mkfs.vfat", "-F", "32", "-i", facts.proposed_volid, part.node]))
        changes["vfat"] = {"old": facts.content.fs_type or "empty", "new": "vfat"}
        uuid = vfat_uuid(facts.proposed_volid)
    if not any(f.lower().endswith(".efi") for f in facts.loader_files):
        staged = not facts.mounted_at
        efi_dir = f"{args.staging_dir}/{esp.bootloader_id}" if staged else facts.mounted_at[0]
        install = CommandStep(
            description=f"install GRUB on {esp.disk} as {esp.bootloader_id}",
            argv=["grub-install", f"--target={args.target}", f"--efi-directory={efi_dir}", f"--bootloader-id={esp.bootloader_id}", "--recheck", esp.disk],
        )
        if staged:
            steps += [
                MkdirStep(description=f"create staging mount point {efi_dir}", path=efi_dir),
                CommandStep(description=f"mount {part.node} on {efi_dir}", argv=["mount", "-t", "vfat", part.node, efi_dir]),
                install,
            ]
            # A cleanup step: unmounted also when grub-install fails (umount's 32: was not mounted).
            cleanup.append(CommandStep(description=f"unmount {efi_dir}", argv=["umount", efi_dir], ok_rc=[0, 32]))
        else:
            steps.append(install)
        changes["bootloader"] = {"old": None, "new": f"EFI/{esp.bootloader_id} on {part.node}"}
    return steps, changes, uuid


def _fstab_entry(args: BootloaderArgs, facts: BootloaderFacts, first_uuid: str | None) -> FstabEntry:
    option = choose_boot_option(args.boot_option, facts.os_name, facts.os_release)
    current = facts.fstab_entry
    if current is not None:
        opts = [o for o in current.mntops if o not in BOOT_OPTIONS]
        return current.model_copy(update={"mntops": [*opts, option]})
    if first_uuid is None:
        raise Refuse(f"no {args.efi_directory} entry in {args.config} and the first ESP has no UUID yet")
    return FstabEntry(spec=f"UUID={first_uuid}", file=args.efi_directory, vfstype="vfat", mntops=["umask=0077", option], freq=0, passno=1)


@state_function("efi.bootloader", BootloaderArgs, facts=bootloader_facts)
def bootloader(args: BootloaderArgs, facts: BootloaderFacts) -> Plan:
    """An ESP with GRUB (own bootloader id) on every listed disk, and a boot-tolerant fstab entry."""
    ids = [d.bootloader_id for d in args.disks]
    if len(set(ids)) != len(ids):
        raise Refuse(f"bootloader ids must differ per disk (firmware tells them apart by id): {ids}")
    steps: list = []
    cleanup: list = []
    changes: dict = {}
    uuids: list[str | None] = []
    for esp, esp_f in zip(args.disks, facts.esps):
        esp_steps, esp_changes, uuid = _esp_plan(args, esp, esp_f, cleanup)
        steps += esp_steps
        if esp_changes:
            changes[esp.disk] = esp_changes
        uuids.append(uuid)
    if args.fstab:
        fstab_steps, fstab_changes = fstab_plan(args.config, facts.fstab_text, facts.fstab_entry, _fstab_entry(args, facts, uuids[0]))
        steps += fstab_steps
        changes |= fstab_changes
    comment = f"ESP with GRUB on {', '.join(f'{d.disk} ({d.bootloader_id})' for d in args.disks)}"
    if facts.nvram is not None:
        labels = {e.label for e in facts.nvram}
        absent = [i for i in ids if i not in labels]
        if absent:
            comment += f"; no UEFI boot entry (efibootmgr) for {', '.join(absent)}"
    return Plan(steps=steps, changes=changes, comment=comment, cleanup=cleanup)
