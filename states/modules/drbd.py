"""DRBD 9 states: resource files, metadata, up/adjust, role, health, dopd permissions.

* ``drbd.resource`` — ``/etc/drbd.d/NAME.res`` rendered from arguments (device, disk,
  protocol C, peers on the replication network, resource-level fencing with the
  Pacemaker handlers as in the seed), checked by the real ``drbdadm dump`` *before* it is
  written; metadata created once (``create-md`` only when ``drbdadm dump-md`` finds none);
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
from saline.states.system.drbd import ResourceStatus, drbd_error, metadata_state, parse_events2

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
    node_id: int = Field(ge=0, le=31)


class ResourceArgs(ResourceNamed):
    device: DrbdDevice
    disk: BlockDevice
    meta_disk: MetaDisk = "internal"
    protocol: Literal["A", "B", "C"] = "C"
    fencing: Literal["dont-care", "resource-only", "resource-and-stonith"] = "resource-only"
    handlers: dict[str, str] = Field(default_factory=lambda: dict(SEED_HANDLERS))
    nodes: list[DrbdNode] = Field(min_length=2)
    create_md: bool = True
    up: bool = True

    @field_validator("handlers")
    @classmethod
    def _handlers(cls, v: dict[str, str]) -> dict[str, str]:
        for key, cmd in v.items():
            if not HANDLER.match(key):
                raise ValueError(f"{key!r} is not a handler name")
            if not cmd.startswith("/") or any(c in cmd for c in '"\\;\n'):
                raise ValueError(f"handler {key}: {cmd!r} must be an absolute path without quotes or ';'")
        return v

    @model_validator(mode="after")
    def _unique_nodes(self) -> "ResourceArgs":
        for what in ("name", "node_id", "address"):
            values = [getattr(n, what) for n in self.nodes]
            if len(set(values)) != len(values):
                raise ValueError(f"nodes: duplicate {what}")
        return self

    @property
    def path(self) -> str:
        return f"{os.path.dirname(self.config)}/drbd.d/{self.name}.res"


def render_resource(args: ResourceArgs) -> str:
    lines = [
        "# Managed by saline (drbd.resource): changes made here are overwritten.",
        f"resource {args.name} {{",
        f"    device {args.device};",
        f"    disk {args.disk};",
        f"    meta-disk {args.meta_disk};",
        "    net {",
        f"        protocol {args.protocol};",
        f"        fencing {args.fencing};",
        "    }",
    ]
    if args.handlers:
        lines.append("    handlers {")
        lines += [f'        {key} "{cmd}";' for key, cmd in args.handlers.items()]
        lines.append("    }")
    for node in args.nodes:
        lines += [
            f"    on {node.name} {{",
            f"        node-id {node.node_id};",
            f"        address {node.address}:{node.port};",
            "    }",
        ]
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
    candidate_error: str | None = None  # what `drbdadm dump` said about the rendered file
    metadata: Literal["present", "absent", "in-use"] | None = None
    metadata_error: str | None = None
    adjust_pending: list[str] = Field(default_factory=list)


def resource_facts(args: ResourceArgs, ctx: StateContext) -> ResourceFacts:
    target = ctx.runner.path(args.path)
    text = target.read_text() if target.exists() else None
    candidate = render_resource(args)
    # drbdadm reads the candidate from stdin: checked for syntax, values and that this
    # host is one of the `on` sections, before anything is written
    dump = ctx.runner.run(["drbdadm", "-c", "-", "dump", args.name], input=candidate)
    live = observe_live(args.name, args.config, ctx) if args.up else LiveFacts(
        config_file=str(ctx.runner.path(args.config)), kernel=False)
    facts = ResourceFacts(**live.model_dump(), file_text=text,
                          candidate_error=None if dump.ok else drbd_error(dump.stderr))
    if facts.candidate_error:
        return facts
    if args.create_md and (live.status is None):
        md = ctx.runner.run(["drbdadm", "-c", "-", "dump-md", args.name], input=candidate)
        try:
            facts.metadata = metadata_state(md.rc, md.stderr)
        except ValueError as exc:
            facts.metadata_error = str(exc)
    if live.status is not None and text == candidate:
        dry = ctx.runner.run(_drbdadm(facts, "-d", "adjust", args.name))
        facts.adjust_pending = [line for line in dry.stdout.splitlines() if line.strip()]
    return facts


@state_function("drbd.resource", ResourceArgs, facts=resource_facts)
def resource(args: ResourceArgs, facts: ResourceFacts) -> Plan:
    """Resource file written (after drbdadm accepted it), metadata created once, resource up/adjusted."""
    if facts.candidate_error:
        raise Refuse(f"drbdadm dump rejects the configuration of {args.name}: {facts.candidate_error}")
    content = render_resource(args)
    steps: list = []
    changes: dict = {}
    if facts.file_text != content:
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
                                     argv=_drbdadm(facts, "create-md", args.name), stdin=""))
            changes["metadata"] = "created"
    if args.up:
        _require_kernel(args.name, facts)
        if facts.status is None:
            steps.append(CommandStep(description=f"bring {args.name} up", argv=_drbdadm(facts, "up", args.name)))
            changes["up"] = True
        elif facts.file_text != content or facts.adjust_pending:
            steps.append(CommandStep(description=f"adjust {args.name} to its configuration",
                                     argv=_drbdadm(facts, "adjust", args.name)))
            changes["adjust"] = facts.adjust_pending or ["configuration changed"]
    return Plan(steps=steps, changes=changes, comment=f"DRBD resource {args.name} is configured")


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
