"""LVM under Salt's names: ``lvm.pv_present``, ``lvm.vg_present``, ``lvm.lv_present``.

Facts come from ``pvs/vgs/lvs --reportformat json --units b``; sizes are planned in bytes
and passed to LVM as ``<bytes>b`` so what is planned is exactly what is asked. LVs only
grow: a smaller ``size`` is refused unless ``allow_shrink: true``. The environment of the
runner is passed through, so tests (and odd sites) point LVM at their own lvm.conf with
``LVM_SYSTEM_DIR``.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, field_validator

from saline.states.engine.base import CommandStep, Facts, Plan, Refuse, StateArgs, StateContext, state_function
from saline.states.system.blkid import BlockContent, probe
from saline.states.system.lvm import LV, PV, VG, human, lvs, parse_size, pvs, vgs
from saline.states.engine.paths import NodePath, check_node_path
from saline.states.modules.blockdev import refuse_unless_blank


DEFAULT_EXTENT = 4 * 1024**2  # LVM's default physical extent size
# lvm(8) VALID NAMES: a-z A-Z 0-9 + _ . -, not starting with '-' (it would be read as an
# option by every LVM tool the name is passed to), not "." or "..".
_LVM_NAME = re.compile(r"^[A-Za-z0-9+_.][A-Za-z0-9+_.-]{0,126}$")


def check_lvm_name(value: str) -> str:
    if not _LVM_NAME.match(value) or value in (".", ".."):
        raise ValueError(f"{value!r} is not a valid LVM name (letters, digits, + _ . -, not starting with '-')")
    return value


LvmName = Annotated[str, AfterValidator(check_lvm_name)]


def _device_list(value: str | list[str]) -> list[str]:
    # Salt accepts "a,b" as well as a list.
    items = value.split(",") if isinstance(value, str) else value
    return [check_node_path(d.strip()) for d in items if d.strip()]


# ---- lvm.pv_present ---------------------------------------------------------------------


class PvArgs(StateArgs):
    name: NodePath  # the device
    force: bool = False


class PvFacts(Facts):
    pv: PV | None
    content: BlockContent


def _pv_guard(content: BlockContent, force: bool) -> None:
    """A device about to become a PV must be blank (a PV already is fine)."""
    if content.fs_type == "LVM2_member":
        return
    refuse_unless_blank(content, force=force, what="create a physical volume")


def pv_facts(args: PvArgs, ctx: StateContext) -> PvFacts:
    found = pvs(ctx.runner, args.name)
    return PvFacts(pv=found[0] if found else None, content=probe(ctx.runner, args.name))


@state_function("lvm.pv_present", PvArgs, facts=pv_facts)
def pv_present(args: PvArgs, facts: PvFacts) -> Plan:
    """A physical volume on ``name``; a device with other content is refused unless ``force``."""
    if facts.pv is not None:
        return Plan(comment=f"Physical volume {args.name} is present")
    _pv_guard(facts.content, args.force)
    argv = ["pvcreate", *(["-ff", "-y"] if args.force and not facts.content.empty else []), args.name]
    return Plan(steps=[CommandStep(description=f"create physical volume {args.name}", argv=argv)], changes={"created": args.name})


# ---- lvm.vg_present ---------------------------------------------------------------------


class VgArgs(StateArgs):
    name: LvmName
    devices: list[str]

    @field_validator("devices", mode="before")
    @classmethod
    def _split(cls, v):
        return _device_list(v)


class VgFacts(Facts):
    vg: VG | None
    pvs: dict[str, PV]  # device → PV, for the listed devices that are PVs
    contents: dict[str, BlockContent]


def vg_facts(args: VgArgs, ctx: StateContext) -> VgFacts:
    found = vgs(ctx.runner, args.name)
    pv_map = {pv.pv_name: pv for dev in args.devices for pv in pvs(ctx.runner, dev)}
    contents = {dev: probe(ctx.runner, dev) for dev in args.devices if dev not in pv_map}
    return VgFacts(vg=found[0] if found else None, pvs=pv_map, contents=contents)


@state_function("lvm.vg_present", VgArgs, facts=vg_facts)
def vg_present(args: VgArgs, facts: VgFacts) -> Plan:
    """Volume group ``name`` over ``devices``: created, or extended by listed devices it lacks."""
    if not args.devices:
        raise Refuse("devices: at least one device is required")
    missing: list[str] = []
    for dev in args.devices:
        pv = facts.pvs.get(dev)
        if pv is None:
            _pv_guard(facts.contents[dev], False)
            missing.append(dev)
        elif pv.vg_name and pv.vg_name != args.name:
            raise Refuse(f"{dev} already belongs to volume group {pv.vg_name}")
        elif not pv.vg_name:
            missing.append(dev)
    if facts.vg is None:
        return Plan(
            steps=[CommandStep(description=f"create volume group {args.name} on {', '.join(args.devices)}", argv=["vgcreate", args.name, *args.devices])],
            changes={"created": args.name, "devices": args.devices},
        )
    if not missing:
        return Plan(comment=f"Volume group {args.name} is present with {', '.join(args.devices)}")
    return Plan(
        steps=[CommandStep(description=f"extend volume group {args.name} by {', '.join(missing)}", argv=["vgextend", args.name, *missing])],
        changes={"extended": missing},
    )


# ---- lvm.lv_present ---------------------------------------------------------------------


class LvArgs(StateArgs):
    name: LvmName
    vgname: LvmName
    size: str
    allow_shrink: bool = False
    # None: leave activation alone. False fits the seed: the VG lives on DRBD and
    # Pacemaker activates it on the primary only.
    active: bool | None = None

    @field_validator("size")
    @classmethod
    def _size(cls, v: str) -> str:
        parse_size(v)
        return v


class LvFacts(Facts):
    vg: VG | None
    lv: LV | None


def lv_facts(args: LvArgs, ctx: StateContext) -> LvFacts:
    found_vg = vgs(ctx.runner, args.vgname)
    found_lv = lvs(ctx.runner, f"{args.vgname}/{args.name}") if found_vg else []
    return LvFacts(vg=found_vg[0] if found_vg else None, lv=found_lv[0] if found_lv else None)


def _round_to_extents(size: int, extent: int) -> int:
    return -(-size // extent) * extent


def _activation_step(lv_ref: str, lv: LV | None, active: bool | None) -> list[CommandStep]:
    if active is None:
        return []
    current = lv.active if lv is not None else None
    if lv is not None and current is None:
        raise Refuse(f"activation state of {lv_ref} is unknown (lv_attr {lv.lv_attr!r}: device-mapper not available)")
    if current == active:
        return []
    flag = "y" if active else "n"
    return [CommandStep(description=f"{'activate' if active else 'deactivate'} {lv_ref}", argv=["lvchange", f"-a{flag}", lv_ref])]


@state_function("lvm.lv_present", LvArgs, facts=lv_facts)
def lv_present(args: LvArgs, facts: LvFacts) -> Plan:
    """Logical volume ``vgname/name`` of at least ``size`` (grown, never shrunk unless allowed)."""
    ref = f"{args.vgname}/{args.name}"
    # Without the VG (a dry run before the vg_present state it requires) LVM's default
    # extent size is assumed; lvcreate itself fails clearly if the VG is really missing.
    extent = facts.vg.vg_extent_size if facts.vg is not None else DEFAULT_EXTENT
    want = _round_to_extents(parse_size(args.size), extent)
    if facts.lv is None:
        activate = [] if args.active is None else ["--activate", "y" if args.active else "n"]
        # An LV created inactive cannot be zeroed (that needs it active): say so to lvcreate.
        zero = ["--zero", "n"] if args.active is False else []
        missing_vg = "" if facts.vg is not None else f" (volume group {args.vgname} not present yet: expected from an earlier state)"
        return Plan(
            steps=[CommandStep(description=f"create logical volume {ref} of {human(want)}{missing_vg}", argv=["lvcreate", "-n", args.name, "-L", f"{want}b", *activate, *zero, args.vgname])],
            changes={"created": ref, "size": human(want)},
        )
    steps: list[CommandStep] = []
    changes: dict = {}
    have = facts.lv.lv_size
    if want > have:
        steps.append(CommandStep(description=f"extend {ref} from {human(have)} to {human(want)}", argv=["lvextend", "-L", f"{want}b", ref]))
        changes["size"] = {"old": human(have), "new": human(want)}
    elif want < have:
        if not args.allow_shrink:
            raise Refuse(f"{ref} is {human(have)}, larger than size {args.size}; shrinking loses data and is refused unless allow_shrink: true")
        steps.append(CommandStep(description=f"shrink {ref} from {human(have)} to {human(want)}", argv=["lvreduce", "-f", "-L", f"{want}b", ref]))
        changes["size"] = {"old": human(have), "new": human(want)}
    activation = _activation_step(ref, facts.lv, args.active)
    if activation:
        changes["active"] = {"old": facts.lv.active, "new": args.active}
    steps += activation
    return Plan(steps=steps, changes=changes, comment=f"Logical volume {ref} is present ({human(have)})")
