"""DRBD 8.4 and 9 states: resource files, metadata, up/adjust, role, health, dopd permissions.

* ``drbd.resource`` — ``/etc/drbd.d/NAME.res`` rendered from arguments (device, disk,
  protocol C, peers on the replication network, resource-level fencing with the
  Pacemaker handlers as in the seed) in the syntax of the node's DRBD (detected from
  ``/proc/drbd``, ``modinfo``, ``drbdadm --version``; ``drbd_version`` forces it): 8.4 has
  ``fencing`` in ``disk {}``, no ``node-id`` and the 8.4 handlers; 9 has ``fencing`` in
  ``net {}``, ``node-id`` and the ``.9.sh`` handlers. Handler programs are looked up in the
  installed packages (``dpkg-query -S``), e.g. dopd's ``drbd-peer-outdater`` (heartbeat).
  The file is checked by the real ``drbdadm dump`` (8.4: with
  ``DRBD_DRIVER_VERSION_OVERRIDE``, i.e. ``drbdadm-84``) *before* it is written; metadata created once (``create-md`` only when ``drbdadm dump-md`` finds none);
  then ``up`` (resource not in the kernel yet) or ``adjust`` (``drbdadm -d adjust`` shows
  pending commands, or the file changed).
* ``drbd.role`` — primary/secondary.
* ``drbd.healthy`` — a check: Connected and UpToDate/UpToDate everywhere, else it fails
  naming what is wrong (the maintenance runner gates on it).
* ``drbd.dopd_permissions`` — the seed's permissions for dopd (drbd-peer-outdater):
  drbdsetup/drbdmeta group haclient, setuid, no execute for others; the DRBD config
  group-readable.

Live facts come from ``drbdsetup events2 --now --statistics RES``. Every drbdadm call
names the config file (``-c``) so a test root works like a node.
"""

from __future__ import annotations

import difflib
import grp
import os
import re
import stat
from ipaddress import IPv4Address
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from saline.states.engine.base import CommandStep, Facts, Plan, Refuse, SetAttrsStep, StateArgs, StateContext, WriteFileStep, state_function
from saline.states.system import drbd_version
from saline.states.system.drbd import ResourceStatus, drbd_error, metadata_state, parse_events2
from saline.states.system.drbd_version import Syntax

RESOURCE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
HOST_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
DEVICE = re.compile(r"^/dev/drbd[0-9]{1,6}$")
BLOCK_DEVICE = re.compile(r"^/dev/[A-Za-z0-9_][A-Za-z0-9_./-]*$")
META_DISK = re.compile(r"^(internal|/dev/[A-Za-z0-9_][A-Za-z0-9_./-]*)$")
HANDLER = re.compile(r"^[a-z][a-z-]*$")
SEED_HANDLERS = {
    # resource-level fencing with Pacemaker: constrain the peer away while it is outdated
    "fence-peer": "/usr/lib/drbd/crm-fence-peer.9.sh",
    "after-resync-target": "/usr/lib/drbd/crm-unfence-peer.9.sh",
}


def _matching(pattern: re.Pattern[str], what: str) -> AfterValidator:
    """A validator: the value matches ``pattern`` and has no ``..`` path part, else "… is not <what>"."""

    def check(v: str) -> str:
        if not pattern.match(v) or ".." in v.split("/"):
            raise ValueError(f"{v!r} is not {what}")
        return v

    return AfterValidator(check)


ResourceName = Annotated[str, _matching(RESOURCE_NAME, "a valid DRBD resource name (letters, digits, _ . -)")]
HostName = Annotated[str, _matching(HOST_NAME, "a valid host name")]
DrbdDevice = Annotated[str, _matching(DEVICE, "a DRBD device (/dev/drbdN)")]
BlockDevice = Annotated[str, _matching(BLOCK_DEVICE, "a block device path under /dev")]
MetaDisk = Annotated[str, _matching(META_DISK, "'internal' or a block device path under /dev")]


class ResourceNamed(StateArgs):
    """``name`` is a DRBD resource name; ``config`` the drbd.conf drbdadm reads."""

    name: ResourceName
    config: str = "/etc/drbd.conf"


class DrbdNode(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: HostName  # as `uname -n` reports it on that node: drbdadm matches `on <host>` with it
    address: IPv4Address  # on the replication link (eth1 in the seed)
    port: int = Field(7789, ge=1, le=65535)
    node_id: int | None = Field(None, ge=0, le=31)  # DRBD 9 only (8.4 has none)


class ResourceArgs(ResourceNamed):
    device: DrbdDevice
    disk: BlockDevice
    meta_disk: MetaDisk = "internal"
    protocol: Literal["A", "B", "C"] = "C"
    fencing: Literal["dont-care", "resource-only", "resource-and-stonith"] = "resource-only"
    # None: the fence handlers of the node's DRBD version for fence_peer, found in the installed packages.
    handlers: dict[str, str] | None = None
    fence_peer: Literal["crm", "dopd"] = "crm"  # Pacemaker constraints, or heartbeat's dopd (8.4)
    drbd_version: Syntax | None = None  # None: detected on the node; set it when the module is not loaded yet
    nodes: list[DrbdNode] = Field(min_length=2)
    create_md: bool = True
    up: bool = True

    @field_validator("handlers")
    @classmethod
    def _handlers(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        for key, cmd in (v or {}).items():
            if not HANDLER.match(key):
                raise ValueError(f"{key!r} is not a handler name")
            if not cmd.startswith("/") or any(c in cmd for c in '"\\;\n'):
                raise ValueError(f"handler {key}: {cmd!r} must be an absolute path without quotes or ';'")
        return v

    @model_validator(mode="after")
    def _unique_nodes(self) -> "ResourceArgs":
        for what in ("name", "node_id", "address"):
            values = [getattr(n, what) for n in self.nodes if getattr(n, what) is not None]
            if len(set(values)) != len(values):
                raise ValueError(f"nodes: duplicate {what}")
        return self

    @property
    def path(self) -> str:
        return f"{os.path.dirname(self.config)}/drbd.d/{self.name}.res"


# The handler programs each DRBD version's fencing uses: key → (program, its arguments).
# crm-*: drbd-utils' Pacemaker constraint scripts; drbd-peer-outdater: heartbeat's dopd client
# (DRBD 8.4 User's Guide, "Resource-level fencing using dopd": ``-t 5``).
HANDLER_PROGRAMS: dict[tuple[Syntax, str], dict[str, tuple[str, str]]] = {
    ("9", "crm"): {"fence-peer": ("crm-fence-peer.9.sh", ""), "after-resync-target": ("crm-unfence-peer.9.sh", "")},
    ("8.4", "crm"): {"fence-peer": ("crm-fence-peer.sh", ""), "after-resync-target": ("crm-unfence-peer.sh", "")},
    ("8.4", "dopd"): {"fence-peer": ("drbd-peer-outdater", " -t 5")},
}


def render_resource(args: ResourceArgs, syntax: Syntax = "9", handlers: dict[str, str] | None = None) -> str:
    """The resource file in ``syntax``; ``handlers`` are the defaults found on the node
    (used when the state names none; None: the DRBD 9 seed handlers)."""
    if args.handlers is not None:
        handlers = args.handlers
    elif handlers is None:
        handlers = dict(SEED_HANDLERS)
    lines = [
        "# Managed by saline (drbd.resource): changes made here are overwritten.",
        f"resource {args.name} {{",
        f"    device {args.device};",
        f"    disk {args.disk};",
        f"    meta-disk {args.meta_disk};",
        "    net {",
        f"        protocol {args.protocol};",
    ]
    if syntax == "9":
        lines += [f"        fencing {args.fencing};", "    }"]
    else:  # 8.4: fencing is a disk option
        lines += ["    }", "    disk {", f"        fencing {args.fencing};", "    }"]
    if handlers:
        lines.append("    handlers {")
        lines += [f'        {key} "{cmd}";' for key, cmd in handlers.items()]
        lines.append("    }")
    for node in args.nodes:
        lines.append(f"    on {node.name} {{")
        if syntax == "9":
            lines.append(f"        node-id {node.node_id};")
        lines += [f"        address {node.address}:{node.port};", "    }"]
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---- live state (shared by resource, role and healthy) -----------------------------------


class LiveFacts(Facts):
    config_file: str  # the drbd.conf drbdadm reads, mapped under the runner's root
    kernel: bool  # the drbd kernel module answers
    kernel_error: str = ""
    status: ResourceStatus | None = None  # None: the resource is not up


def observe_live(name: str, config: str, ctx: StateContext) -> LiveFacts:
    config_file = str(ctx.runner.path(config))
    res = ctx.runner.run(["drbdsetup", "events2", "--now", "--statistics", name])
    if res.rc != 0 and ("modprobe" in res.stderr or "Module drbd not found" in res.stderr):
        return LiveFacts(config_file=config_file, kernel=False, kernel_error=res.stderr.strip().splitlines()[-1])
    return LiveFacts(config_file=config_file, kernel=True, status=parse_events2(res.stdout).get(name) if res.ok else None)


def _drbdadm(facts: LiveFacts, *argv: str) -> list[str]:
    return ["drbdadm", "-c", facts.config_file, *argv]


def _require_kernel(name: str, facts: LiveFacts) -> None:
    if not facts.kernel:
        raise Refuse(f"the DRBD kernel module is not available ({facts.kernel_error}); cannot manage {name} live")


# ---- drbd.resource -----------------------------------------------------------------------


class ResourceFacts(LiveFacts):
    file_text: str | None
    syntax: Syntax = "9"
    syntax_source: str = ""  # where the version came from, for the comment
    kernel_version: str | None = None  # e.g. 8.4.11, when the node says
    handlers: dict[str, str] | None = None  # defaults found in the installed packages (None: DRBD 9's)
    handler_problem: str | None = None
    candidate_error: str | None = None  # what `drbdadm dump` said about the rendered file
    # The file on the node means what the state renders (drbdadm dump, drbdadm's own
    # normalized form, is the same for both): a hand-made or LCMC-made file is left as it is.
    same_meaning: bool = False
    metadata: Literal["present", "absent", "in-use"] | None = None
    metadata_error: str | None = None
    adjust_pending: list[str] = Field(default_factory=list)

    @property
    def drbdadm_env(self) -> dict[str, str]:
        """8.4 syntax is read by drbdadm-84: drbdadm picks it from this when no 8.4 module answers."""
        if self.syntax != "8.4":
            return {}
        return {drbd_version.OVERRIDE_ENV: self.kernel_version or drbd_version.DEFAULT_84}


def detect_version(ctx: StateContext) -> tuple[str | None, str]:
    """The node's DRBD kernel version (see states/system/drbd_version.py) and where it came from."""
    proc = ctx.runner.run(["cat", drbd_version.PROC_DRBD])
    if proc.ok and (v := drbd_version.from_proc(proc.stdout)):
        return v, f"{drbd_version.PROC_DRBD} says {v}"
    modinfo = ctx.runner.run(drbd_version.MODINFO_ARGV)
    if modinfo.ok and (v := drbd_version.from_modinfo(modinfo.stdout)):
        return v, f"the drbd kernel module is {v} (modinfo)"
    adm = ctx.runner.run(drbd_version.DRBDADM_VERSION_ARGV)
    if adm.ok and (v := drbd_version.from_drbdadm(adm.stdout)):
        return v, f"drbdadm --version: DRBD_KERNEL_VERSION={v}"
    return None, "no DRBD kernel module found: DRBD 9 syntax (set drbd_version to choose)"


def find_handlers(args: ResourceArgs, syntax: Syntax, ctx: StateContext) -> tuple[dict[str, str], str | None]:
    """The default handlers with the paths the installed packages give their programs."""
    programs = HANDLER_PROGRAMS.get((syntax, args.fence_peer))
    if programs is None:
        return {}, f"fence_peer {args.fence_peer} is not available with DRBD {syntax} (dopd is for DRBD 8.4; use crm)"
    found, missing = {}, []
    for key, (program, extra) in programs.items():
        res = ctx.runner.run(["dpkg-query", "-S", f"*/{program}"])
        paths = sorted(p for p in drbd_version.parse_dpkg_search(res.stdout) if p.endswith(f"/{program}"))
        if not paths:
            missing.append(program)
        else:
            found[key] = paths[0] + extra
    if missing:
        hint = " (drbd-peer-outdater: Debian package heartbeat)" if "drbd-peer-outdater" in missing else ""
        return found, f"no installed package provides {', '.join(missing)}{hint}; install it or name the handlers"
    return found, None


def _dumped(text: str) -> str:
    """``drbdadm dump`` output without its comments (which name where it read the file)."""
    return "\n".join(line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))


def resource_facts(args: ResourceArgs, ctx: StateContext) -> ResourceFacts:
    target = ctx.runner.path(args.path)
    text = target.read_text() if target.exists() else None
    kernel, source = detect_version(ctx)
    if args.drbd_version is not None:
        syntax: Syntax = args.drbd_version
        source = f"drbd_version: {args.drbd_version} set on the state"
    else:
        syntax = drbd_version.syntax_of(kernel) if kernel else "9"
    handlers, problem = find_handlers(args, syntax, ctx) if args.handlers is None else (None, None)
    live = observe_live(args.name, args.config, ctx) if args.up else LiveFacts(
        config_file=str(ctx.runner.path(args.config)), kernel=False)
    facts = ResourceFacts(**live.model_dump(), file_text=text, syntax=syntax, syntax_source=source, handlers=handlers,
                          handler_problem=problem,
                          kernel_version=kernel if kernel and drbd_version.syntax_of(kernel) == syntax else None)
    if problem or (syntax == "9" and any(n.node_id is None for n in args.nodes)):
        return facts
    candidate = render_resource(args, syntax, handlers)
    # drbdadm reads the candidate from stdin: checked for syntax, values and that this
    # host is one of the `on` sections, before anything is written
    env = facts.drbdadm_env
    dump = ctx.runner.run(["drbdadm", "-c", "-", "dump", args.name], input=candidate, env=env)
    facts.candidate_error = None if dump.ok else drbd_error(dump.stderr)
    if facts.candidate_error:
        return facts
    if text is not None and text != candidate:
        existing = ctx.runner.run(["drbdadm", "-c", "-", "dump", args.name], input=text, env=env)
        facts.same_meaning = existing.ok and _dumped(existing.stdout) == _dumped(dump.stdout)
    if args.create_md and (live.status is None):
        md = ctx.runner.run(["drbdadm", "-c", "-", "dump-md", args.name], input=candidate, env=env)
        try:
            facts.metadata = metadata_state(md.rc, md.stderr)
        except ValueError as exc:
            facts.metadata_error = str(exc)
    if live.status is not None and (text == candidate or facts.same_meaning):
        dry = ctx.runner.run(_drbdadm(facts, "-d", "adjust", args.name), env=env)
        facts.adjust_pending = [line for line in dry.stdout.splitlines() if line.strip()]
    return facts


@state_function("drbd.resource", ResourceArgs, facts=resource_facts)
def resource(args: ResourceArgs, facts: ResourceFacts) -> Plan:
    """Resource file written in the node's DRBD syntax (after drbdadm accepted it), metadata
    created once, resource up/adjusted."""
    if facts.handler_problem:
        raise Refuse(f"{args.name}: {facts.handler_problem}")
    if facts.syntax == "9" and any(n.node_id is None for n in args.nodes):
        raise Refuse(f"{args.name}: DRBD 9 needs node_id on every node ({facts.syntax_source})")
    if facts.candidate_error:
        raise Refuse(f"drbdadm dump rejects the DRBD {facts.syntax} configuration of {args.name} "
                     f"({facts.syntax_source}): {facts.candidate_error}")
    content = render_resource(args, facts.syntax, facts.handlers)
    env = facts.drbdadm_env
    steps: list = []
    changes: dict = {}
    if facts.file_text != content and not facts.same_meaning:
        steps.append(WriteFileStep(description=f"write {args.path}", path=args.path, content=content.encode(),
                                   makedirs=True))
        changes["diff"] = "".join(difflib.unified_diff((facts.file_text or "").splitlines(keepends=True),
                                                       content.splitlines(keepends=True), args.path, args.path))
    if args.create_md:
        if facts.metadata_error:
            raise Refuse(f"cannot read the DRBD metadata on {args.disk}: {facts.metadata_error}")
        if facts.metadata == "absent":
            # stdin is empty, not a TTY: drbdmeta refuses instead of asking when it finds a
            # file system or old metadata in the way, so existing data is never overwritten
            steps.append(CommandStep(description=f"create DRBD metadata on {args.disk}",
                                     argv=_drbdadm(facts, "create-md", args.name), stdin="", env=env))
            changes["metadata"] = "created"
    if args.up:
        _require_kernel(args.name, facts)
        if facts.status is None:
            steps.append(CommandStep(description=f"bring {args.name} up", argv=_drbdadm(facts, "up", args.name), env=env))
            changes["up"] = True
        elif (facts.file_text != content and not facts.same_meaning) or facts.adjust_pending:
            steps.append(CommandStep(description=f"adjust {args.name} to its configuration",
                                     argv=_drbdadm(facts, "adjust", args.name), env=env))
            changes["adjust"] = facts.adjust_pending or ["configuration changed"]
    return Plan(steps=steps, changes=changes, comment=f"DRBD resource {args.name} is configured (DRBD {facts.syntax}: {facts.syntax_source})")


# ---- drbd.role / drbd.healthy --------------------------------------------------------------


class RoleArgs(ResourceNamed):
    role: Literal["primary", "secondary"]


def live_facts(args: ResourceNamed, ctx: StateContext) -> LiveFacts:
    return observe_live(args.name, args.config, ctx)


def _require_up(name: str, facts: LiveFacts) -> ResourceStatus:
    _require_kernel(name, facts)
    if facts.status is None:
        raise Refuse(f"DRBD resource {name} is not up")
    return facts.status


@state_function("drbd.role", RoleArgs, facts=live_facts)
def role(args: RoleArgs, facts: LiveFacts) -> Plan:
    """Resource ``name`` in the ``primary`` or ``secondary`` role."""
    status = _require_up(args.name, facts)
    if status.role.lower() == args.role:
        return Plan(comment=f"{args.name} is {status.role}")
    return Plan(
        steps=[CommandStep(description=f"make {args.name} {args.role}", argv=_drbdadm(facts, args.role, args.name))],
        changes={"role": {"old": status.role, "new": args.role.capitalize()}},
    )


@state_function("drbd.healthy", ResourceNamed, facts=live_facts)
def healthy(args: ResourceNamed, facts: LiveFacts) -> Plan:
    """Check only: Connected and UpToDate/UpToDate on every volume and peer; fails naming what is not."""
    status = _require_up(args.name, facts)
    problems = status.problems()
    if problems:
        raise Refuse(f"DRBD resource {args.name} is not healthy: " + "; ".join(problems))
    return Plan(comment=f"healthy: {status.summary()}")


# ---- drbd.dopd_permissions -------------------------------------------------------------


class DopdArgs(StateArgs):
    group: str = "haclient"
    binaries: list[str] = ["/sbin/drbdsetup", "/sbin/drbdmeta"]
    config_paths: list[str] = ["/etc/drbd.conf", "/etc/drbd.d"]


class PathAttrs(BaseModel):
    mode: int
    group: str
    is_dir: bool


class DopdFacts(Facts):
    group_exists: bool
    binaries: dict[str, PathAttrs]
    config: dict[str, PathAttrs]  # every config file and directory, recursively
    missing: list[str]


def _attrs(path: str) -> PathAttrs:
    st = os.stat(path)  # follows symlinks, as chmod/chgrp do
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    return PathAttrs(mode=stat.S_IMODE(st.st_mode), group=group, is_dir=stat.S_ISDIR(st.st_mode))


def dopd_facts(args: DopdArgs, ctx: StateContext) -> DopdFacts:
    missing: list[str] = []
    binaries: dict[str, PathAttrs] = {}
    config: dict[str, PathAttrs] = {}
    for node_path in args.binaries:
        real = ctx.runner.path(node_path)
        if real.exists():
            binaries[node_path] = _attrs(str(real))
        else:
            missing.append(node_path)
    for node_path in args.config_paths:
        real = ctx.runner.path(node_path)
        if not real.exists():
            missing.append(node_path)
            continue
        config[node_path] = _attrs(str(real))
        if real.is_dir():
            for dirpath, dirnames, filenames in os.walk(real):
                for entry in sorted(dirnames + filenames):
                    full = os.path.join(dirpath, entry)
                    config[node_path + full[len(str(real)):]] = _attrs(full)
    try:
        grp.getgrnam(args.group)
        exists = True
    except KeyError:
        exists = False
    return DopdFacts(group_exists=exists, binaries=binaries, config=config, missing=missing)


def dopd_modes(facts: DopdFacts) -> dict[str, int]:
    """The mode each path should have: binaries u+s,o-x; config files g+r; directories g+rx."""
    wanted = {p: (a.mode | stat.S_ISUID) & ~stat.S_IXOTH for p, a in facts.binaries.items()}
    # the seed's `chmod -R g+r` alone leaves the directory unsearchable for the group;
    # dopd must open the files inside, so directories get g+x too
    wanted.update({p: a.mode | stat.S_IRGRP | (stat.S_IXGRP if a.is_dir else 0) for p, a in facts.config.items()})
    return wanted


@state_function("drbd.dopd_permissions", DopdArgs, facts=dopd_facts)
def dopd_permissions(args: DopdArgs, facts: DopdFacts) -> Plan:
    """dopd may run drbdsetup/drbdmeta as root (group ``group``, setuid, o-x) and read the DRBD config."""
    if not facts.group_exists:
        raise Refuse(f"group {args.group} does not exist (the cluster stack creates it)")
    if facts.missing:
        raise Refuse(f"not found: {', '.join(facts.missing)}")
    current = {**facts.binaries, **facts.config}
    steps: list = []
    changes: dict = {}
    for path, mode in dopd_modes(facts).items():
        attrs = current[path]
        change: dict = {}
        if attrs.mode != mode:
            change["mode"] = {"old": f"{attrs.mode:04o}", "new": f"{mode:04o}"}
        if attrs.group != args.group:
            change["group"] = {"old": attrs.group, "new": args.group}
        if change:
            # chgrp clears the setuid bit, so the step sets the group first, then the mode
            steps.append(SetAttrsStep(description=f"{path}: group {args.group}, mode {mode:04o}", path=path,
                                      group=args.group, mode=mode))
            changes[path] = change
    return Plan(steps=steps, changes=changes, comment="dopd permissions are in place")
