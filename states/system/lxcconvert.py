"""Old LXC config keys (0.7 … 2.x) → LXC 3+ keys, and cgroup v1 limits → cgroup v2.

The renames are the ones ``lxc-update-config`` (LXC 5.0) makes, checked against it in the
tests. Where that script is wrong, saline departs and says so:

* ``lxc.rootfs = /dev/vg/www`` becomes ``lxc.rootfs.path = /dev/vg/www``: the script
  writes ``dir:/dev/vg/www`` whenever no ``lxc.rootfs.backend`` is given, which makes LXC
  treat a block device as a directory. A plain path lets LXC detect the storage type.
* an indexed ``lxc.network.0.ipv4 = …`` becomes ``lxc.net.0.ipv4.address`` (the script
  leaves ``lxc.net.0.ipv4``, which LXC 3+ refuses).

Keys that are neither current LXC keys nor convertible are reported by name and kept:
nothing is dropped silently. The three obsolete keys the script deletes
(``lxc.rootfs.backend``, ``lxc.pivotdir``, ``lxc.kmsg``) are removed and reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from saline.states.system.lvm import human, parse_size
from saline.states.system.lxcconf import Line, LxcConfig

RENAMES = {
    "lxc.id_map": "lxc.idmap",
    "lxc.pts": "lxc.pty.max",
    "lxc.tty": "lxc.tty.max",
    "lxc.devttydir": "lxc.tty.dir",
    "lxc.aa_profile": "lxc.apparmor.profile",
    "lxc.aa_allow_incomplete": "lxc.apparmor.allow_incomplete",
    "lxc.se_context": "lxc.selinux.context",
    "lxc.mount": "lxc.mount.fstab",
    "lxc.utsname": "lxc.uts.name",
    "lxc.seccomp": "lxc.seccomp.profile",
    "lxc.console": "lxc.console.path",
    "lxc.haltsignal": "lxc.signal.halt",
    "lxc.rebootsignal": "lxc.signal.reboot",
    "lxc.stopsignal": "lxc.signal.stop",
    "lxc.syslog": "lxc.log.syslog",
    "lxc.loglevel": "lxc.log.level",
    "lxc.logfile": "lxc.log.file",
    "lxc.init_cmd": "lxc.init.cmd",
    "lxc.init_uid": "lxc.init.uid",
    "lxc.init_gid": "lxc.init.gid",
    "lxc.limit": "lxc.prlimit",
}
OBSOLETE = ("lxc.rootfs.backend", "lxc.pivotdir", "lxc.kmsg")

# The keys LXC 5.0 accepts (lxc.container.conf(5) and liblxc's key table).
_KNOWN = re.compile(
    r"^lxc\.("
    r"arch|autodev|autodev\.tmpfs\.size|ephemeral|environment|include|idmap|no_new_privs|keyring\.session|sched\.core"
    r"|uts\.name|tty\.max|tty\.dir|pty\.max|console\.(path|logfile|rotate|buffer\.size|size)"
    r"|rootfs\.(path|mount|options|managed)|mount\.(entry|fstab|auto)"
    r"|cap\.(drop|keep)|apparmor\.(profile|allow_incomplete|allow_nesting|raw)|selinux\.context(\.keyring)?"
    r"|seccomp\.(profile|allow_nesting|notify\.proxy|notify\.cookie)"
    r"|cgroup\.[a-z_]+\.[a-z0-9_.]+|cgroup\.(dir|dir\.container|dir\.container\.inner|dir\.monitor|dir\.monitor\.pivot|relative)"
    r"|cgroup2\.[a-z_]+\.[a-z0-9_.]+"
    r"|net\.\d+\.(type|flags|link|name|hwaddr|mtu|l2proxy|script\.up|script\.down|veth\.pair|veth\.mode|veth\.vlan\.id"
    r"|veth\.vlan\.tagged\.id|veth\.ipv4\.route|veth\.ipv6\.route|macvlan\.mode|ipvlan\.mode|ipvlan\.isolation|vlan\.id"
    r"|ipv4\.address|ipv4\.gateway|ipv6\.address|ipv6\.gateway)"
    r"|hook\.(pre-start|pre-mount|mount|autodev|start|start-host|stop|post-stop|clone|destroy|version)"
    r"|init\.(cmd|cwd|uid|gid|groups)|execute\.cmd|signal\.(halt|reboot|stop)|log\.(file|level|syslog)"
    r"|start\.(auto|delay|order)|group|monitor\.(unshare|signal\.pdeath)|namespace\.(clone|keep|share\.[a-z]+)"
    r"|prlimit\.[a-z]+|sysctl\.[a-z0-9_.\-]+|proc\.[a-z0-9_./\-]+|time\.offset\.(boot|monotonic)"
    r")$"
)

CgroupVersion = Literal["v1", "v2"]


def is_known(key: str) -> bool:
    return bool(_KNOWN.match(key))


@dataclass
class Conversion:
    config: LxcConfig
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (old key, new key), once each
    removed: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # kept as they are; LXC will refuse them

    @property
    def changed(self) -> bool:
        return bool(self.renamed or self.removed)


def _network_key(key: str, index: int) -> str | None:
    """``lxc.network[.N].sub`` → ``lxc.net.N.sub`` (``ipv4``/``ipv6`` alone are addresses)."""
    m = re.match(r"^lxc\.network(?:\.(\d+))?(?:\.(.+))?$", key)
    if not m or m.group(2) is None:
        return None
    idx = int(m.group(1)) if m.group(1) is not None else index
    if idx < 0:
        return None
    sub = m.group(2)
    if sub in ("ipv4", "ipv6"):
        sub += ".address"
    return f"lxc.net.{idx}.{sub}"


def _line(key: str, value: str) -> Line:
    return Line(f"{key} = {value}", key, value)


def cpu_weight(shares: int) -> int:
    """cgroup v1 ``cpu.shares`` → v2 ``cpu.weight``, proportionally: the defaults (1024 and
    100) map onto each other, so a container keeps its share next to default processes."""
    return max(1, min(10000, round(shares * 100 / 1024)))


def _cgroup_v2(config: LxcConfig) -> tuple[dict[str, list[Line]], list[str]]:
    """Replacement lines for each v1 cgroup key (by key), and v1 keys with no v2 equivalent."""
    out: dict[str, list[Line]] = {}
    unknown: list[str] = []
    memory = config.get("lxc.cgroup.memory.limit_in_bytes")
    for key in dict.fromkeys(k for k in config.keys() if k.startswith("lxc.cgroup.")):
        sub = key.removeprefix("lxc.cgroup.")
        value = config.get(key) or ""
        if sub == "memory.limit_in_bytes":
            out[key] = [_line("lxc.cgroup2.memory.max", value)]
        elif sub == "memory.memsw.limit_in_bytes":
            # v1 limits memory+swap together; v2 limits swap alone.
            if memory is None:
                unknown.append(key)
                continue
            out[key] = [_line("lxc.cgroup2.memory.swap.max", human(max(0, parse_size(value) - parse_size(memory))))]
        elif sub == "cpu.shares":
            out[key] = [_line("lxc.cgroup2.cpu.weight", str(cpu_weight(int(value))))]
        elif sub in ("cpuset.cpus", "cpuset.mems", "pids.max"):
            out[key] = [_line(f"lxc.cgroup2.{sub}", value)]
        elif sub in ("devices.allow", "devices.deny"):
            out[key] = [_line(f"lxc.cgroup2.{sub}", v) for v in config.values(key)]
        elif sub.count(".") >= 1 and sub.split(".")[0] in ("memory", "cpu", "cpuset", "blkio", "pids", "devices", "freezer", "cpuacct", "net_cls", "hugetlb"):
            unknown.append(key)
    return out, unknown


def convert(config: LxcConfig, cgroup: CgroupVersion = "v1") -> Conversion:
    """Rename old keys line by line (comments and order kept); with ``cgroup="v2"`` also
    replace v1 cgroup limits by their v2 equivalents."""
    backend = config.get("lxc.rootfs.backend")
    lines: list[Line] = []
    renamed: dict[tuple[str, str], None] = {}
    removed: dict[str, None] = {}
    unknown: dict[str, None] = {}
    index = -1
    v2_lines, v2_unknown = _cgroup_v2(config) if cgroup == "v2" else ({}, [])
    unknown.update(dict.fromkeys(v2_unknown))
    replaced = set(v2_lines)
    for ln in config.lines:
        key = ln.key
        if key is None:
            lines.append(ln)
            continue
        if key in OBSOLETE:
            removed[key] = None
            continue
        new_key: str | None = None
        value = ln.value or ""
        if key == "lxc.network.type":
            index += 1
        if key == "lxc.rootfs":
            new_key = "lxc.rootfs.path"
            value = f"{backend}:{value}" if backend else value
        elif key in RENAMES:
            new_key = RENAMES[key]
        elif key.startswith("lxc.network."):
            new_key = _network_key(key, index)
            if new_key is None:
                unknown[key] = None
        elif key in v2_lines:
            replacement = v2_lines.pop(key)  # all lines of a list key are replaced at its first line
            lines.extend(replacement)
            renamed[(key, replacement[0].key or "")] = None
            continue
        elif key in replaced:
            continue  # a later line of a list key, replaced together with its first line
        if new_key is None:
            if not is_known(key):
                unknown[key] = None
            lines.append(ln)
            continue
        if not is_known(new_key):
            unknown[new_key] = None  # renamed like lxc-update-config does, but LXC 3+ has no such key
        renamed[(key, new_key)] = None
        lines.append(_line(new_key, value))
    return Conversion(LxcConfig(lines), list(renamed), list(removed), list(unknown))
