"""``blockdev.formatted``: a filesystem on a device, made only where blkid sees nothing.

Salt's ``blockdev.formatted(name, fs_type='ext4', force=False)``. mkfs runs only on a
device that ``blkid -p`` says is empty; a device carrying any other signature (another
filesystem, a PV, an md superblock, a partition table) is refused with blkid's evidence
unless ``force: true``. A mounted device is always refused.
"""

from __future__ import annotations

from typing import Literal


from saline.states.engine.base import CommandStep, Facts, Plan, Refuse, StateArgs, StateContext, state_function
from saline.states.system.blkid import BlockContent, probe
from saline.states.system.mounts import mounts_of

FsType = Literal["ext2", "ext3", "ext4", "xfs", "vfat", "swap"]


class FormattedArgs(StateArgs):
    fs_type: FsType = "ext4"
    force: bool = False
    label: str | None = None


class FormattedFacts(Facts):
    content: BlockContent
    mounted_at: list[str]


def mkfs_argv(fs_type: str, device: str, *, label: str | None = None, force: bool = False, extra: list[str] | None = None) -> list[str]:
    """The mkfs command for ``fs_type``; ``force`` adds the flag that lets mkfs overwrite."""
    extra = list(extra or [])
    if fs_type.startswith("ext"):
        return [f"mkfs.{fs_type}", "-q", *(["-F"] if force else []), *(["-L", label] if label else []), *extra, device]
    if fs_type == "xfs":
        return ["mkfs.xfs", "-q", *(["-f"] if force else []), *(["-L", label] if label else []), *extra, device]
    if fs_type == "vfat":
        return ["mkfs.vfat", *(["-n", label] if label else []), *extra, device]
    if fs_type == "swap":
        return ["mkswap", *(["-f"] if force else []), *(["-L", label] if label else []), *extra, device]
    raise Refuse(f"unsupported filesystem type {fs_type!r}")


def refuse_unless_blank(content: BlockContent, *, force: bool, what: str) -> None:
    """Shared guard: refuse to write ``what`` over a device that carries anything."""
    if not content.exists:
        raise Refuse(f"{content.device} does not exist")
    if not content.empty and not force:
        raise Refuse(f"{content.device} is not empty, will not {what} over it without force: true ({content.evidence()})")


def formatted_facts(args: FormattedArgs, ctx: StateContext) -> FormattedFacts:
    content = probe(ctx.runner, args.name)
    mounted = [m.target for m in mounts_of(ctx.runner, args.name)] if content.exists else []
    return FormattedFacts(content=content, mounted_at=mounted)


@state_function("blockdev.formatted", FormattedArgs, facts=formatted_facts)
def formatted(args: FormattedArgs, facts: FormattedFacts) -> Plan:
    """Make a ``fs_type`` filesystem on an empty device; refuse to overwrite anything else."""
    content = facts.content
    if content.exists and content.fs_type == args.fs_type:
        return Plan(comment=f"{args.name} already has a {args.fs_type} filesystem (UUID={content.uuid})")
    if not content.exists:
        # The device comes from an earlier state (an LV, an md array) that a dry run did not
        # create. mkfs on a missing path fails by itself (it never creates a file), and at
        # apply time these facts are gathered again right before mkfs would run.
        return Plan(
            steps=[CommandStep(description=f"make a {args.fs_type} filesystem on {args.name} (not present yet: expected from an earlier state)", argv=mkfs_argv(args.fs_type, args.name, label=args.label))],
            changes={"new": f"{args.fs_type} filesystem on {args.name}", "old": "device not present"},
        )
    if facts.mounted_at:
        raise Refuse(f"{args.name} is mounted on {', '.join(facts.mounted_at)}; will not format a mounted device")
    refuse_unless_blank(content, force=args.force, what=f"make a {args.fs_type} filesystem")
    return Plan(
        steps=[
            CommandStep(
                description=f"make a {args.fs_type} filesystem on {args.name}",
                argv=mkfs_argv(args.fs_type, args.name, label=args.label, force=args.force and not content.empty),
            )
        ],
        changes={"new": f"{args.fs_type} filesystem on {args.name}", "old": content.fs_type or "empty"},
    )
