"""md RAID under Salt's name ``raid.present``, plus the check-only ``raid.healthy``.

Facts: ``/proc/mdstat``, ``mdadm --detail``, ``mdadm --detail --brief`` (the ARRAY line),
``mdadm --examine`` and ``blkid -p`` of every member, and the mdadm.conf ARRAY lines.

Safety rules:
* an array is never created over a device carrying a filesystem, a PV, a partition table
  or an md superblock unless ``force: true`` — the refusal quotes blkid/mdadm's evidence;
* members whose superblocks all name the same array are *assembled*, not re-created;
* a missing member of a running array is added back (``--re-add`` when its superblock
  says it was a member, ``--add`` otherwise) only with ``re_add: true``; without it the
  state succeeds but says DEGRADED loudly (``raid.healthy`` is the check that fails);
* the mdadm.conf ARRAY line is kept in the ``mdadm --detail --scan`` form. For a new
  array the UUID is chosen up front (``--uuid``), so the line is known before creation
  and the second plan agrees with the first.
"""

from __future__ import annotations

import os
import re
import uuid as uuidlib

from pydantic import Field, field_validator

from saline.states.engine.base import CommandStep, Facts, Plan, Refuse, StateArgs, StateContext, WriteFileStep, state_function
from saline.states.system.blkid import BlockContent, probe
from saline.states.system.mdadm import ArrayLine, MdDetail, MdExamine, MdstatArray, health, parse_array_lines, parse_detail, parse_examine, parse_mdstat
from saline.states.engine.runner import Runner

_LEVELS = {"0": "raid0", "stripe": "raid0", "1": "raid1", "mirror": "raid1", "4": "raid4", "5": "raid5", "6": "raid6", "10": "raid10", "linear": "linear"}
_MD_NAME = re.compile(r"^/dev/md(\d+)$")
MDSTAT = "/proc/mdstat"
DEFAULT_CONF = "/etc/mdadm/mdadm.conf"


def normalize_level(level: int | str) -> str:
    text = str(level).lower().removeprefix("raid")
    if text in _LEVELS:
        return _LEVELS[text]
    raise ValueError(f"unknown RAID level {level!r} (use 0, 1, 4, 5, 6, 10 or linear)")


def same_uuid(a: str | None, b: str | None) -> bool:
    return bool(a and b) and re.sub("[^0-9a-f]", "", a.lower()) == re.sub("[^0-9a-f]", "", b.lower())


def mdadm_uuid(u: uuidlib.UUID) -> str:
    h = u.hex
    return ":".join(h[i : i + 8] for i in range(0, 32, 8))


class ArrayName(StateArgs):
    @field_validator("name")
    @classmethod
    def _md(cls, v: str) -> str:
        if not _MD_NAME.match(v):
            raise ValueError(f"{v!r} is not an md device name like /dev/md0")
        return v


class PresentArgs(ArrayName):
    level: int | str
    devices: list[str]
    # What mdadm --metadata accepts; the value is also written into the mdadm.conf ARRAY line.
    metadata: str = Field(default="1.2", pattern=r"^(0|0\.90|1|1\.[012]|default|ddf|imsm)$")
    force: bool = False
    re_add: bool = False
    config: str = DEFAULT_CONF

    @field_validator("level")
    @classmethod
    def _level(cls, v):
        return normalize_level(v)


class Member(Facts):
    device: str
    resolved: str
    content: BlockContent
    examine: MdExamine | None


class PresentFacts(Facts):
    mdstat: MdstatArray | None
    detail: MdDetail | None
    scan_line: ArrayLine | None  # mdadm --detail --brief, when assembled
    members: list[Member]
    conf_text: str | None
    # A fresh UUID for the case the array must be created (facts may be random, plan is pure).
    proposed_uuid: str


def kernel_name(md: str) -> str:
    return "md" + _MD_NAME.match(md).group(1)  # type: ignore[union-attr]


def read_mdstat(runner: Runner) -> dict[str, MdstatArray]:
    path = runner.path(MDSTAT)
    return parse_mdstat(path.read_text()) if path.exists() else {}


def read_detail(runner: Runner, md: str) -> MdDetail | None:
    result = runner.run(["mdadm", "--detail", md])
    return parse_detail(result.stdout) if result.rc == 0 else None


def examine(runner: Runner, device: str) -> MdExamine | None:
    result = runner.run(["mdadm", "--examine", device])
    return parse_examine(result.stdout) if result.rc == 0 else None


def present_facts(args: PresentArgs, ctx: StateContext) -> PresentFacts:
    runner = ctx.runner
    mdstat = read_mdstat(runner).get(kernel_name(args.name))
    detail = scan = None
    if mdstat is not None:
        detail = read_detail(runner, args.name)
        brief = runner.run(["mdadm", "--detail", "--brief", args.name])
        lines = parse_array_lines(brief.stdout) if brief.rc == 0 else []
        scan = lines[0] if lines else None
    members = []
    for dev in args.devices:
        path = runner.path(dev)
        members.append(Member(device=dev, resolved=os.path.realpath(path) if path.exists() else dev, content=probe(runner, dev), examine=examine(runner, dev) if path.exists() else None))
    conf = runner.path(args.config)
    return PresentFacts(
        mdstat=mdstat,
        detail=detail,
        scan_line=scan,
        members=members,
        conf_text=conf.read_text() if conf.exists() else None,
        proposed_uuid=mdadm_uuid(uuidlib.uuid4()),
    )


def conf_plan(config: str, text: str | None, line: ArrayLine) -> tuple[list, dict]:
    """Keep exactly one ARRAY line for this array (matched by device or UUID) in mdadm.conf."""
    existing = parse_array_lines(text or "")
    if any(a.device == line.device and same_uuid(a.uuid, line.uuid) for a in existing):
        return [], {}
    kept = []
    for raw in (text or "").splitlines():
        parsed = parse_array_lines(raw)
        if parsed and (parsed[0].device == line.device or same_uuid(parsed[0].uuid, line.uuid)):
            continue
        kept.append(raw)
    content = "\n".join([*kept, line.render()]) + "\n"
    old = [a.render() for a in existing if a.device == line.device or same_uuid(a.uuid, line.uuid)]
    step = WriteFileStep(description=f"record {line.device} in {config}", path=config, content=content.encode(), makedirs=True)
    return [step], {"mdadm.conf": {"old": old or None, "new": line.render()}}


def _refuse_used(members: list[Member], force: bool, name: str) -> None:
    for m in members:
        if not m.content.exists:
            raise Refuse(f"member {m.device} does not exist")
        if force:
            continue
        if m.examine is not None:
            raise Refuse(f"{m.device} already carries an {m.examine.describe()}; will not create {name} over it without force: true ({m.content.evidence()})")
        if not m.content.empty:
            raise Refuse(f"{m.device} is not empty; will not create {name} over it without force: true ({m.content.evidence()})")


def _create(args: PresentArgs, facts: PresentFacts) -> Plan:
    # Members that all carry superblocks of one array: that array exists on disk, assemble it.
    uuids = {m.examine.array_uuid for m in facts.members if m.examine is not None}
    if len(uuids) == 1 and all(m.examine is not None for m in facts.members) and not args.force:
        found = next(iter(uuids))
        line = ArrayLine(device=args.name, fields={"metadata": args.metadata, "UUID": found or ""})
        steps, changes = conf_plan(args.config, facts.conf_text, line)
        return Plan(
            steps=[CommandStep(description=f"assemble {args.name} from {', '.join(args.devices)} (array UUID {found})", argv=["mdadm", "--assemble", args.name, *args.devices]), *steps],
            changes={"assembled": args.name, **changes},
        )
    _refuse_used(facts.members, args.force, args.name)
    argv = [
        "mdadm", "--create", args.name, "--run", f"--level={args.level}", f"--raid-devices={len(args.devices)}",
        f"--metadata={args.metadata}", f"--uuid={facts.proposed_uuid}", *args.devices,
    ]
    line = ArrayLine(device=args.name, fields={"metadata": args.metadata, "UUID": facts.proposed_uuid})
    steps, changes = conf_plan(args.config, facts.conf_text, line)
    return Plan(
        steps=[CommandStep(description=f"create {args.level} {args.name} on {', '.join(args.devices)}", argv=argv, stdin=""), *steps],
        changes={"created": args.name, "level": args.level, "devices": args.devices, **changes},
    )


@state_function("raid.present", PresentArgs, facts=present_facts)
def present(args: PresentArgs, facts: PresentFacts) -> Plan:
    """md array ``name`` of ``level`` over ``devices`` exists and is recorded in mdadm.conf."""
    if facts.mdstat is None:
        return _create(args, facts)
    detail = facts.detail
    if detail is None:
        raise Refuse(f"{args.name} is in /proc/mdstat but mdadm --detail cannot read it")
    if detail.level and normalize_level(detail.level) != args.level:
        raise Refuse(f"{args.name} is {detail.level}, not {args.level}; changing the level is not done by raid.present")
    in_array = {d for m in detail.members if m.device and "faulty" not in m.state and "removed" not in m.state for d in (m.device, os.path.realpath(m.device))}
    missing = [m for m in facts.members if m.device not in in_array and m.resolved not in in_array]
    steps: list = []
    changes: dict = {}
    comment = f"{args.name} is present ({', '.join(detail.state) or 'active'})"
    if missing and args.re_add:
        for m in missing:
            if m.examine is not None and same_uuid(m.examine.array_uuid, detail.uuid):
                steps.append(CommandStep(description=f"re-add former member {m.device} to {args.name}", argv=["mdadm", "--manage", args.name, "--re-add", m.device]))
            else:
                _refuse_used([m], args.force, args.name)
                steps.append(CommandStep(description=f"add {m.device} to {args.name}", argv=["mdadm", "--manage", args.name, "--add", m.device]))
        changes["added"] = [m.device for m in missing]
    elif missing:
        comment = f"{args.name} is DEGRADED: {', '.join(m.device for m in missing)} not in the array (set re_add: true to add back)"
    line = facts.scan_line or ArrayLine(device=args.name, fields={"metadata": args.metadata, "UUID": detail.uuid or ""})
    conf_steps, conf_changes = conf_plan(args.config, facts.conf_text, line)
    return Plan(steps=steps + conf_steps, changes=changes | conf_changes, comment=comment)


# ---- raid.healthy ------------------------------------------------------------------------


class HealthyArgs(ArrayName):
    pass


class HealthyFacts(Facts):
    mdstat: MdstatArray | None
    detail: MdDetail | None


def healthy_facts(args: HealthyArgs, ctx: StateContext) -> HealthyFacts:
    mdstat = read_mdstat(ctx.runner).get(kernel_name(args.name))
    return HealthyFacts(mdstat=mdstat, detail=read_detail(ctx.runner, args.name) if mdstat is not None else None)


@state_function("raid.healthy", HealthyArgs, facts=healthy_facts)
def healthy(args: HealthyArgs, facts: HealthyFacts) -> Plan:
    """Check only: succeeds on a clean/active array, fails saying what is wrong (degraded,
    resync/recovery with progress, failed and spare members)."""
    verdict = health(args.name, facts.mdstat, facts.detail)
    if not verdict.healthy:
        raise Refuse("unhealthy: " + verdict.summary)
    return Plan(comment=verdict.summary)
