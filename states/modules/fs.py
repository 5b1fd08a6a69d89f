"""``fs.grown``: the seed's "Extending Container Filesystem" recipe as one offline state.

    lvextend -L <size> /dev/vg/lv ; e2fsck -f /dev/vg/lv ; resize2fs -p /dev/vg/lv

The filesystem must not be mounted (the Pacemaker resource is stopped first; that
orchestration belongs to maintenance): a mounted filesystem is refused and the comment
says where it is mounted. Without ``size`` the filesystem is grown to fill its device
(e.g. after the LV or disk was grown by other means). Only ext2/3/4 are handled.
"""

from __future__ import annotations

import re

from pydantic import field_validator

from saline.states.engine.base import CommandStep, Facts, Plan, Refuse, StateArgs, StateContext, state_function
from saline.states.system.blkid import BlockContent, probe
from saline.states.system.mounts import mounts_of
from saline.states.system.lvm import LV, VG, human, lvs, parse_size, vgs
from saline.states.engine.runner import CommandError, Runner

# e2fsck exit codes: 0 clean, 1 errors corrected; anything else needs a human.
E2FSCK_OK = [0, 1]


class GrownArgs(StateArgs):
    size: str | None = None

    @field_validator("size")
    @classmethod
    def _size(cls, v: str | None) -> str | None:
        if v is not None:
            parse_size(v)
        return v


class Ext4Geometry(Facts):
    block_count: int
    block_size: int

    @property
    def size(self) -> int:
        return self.block_count * self.block_size


class GrownFacts(Facts):
    content: BlockContent
    mounted_at: list[str]
    device_size: int | None
    geometry: Ext4Geometry | None
    lv: LV | None = None
    vg: VG | None = None


def parse_dumpe2fs(text: str) -> Ext4Geometry:
    """Block count and size from ``dumpe2fs -h``."""
    fields = dict(re.findall(r"^([A-Za-z ]+):\s+(\S+)", text, flags=re.MULTILINE))
    try:
        return Ext4Geometry(block_count=int(fields["Block count"]), block_size=int(fields["Block size"]))
    except KeyError as exc:
        raise ValueError(f"dumpe2fs output lacks {exc}") from None


def _device_size(runner: Runner, device: str) -> int:
    return int(runner.run(["blockdev", "--getsize64", device], check=True).stdout.strip())


def grown_facts(args: GrownArgs, ctx: StateContext) -> GrownFacts:
    runner = ctx.runner
    content = probe(runner, args.name)
    lv = vg = None
    if args.size is not None:
        found = lvs(runner, args.name)
        lv = found[0] if found else None
        vg = vgs(runner, lv.vg_name)[0] if lv else None
    if not content.exists:
        return GrownFacts(content=content, mounted_at=[], device_size=None, geometry=None, lv=lv, vg=vg)
    geometry = None
    if (content.fs_type or "").startswith("ext"):
        try:
            geometry = parse_dumpe2fs(runner.run(["dumpe2fs", "-h", args.name], check=True).stdout)
        except CommandError:
            geometry = None
    return GrownFacts(
        content=content,
        mounted_at=[m.target for m in mounts_of(runner, args.name)],
        device_size=_device_size(runner, args.name),
        geometry=geometry,
        lv=lv,
        vg=vg,
    )


@state_function("fs.grown", GrownArgs, facts=grown_facts)
def grown(args: GrownArgs, facts: GrownFacts) -> Plan:
    """Grow the LV to ``size`` (if given) and the ext filesystem on it to fill it, offline."""
    steps: list[CommandStep] = []
    changes: dict = {}
    device_size = facts.device_size
    if args.size is not None:
        if facts.lv is None or facts.vg is None:
            raise Refuse(f"size is given but {args.name} is not a logical volume (lvs does not know it)")
        want = -(-parse_size(args.size) // facts.vg.vg_extent_size) * facts.vg.vg_extent_size
        if want < facts.lv.lv_size:
            raise Refuse(f"{args.name} is {human(facts.lv.lv_size)}, larger than size {args.size}: fs.grown never shrinks")
        if want > facts.lv.lv_size:
            steps.append(CommandStep(description=f"extend {args.name} to {human(want)}", argv=["lvextend", "-L", f"{want}b", args.name]))
            changes["lv_size"] = {"old": human(facts.lv.lv_size), "new": human(want)}
            device_size = want
    if not facts.content.exists:
        raise Refuse(f"{args.name} does not exist (is the LV active?)")
    fs_type = facts.content.fs_type
    if not (fs_type or "").startswith("ext") or facts.geometry is None:
        raise Refuse(f"{args.name} has no ext2/3/4 filesystem ({facts.content.evidence()})")
    grow_fs = device_size is not None and facts.geometry.size + facts.geometry.block_size <= device_size
    if not steps and not grow_fs:
        return Plan(comment=f"{fs_type} on {args.name} already fills its device ({human(facts.geometry.size)})")
    if facts.mounted_at:
        raise Refuse(
            f"{args.name} is mounted on {', '.join(facts.mounted_at)}: the resize is done offline, "
            "stop the resource using it and unmount first"
        )
    steps += [
        CommandStep(description=f"check {args.name} before resizing", argv=["e2fsck", "-f", "-p", args.name], ok_rc=E2FSCK_OK),
        CommandStep(description=f"grow the {fs_type} filesystem on {args.name} to fill its device", argv=["resize2fs", "-p", args.name]),
    ]
    changes["fs_size"] = {"old": human(facts.geometry.size), "new": human(device_size or 0)}
    return Plan(steps=steps, changes=changes)
