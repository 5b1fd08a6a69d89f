"""LXC containers: ``lxc.present``, ``lxc.running``, ``lxc.stopped``, ``lxc.config_converted``.

``lxc.present`` defines a container the way the seed lays it out: rootfs on an LV of the
node's DRBD-backed VG (``backing: lvm``) or a directory, config at ``LXCPATH/NAME/config``
(``lxcpath: /lxc1``), one veth on ``br0`` with a fixed MAC derived from the name, cgroup
limits written for the cgroup version the host runs, and ``lxc.start.auto = 0`` when
Pacemaker owns the container. Only the keys saline manages are compared (semantically:
order, blanks, quotes and comments are not drift); every other line is kept.

``lxc.running``/``lxc.stopped`` refuse a container that is a Pacemaker resource: its
lifecycle is Pacemaker's (``pacemaker.primitive`` with ``target-role``).

The container's volume grow (``lxc.volume_grown``) lives in ``lxc_volume.py``.
"""

from __future__ import annotations

import sys
from typing import Literal

from typing import Annotated

from pydantic import AfterValidator, AliasChoices, Field, field_validator, model_validator

from saline.states.engine.base import CommandStep, Facts, MkdirStep, Plan, Refuse, StateArgs, StateContext, WriteFileStep, state_function
from saline.states.engine.paths import NodePath
from saline.states.modules.lvm import LvmName
from saline.states.system import lxc as lxcsys
from saline.states.modules.blockdev import mkfs_argv
from saline.states.system.blkid import BlockContent, probe
from saline.states.system.lvm import LV, human, lvs, parse_size
from saline.states.system.mounts import mounted_at
from saline.states.system.lxcconf import (ConfigError, Desired, LxcConfig, apply_desired, check_value, desired_to_json, drift,
                                          same_value, unified_diff)
from saline.states.system.lxcconvert import convert, cpu_weight

START_TIMEOUT = 60  # the seed's ocf:heartbeat:lxc start/stop timeout

# Every text that ends up in a config line or an lxc-create argument.
Value = Annotated[str, AfterValidator(check_value)]
Word = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.:+-]*$")]  # template, link, capability names


def _size(value: str | int | None) -> str | None:
    if value is not None:
        parse_size(value)
    return None if value is None else str(value)


# ---- lxc.present --------------------------------------------------------------------------


class PresentArgs(StateArgs):
    name: lxcsys.ContainerName
    lxcpath: NodePath = Field(default=lxcsys.DEFAULT_LXCPATH, validation_alias=AliasChoices("lxcpath", "path"))  # Salt: path
    template: Word | None = None  # lxc-create -t; None: no template (rootfs filled by other means)
    template_args: list[Value] = Field(default_factory=list)
    backing: Literal["dir", "lvm"] = "dir"
    rootfs: NodePath | None = None  # dir backing: default LXCPATH/NAME/rootfs
    vgname: LvmName | None = None
    lvname: LvmName | None = None  # default: the container name
    fstype: Literal["ext4", "ext3", "xfs"] = "ext4"
    size: str | None = None  # the LV size
    arch: Literal["x86", "i686", "x86_64", "amd64"] | None = None  # x86 for 32-bit guests
    link: Word | None = "br0"  # None: no network managed
    hwaddr: lxcsys.Mac | None = None  # default: derived from the name
    ipv4: list[Annotated[str, Field(pattern=r"^[0-9.]+/[0-9]{1,2}$")]] = Field(default_factory=list)
    ipv4_gateway: Annotated[str, Field(pattern=r"^([0-9.]+|auto)$")] | None = None
    memory: str | None = None  # memory limit
    swap: str | None = None  # swap on top of memory (v1 memsw = memory + swap)
    cpu_shares: int | None = Field(default=None, ge=2, le=262144)  # v1 scale; v2 gets cpu.weight
    cpus: Annotated[str, Field(pattern=r"^[0-9,-]+$")] | None = None  # cpuset, e.g. "0-1"
    cap_drop: list[Word] | None = None
    devices_deny: list[Value] | None = None  # e.g. ["a"]
    devices_allow: list[Value] | None = None  # e.g. ["c 1:3 rwm"]
    mount_entries: list[Value] = Field(default_factory=list)  # must be there; others kept
    start_auto: bool | None = None  # None: 0 when Pacemaker owns it, else left alone
    cgroup: Literal["auto", "v1", "v2"] = "auto"
    config: dict[str, Value | list[Value]] = Field(default_factory=dict)  # other keys, set verbatim

    @field_validator("memory", "swap", "size", mode="before")
    @classmethod
    def _sizes(cls, value: str | int | None) -> str | None:
        return _size(value)

    @field_validator("config")
    @classmethod
    def _known(cls, value: dict) -> dict:
        from saline.states.system.lxcconvert import is_known

        bad = [k for k in value if not is_known(k)]
        if bad:
            raise ValueError(f"unknown LXC 3+ keys: {', '.join(bad)} (lxc.config_converted converts old ones)")
        return value

    @model_validator(mode="after")
    def _backing(self) -> "PresentArgs":
        if self.backing == "lvm" and (self.vgname is None or self.size is None):
            raise ValueError("backing: lvm needs vgname and size")
        if self.backing == "dir" and (self.vgname or self.size):
            raise ValueError("vgname/size are for backing: lvm")
        if self.swap is not None and self.memory is None:
            raise ValueError("swap needs memory (cgroup v1 limits memory+swap together)")
        return self

    @property
    def config_path(self) -> str:
        return f"{self.lxcpath}/{self.name}/config"

    @property
    def lv(self) -> str:
        return self.lvname or self.name


class PresentFacts(Facts):
    config_text: str | None  # None: no container (no config file)
    config_host_path: str  # where the runner sees the config (tests run under a root)
    cgroup: Literal["v1", "v2"]
    owner: lxcsys.PacemakerOwner | None
    lxcpath_resource: str | None = None  # the Filesystem resource that mounts lxcpath (the seed's /lxc1)
    lxcpath_mounted: bool = True
    lv: LV | None = None
    lv_content: BlockContent | None = None  # what is on an existing LV (None: no LV)
    state: str = "absent"


def present_facts(args: PresentArgs, ctx: StateContext) -> PresentFacts:
    path = ctx.runner.path(args.config_path)
    lv = None
    if args.backing == "lvm" and args.vgname:
        found = lvs(ctx.runner, f"{args.vgname}/{args.lv}")
        lv = found[0] if found else None
    lv_content = probe(ctx.runner, f"/dev/{args.vgname}/{args.lv}") if lv is not None else None
    view = lxcsys.cluster_view(ctx.runner, args.name, args.lxcpath)
    return PresentFacts(
        config_text=path.read_text(errors="surrogateescape") if path.exists() else None,
        config_host_path=str(path),
        cgroup=lxcsys.cgroup_version(ctx.runner),
        owner=view.owner,
        lxcpath_resource=view.lxcpath_resource,
        lxcpath_mounted=view.lxcpath_resource is None or mounted_at(ctx.runner, args.lxcpath) is not None,
        lv=lv,
        lv_content=lv_content,
        state=lxcsys.state(ctx.runner, str(ctx.runner.path(args.lxcpath)), args.name) if path.exists() else "absent",
    )


def _limits(args: PresentArgs, version: str) -> tuple[dict[str, str], dict[str, list[str]], tuple[str, ...]]:
    """Managed cgroup keys for this host's version, and the other version's keys for the
    same limits (they must go: a v1 key on a v2 host is a limit LXC cannot apply)."""
    pairs: list[tuple[str, str, str, str]] = []  # (v1 key, v2 key, v1 value, v2 value)
    if args.memory is not None:
        mem = parse_size(args.memory)
        pairs.append(("memory.limit_in_bytes", "memory.max", human(mem), human(mem)))
        if args.swap is not None:
            swap = parse_size(args.swap)
            pairs.append(("memory.memsw.limit_in_bytes", "memory.swap.max", human(mem + swap), human(swap)))
    if args.cpu_shares is not None:
        pairs.append(("cpu.shares", "cpu.weight", str(args.cpu_shares), str(cpu_weight(args.cpu_shares))))
    if args.cpus is not None:
        pairs.append(("cpuset.cpus", "cpuset.cpus", args.cpus, args.cpus))
    lists = {sub: values for sub, values in (("devices.deny", args.devices_deny), ("devices.allow", args.devices_allow)) if values is not None}
    mine, other = ("lxc.cgroup.", "lxc.cgroup2.") if version == "v1" else ("lxc.cgroup2.", "lxc.cgroup.")
    v1 = version == "v1"
    single = {mine + (k1 if v1 else k2): (x1 if v1 else x2) for k1, k2, x1, x2 in pairs}
    absent = tuple(other + (k2 if v1 else k1) for k1, k2, _, _ in pairs) + tuple(other + sub for sub in lists)
    return single, {mine + sub: values for sub, values in lists.items()}, absent


def desired(args: PresentArgs, facts: PresentFacts) -> Desired:
    version = facts.cgroup if args.cgroup == "auto" else args.cgroup
    single: dict[str, str] = {"lxc.uts.name": args.name}
    exact: dict[str, list[str]] = {}
    if args.backing == "lvm":
        single["lxc.rootfs.path"] = f"lvm:/dev/{args.vgname}/{args.lv}"
    else:
        single["lxc.rootfs.path"] = f"dir:{_rootfs_dir(args)}"
    if args.arch:
        single["lxc.arch"] = args.arch
    if args.link is not None:
        single.update({"lxc.net.0.type": "veth", "lxc.net.0.link": args.link, "lxc.net.0.flags": "up",
                       "lxc.net.0.hwaddr": args.hwaddr or lxcsys.fixed_hwaddr(args.name)})
        if args.ipv4:
            exact["lxc.net.0.ipv4.address"] = args.ipv4
        if args.ipv4_gateway:
            single["lxc.net.0.ipv4.gateway"] = args.ipv4_gateway
    limits, lists, absent = _limits(args, version)
    single.update(limits)
    exact.update(lists)
    if args.cap_drop is not None:
        exact["lxc.cap.drop"] = args.cap_drop
    start_auto = args.start_auto
    if facts.owner is not None:
        if start_auto:
            raise Refuse(f"start_auto: true for {args.name}, but Pacemaker resource {facts.owner.resource} starts it: "
                         "lxc-autostart would start it on both nodes")
        start_auto = False
    if start_auto is not None:
        single["lxc.start.auto"] = "1" if start_auto else "0"
    for key, value in args.config.items():
        if isinstance(value, list):
            exact[key] = value
        else:
            single[key] = value
    return Desired(single=single, exact_lists=exact, include_lists={"lxc.mount.entry": args.mount_entries}, absent=absent)


def _fssize(size: str) -> str:
    """lxc-create's --fssize takes the seed's form ("1GB", "512MB": binary units)."""
    text = human(parse_size(size))
    return text if text.endswith("B") else text + "B"


def _create_argv(args: PresentArgs) -> list[str]:
    if args.template is None:
        # "-t none" makes no rootfs at all (lxc-create ignores -B then): the storage is
        # made by the plan's own steps, lxc-create only writes the config.
        return ["lxc-create", "-P", args.lxcpath, "-n", args.name, "-t", "none"]
    argv = ["lxc-create", "-P", args.lxcpath, "-n", args.name, "-t", args.template]
    if args.backing == "lvm":
        assert args.size is not None and args.vgname is not None
        argv += ["-B", "lvm", "--vgname", args.vgname, "--lvname", args.lv, "--fstype", args.fstype,
                 "--fssize", _fssize(args.size)]
    else:
        argv += ["-B", "dir", "--dir", _rootfs_dir(args)]
    if args.template_args:
        argv += ["--", *args.template_args]
    return argv


def _rootfs_dir(args: PresentArgs) -> str:
    return args.rootfs or f"{args.lxcpath}/{args.name}/rootfs"


def _storage_steps(args: PresentArgs, facts: PresentFacts) -> list:
    """Without a template, the rootfs storage is saline's to make: an empty directory, or
    the LV with a filesystem (an LV left by an interrupted run is reused if it is blank
    or already has the filesystem; anything else on it is refused)."""
    if args.backing == "dir":
        return [MkdirStep(description=f"make the rootfs directory {_rootfs_dir(args)}", path=_rootfs_dir(args), mode=0o755)]
    assert args.vgname is not None and args.size is not None
    device = f"/dev/{args.vgname}/{args.lv}"
    steps: list = []
    if facts.lv is None:
        want = parse_size(args.size)
        steps.append(CommandStep(description=f"create logical volume {args.vgname}/{args.lv} of {human(want)}",
                                 argv=["lvcreate", "-n", args.lv, "-L", f"{want}b", args.vgname]))
    else:
        content = facts.lv_content
        if content is None or not content.exists:
            raise Refuse(f"logical volume {args.vgname}/{args.lv} exists but {device} does not (inactive LV?): "
                         f"activate it (lvchange -ay {args.vgname}/{args.lv}) and apply again")
        if content.fs_type == args.fstype:
            return []
        if not content.empty:
            raise Refuse(f"logical volume {args.vgname}/{args.lv} is not empty ({content.evidence()}): "
                         "it is not made the rootfs of a new container")
    steps.append(CommandStep(description=f"make a {args.fstype} filesystem on {device}", argv=mkfs_argv(args.fstype, device)))
    return steps


@state_function("lxc.present", PresentArgs, facts=present_facts)
def present(args: PresentArgs, facts: PresentFacts) -> Plan:
    """Container ``name`` defined with its managed config keys (created with lxc-create if missing)."""
    if not facts.lxcpath_mounted:
        # The seed's /lxc1 is an empty directory on the node where its Filesystem resource
        # does not run: a container "created" there would be a second, bogus one.
        raise Refuse(f"{args.lxcpath} is the mount point of Pacemaker resource {facts.lxcpath_resource} and is not "
                     f"mounted on this node: container {args.name} is defined on the node where that resource runs")
    want = desired(args, facts)
    if facts.config_text is None:
        if args.backing == "lvm" and facts.lv is not None and args.template is not None:
            raise Refuse(f"logical volume {args.vgname}/{args.lv} already exists but container {args.name} does not: "
                         "lxc-create would not reuse it; give lvname another name or remove the LV")
        storage = _storage_steps(args, facts) if args.template is None else []
        create = CommandStep(description=f"create container {args.name} in {args.lxcpath} ({args.backing} backing"
                             + (f", {human(parse_size(args.size))} LV {args.vgname}/{args.lv}" if args.size else "") + ")",
                             argv=_create_argv(args), timeout=1800)
        configure = CommandStep(description=f"set the managed keys in {args.config_path}",
                                argv=[sys.executable, "-m", "saline.states.system.lxcconf", facts.config_host_path],
                                stdin=desired_to_json(want))
        # An LV is made before lxc-create; a rootfs directory after it (inside the container's directory).
        before, after = (storage, []) if args.backing == "lvm" else ([], storage)
        return Plan(steps=[*before, create, *after, configure], changes={"created": args.name, "config": args.config_path,
                                                         "keys": {**want.single, **want.exact_lists,
                                                                  **{k: v for k, v in want.include_lists.items() if v}}})
    try:
        old = LxcConfig.parse(facts.config_text)
    except ConfigError as exc:
        raise Refuse(f"{args.config_path}: {exc}") from None
    have_rootfs = old.get("lxc.rootfs.path")
    if have_rootfs and not same_value("lxc.rootfs.path", have_rootfs, want.single["lxc.rootfs.path"]):
        # Pointing an existing container at another rootfs is not a config edit but a new container.
        raise Refuse(f"container {args.name} has its rootfs at {have_rootfs}, not {want.single['lxc.rootfs.path']}: "
                     "lxc.present does not move a container's rootfs (check backing/vgname/lvname/rootfs)")
    keys = drift(old, want)
    if not keys:
        return Plan(comment=f"Container {args.name} is defined as wanted ({args.config_path})")
    new_text = apply_desired(old, want).render()
    changes: dict = {"keys": keys, "diff": unified_diff(facts.config_text, new_text, args.config_path)}
    if facts.state not in ("STOPPED", "absent"):
        # LXC reads the config at start only; restarting a running container is never done unasked.
        changes["restart_needed"] = (f"container {args.name} is {facts.state}: the new config applies at its next start "
                                     "(saline does not restart it)")
    return Plan(
        steps=[WriteFileStep(description=f"set {', '.join(keys)} in {args.config_path}", path=args.config_path,
                             content=new_text.encode(errors="surrogateescape"))],
        changes=changes,
    )


# ---- lxc.running / lxc.stopped ------------------------------------------------------------


class LifecycleArgs(StateArgs):
    name: lxcsys.ContainerName
    lxcpath: NodePath = Field(default=lxcsys.DEFAULT_LXCPATH, validation_alias=AliasChoices("lxcpath", "path"))  # Salt: path
    timeout: int = Field(default=START_TIMEOUT, ge=1, le=3600)


class LifecycleFacts(Facts):
    state: str
    owner: lxcsys.PacemakerOwner | None


def lifecycle_facts(args: LifecycleArgs, ctx: StateContext) -> LifecycleFacts:
    return LifecycleFacts(state=lxcsys.state(ctx.runner, args.lxcpath, args.name),
                          owner=lxcsys.pacemaker_owner(ctx.runner, args.name))


def _not_pacemakers(args: LifecycleArgs, facts: LifecycleFacts, verb: str) -> None:
    if facts.owner is not None:
        raise Refuse(f"container {args.name} is Pacemaker resource {facts.owner.resource} ({facts.owner.source} CIB): "
                     f"Pacemaker owns its lifecycle; {verb} it with pacemaker.primitive (meta target-role) "
                     "or crm resource, not lxc.*")
    if facts.state == "absent":
        raise Refuse(f"container {args.name} does not exist in {args.lxcpath} (lxc.present defines it)")


def _wait(args: LifecycleArgs, state: str) -> CommandStep:
    return CommandStep(description=f"wait until {args.name} is {state}",
                       argv=["lxc-wait", "-P", args.lxcpath, "-n", args.name, "-s", state, "-t", str(args.timeout)],
                       timeout=args.timeout + 10)


@state_function("lxc.running", LifecycleArgs, facts=lifecycle_facts)
def running(args: LifecycleArgs, facts: LifecycleFacts) -> Plan:
    """Container ``name`` running (started, or unfrozen), for containers Pacemaker does not own."""
    _not_pacemakers(args, facts, "start")
    if facts.state == "RUNNING":
        return Plan(comment=f"Container {args.name} is running")
    if facts.state in ("FROZEN", "FREEZING"):
        step = CommandStep(description=f"unfreeze {args.name}", argv=["lxc-unfreeze", "-P", args.lxcpath, "-n", args.name])
    else:
        step = CommandStep(description=f"start {args.name}", argv=["lxc-start", "-P", args.lxcpath, "-n", args.name],
                           timeout=args.timeout + 10)
    return Plan(steps=[step, _wait(args, "RUNNING")], changes={"state": {"old": facts.state, "new": "RUNNING"}})


@state_function("lxc.stopped", LifecycleArgs, facts=lifecycle_facts)
def stopped(args: LifecycleArgs, facts: LifecycleFacts) -> Plan:
    """Container ``name`` stopped (clean shutdown, killed after ``timeout`` seconds), for containers Pacemaker does not own."""
    _not_pacemakers(args, facts, "stop")
    if facts.state == "STOPPED":
        return Plan(comment=f"Container {args.name} is stopped")
    step = CommandStep(description=f"stop {args.name} (killed after {args.timeout}s)",
                       argv=["lxc-stop", "-P", args.lxcpath, "-n", args.name, "-t", str(args.timeout)], timeout=args.timeout + 10)
    return Plan(steps=[step, _wait(args, "STOPPED")], changes={"state": {"old": facts.state, "new": "STOPPED"}})


# ---- lxc.config_converted -----------------------------------------------------------------


class ConvertedArgs(StateArgs):
    name: NodePath  # the config file
    cgroup: Literal["auto", "v1", "v2"] = "auto"
    allow_unknown: bool = False  # convert what can be, keep unknown keys (LXC will refuse to start)


class ConvertedFacts(Facts):
    text: str | None
    cgroup: Literal["v1", "v2"]


def converted_facts(args: ConvertedArgs, ctx: StateContext) -> ConvertedFacts:
    path = ctx.runner.path(args.name)
    return ConvertedFacts(text=path.read_text(errors="surrogateescape") if path.exists() else None,
                          cgroup=lxcsys.cgroup_version(ctx.runner))


@state_function("lxc.config_converted", ConvertedArgs, facts=converted_facts)
def config_converted(args: ConvertedArgs, facts: ConvertedFacts) -> Plan:
    """Config ``name`` uses LXC 3+ keys (old keys renamed like lxc-update-config, v1 limits → v2 on v2 hosts)."""
    if facts.text is None:
        raise Refuse(f"{args.name} does not exist")
    try:
        result = convert(LxcConfig.parse(facts.text), facts.cgroup if args.cgroup == "auto" else args.cgroup)
    except (ConfigError, ValueError) as exc:
        raise Refuse(f"{args.name}: {exc}") from None
    if result.unknown and not args.allow_unknown:
        raise Refuse(f"{args.name} has keys LXC 3+ does not know and saline cannot convert: {', '.join(result.unknown)} "
                     "(fix them by hand, or allow_unknown: true to convert the rest)")
    if not result.changed:
        return Plan(comment=f"{args.name} uses LXC 3+ keys")
    new_text = result.config.render()
    changes = {"renamed": {old: new for old, new in result.renamed}, "diff": unified_diff(facts.text, new_text, args.name)}
    if result.removed:
        changes["removed"] = result.removed
    if result.unknown:
        changes["unknown"] = result.unknown
    return Plan(steps=[WriteFileStep(description=f"convert {args.name} to LXC 3+ keys", path=args.name,
                                     content=new_text.encode(errors="surrogateescape"))], changes=changes)

