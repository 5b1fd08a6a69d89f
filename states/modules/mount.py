"""``mount.mounted``: an fstab entry and the mounted state, under Salt's argument names.

Options are compared as sets. Against the kernel's mount table only the options the
kernel reports are compared (``defaults``, ``nofail``, ``noauto`` ... live in fstab only).
A mount point mounted from another device is refused, never silently unmounted.
"""

from __future__ import annotations

import os

from pydantic import field_validator

from saline.states.engine.base import CommandStep, Facts, MkdirStep, Plan, Refuse, StateArgs, StateContext, WriteFileStep, state_function
from saline.states.system.fstab import FSTAB_ONLY_OPTIONS, KERNEL_DEFAULT_OPTIONS, NOT_FOR_MOUNT, FstabEntry, FstabField, FstabOption, find, split_options, with_entry
from saline.states.system.mounts import ActiveMount, mounted_at
from saline.states.engine.runner import Runner


class MountedArgs(StateArgs):
    name: FstabField
    device: FstabField
    fstype: FstabField
    opts: list[FstabOption] = ["defaults"]
    dump: int = 0
    pass_num: int = 0
    config: str = "/etc/fstab"
    mkmnt: bool = False
    persist: bool = True
    mount: bool = True

    @field_validator("opts", mode="before")
    @classmethod
    def _opts(cls, v):
        return split_options(v)


class MountedFacts(Facts):
    fstab_text: str | None
    entry: FstabEntry | None
    mountpoint_exists: bool
    active: ActiveMount | None
    # The real device behind ``device`` (UUID=/LABEL= and symlinks resolved), if it exists.
    device_resolved: str | None


def resolve_device(runner: Runner, spec: str) -> str | None:
    """``UUID=…``/``LABEL=…``/a symlink → the device node path; None if not found."""
    if "=" in spec.split("/", 1)[0]:
        result = runner.run(["blkid", "-o", "device", "-t", spec])
        return result.stdout.strip().splitlines()[0] if result.rc == 0 and result.stdout.strip() else None
    path = runner.path(spec)
    return os.path.realpath(path) if path.exists() else None


def read_text(runner: Runner, node_path: str) -> str | None:
    path = runner.path(node_path)
    return path.read_text() if path.exists() else None


def mounted_facts(args: MountedArgs, ctx: StateContext) -> MountedFacts:
    runner = ctx.runner
    text = read_text(runner, args.config)
    return MountedFacts(
        fstab_text=text,
        entry=find(text, args.name) if text is not None else None,
        mountpoint_exists=runner.path(args.name).is_dir(),
        active=mounted_at(runner, args.name) if args.mount else None,
        device_resolved=resolve_device(runner, args.device) if args.mount else None,
    )


def fstab_plan(config: str, text: str | None, entry: FstabEntry | None, desired: FstabEntry) -> tuple[list, dict]:
    """Steps and changes to make the fstab entry for ``desired.file`` equal to ``desired``."""
    if entry is not None and entry.same_as(desired):
        return [], {}
    content = with_entry(text or "", desired)
    step = WriteFileStep(description=f"{'update' if entry else 'add'} the {config} entry for {desired.file}", path=config, content=content.encode(), makedirs=True)
    return [step], {"fstab": {"old": entry.render() if entry else None, "new": desired.render()}}


def _kernel_options(opts: list[str]) -> set[str]:
    return {o for o in opts if o not in FSTAB_ONLY_OPTIONS and o not in KERNEL_DEFAULT_OPTIONS
            and not o.startswith("x-") and not o.startswith("comment=")}


@state_function("mount.mounted", MountedArgs, facts=mounted_facts)
def mounted(args: MountedArgs, facts: MountedFacts) -> Plan:
    """``device`` mounted on ``name`` (``mount``) and recorded in ``config`` (``persist``)."""
    if not args.name.startswith("/"):
        raise Refuse(f"mount point {args.name!r} must be an absolute path")
    steps: list = []
    changes: dict = {}
    if args.persist:
        desired = FstabEntry(spec=args.device, file=args.name, vfstype=args.fstype, mntops=args.opts, freq=args.dump, passno=args.pass_num)
        fstab_steps, fstab_changes = fstab_plan(args.config, facts.fstab_text, facts.entry, desired)
        steps += fstab_steps
        changes |= fstab_changes
    if args.mount:
        mount_opts = [o for o in args.opts if o not in NOT_FOR_MOUNT] or ["defaults"]
        active = facts.active
        if active is None:
            if facts.device_resolved is None:
                raise Refuse(f"device {args.device} does not exist")
            if not facts.mountpoint_exists:
                if not args.mkmnt:
                    raise Refuse(f"mount point {args.name} does not exist (set mkmnt: true to create it)")
                steps.append(MkdirStep(description=f"create mount point {args.name}", path=args.name))
            steps.append(CommandStep(description=f"mount {args.device} on {args.name}", argv=["mount", "-t", args.fstype, "-o", ",".join(mount_opts), args.device, args.name]))
            changes["mounted"] = {"old": None, "new": args.device}
        else:
            if facts.device_resolved is None or os.path.realpath(active.source) != facts.device_resolved:
                raise Refuse(f"{args.name} is mounted from {active.source}, not {args.device}; unmount it first")
            missing = _kernel_options(args.opts) - set(active.options)
            if missing:
                steps.append(CommandStep(description=f"remount {args.name} with {','.join(sorted(missing))}", argv=["mount", "-o", "remount," + ",".join(sorted(missing)), args.name]))
                changes["options"] = {"old": ",".join(active.options), "new": ",".join(sorted(missing))}
    return Plan(steps=steps, changes=changes, comment=f"{args.device} is mounted on {args.name}" if args.mount else f"{args.name} is in {args.config}")
