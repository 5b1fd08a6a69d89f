"""Reading LXC on a node: container state (``lxc-info``), the host's cgroup version,
the fixed MAC saline gives a container, and whether Pacemaker owns a container (an
``ocf:heartbeat:lxc`` primitive in the CIB with ``container=NAME``)."""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel

from saline.states.engine.runner import Runner
from saline.states.system.cib import QUERY_ARGV

DEFAULT_LXCPATH = "/var/lib/lxc"
ONDISK_CIB = "/var/lib/pacemaker/cib/cib.xml"
# lxc-create's own rule is looser; this one is safe as a path component and an argv word.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")

ContainerState = Literal["RUNNING", "STOPPED", "FROZEN", "STARTING", "STOPPING", "ABORTING", "FREEZING", "THAWED", "absent"]


def check_container_name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(f"{value!r} is not a container name (letters, digits, _ . -, not starting with a symbol, at most 64)")
    return value


def check_mac(value: str) -> str:
    value = value.lower()
    if not _MAC.match(value):
        raise ValueError(f"{value!r} is not a MAC address like 02:1a:2b:3c:4d:5e")
    if int(value[:2], 16) & 1:
        raise ValueError(f"{value!r} is a multicast address: a container needs a unicast MAC")
    return value


ContainerName = Annotated[str, AfterValidator(check_container_name)]
Mac = Annotated[str, AfterValidator(check_mac)]


def fixed_hwaddr(name: str) -> str:
    """A MAC that depends on the container name only: the same on both nodes, so a failover
    keeps it and the neighbours' ARP caches stay right (the seed's MAC/ARP problem).
    ``02`` = locally administered unicast; 40 bits of SHA-256 of the name follow."""
    digest = hashlib.sha256(name.encode()).digest()[:5]
    return "02:" + ":".join(f"{b:02x}" for b in digest)


def cgroup_version(runner: Runner) -> Literal["v1", "v2"]:
    """v2 when /sys/fs/cgroup is the unified hierarchy; v1 for legacy and hybrid layouts
    (LXC puts v1 controller limits on the v1 hierarchies there)."""
    return "v2" if runner.path("/sys/fs/cgroup/cgroup.controllers").exists() else "v1"


def state(runner: Runner, lxcpath: str, name: str) -> ContainerState:
    """``lxc-info -s -H``; a container LXC does not know is ``absent``."""
    result = runner.run(["lxc-info", "-P", lxcpath, "-n", name, "-s", "-H"], timeout=30)
    if result.rc != 0:
        said = result.stdout + result.stderr
        if "doesn't exist" in said or "does not exist" in said:
            return "absent"
        raise RuntimeError(result.describe())
    text = result.stdout.strip().upper()
    return text if text in ContainerState.__args__ else "absent"  # type: ignore[attr-defined, return-value]


class PacemakerOwner(BaseModel):
    resource: str  # the primitive's id
    source: Literal["live", "on-disk"]


class ClusterView(BaseModel):
    """What the CIB says about one container and its config space."""

    owner: PacemakerOwner | None = None  # the ocf:heartbeat:lxc primitive with container=NAME
    lxcpath_resource: str | None = None  # the Filesystem primitive that mounts the lxcpath (the seed's /lxc1)


def _primitive_with(root: ET.Element, type_: str, param: str, value: str) -> str | None:
    for prim in root.iter("primitive"):
        if prim.get("type") != type_ or prim.get("provider") not in (None, "heartbeat"):
            continue
        for nv in prim.iter("nvpair"):
            if nv.get("name") == param and nv.get("value") == value:
                return prim.get("id")
    return None


def _cib(runner: Runner) -> tuple[str, Literal["live", "on-disk"]] | None:
    """The live CIB, or the node's on-disk CIB when no cluster runs here (it applies once it starts)."""
    if runner.which("cibadmin") is None:
        return None
    result = runner.run(QUERY_ARGV, timeout=30)
    if result.rc == 0:
        return result.stdout, "live"
    ondisk = runner.path(ONDISK_CIB)
    if ondisk.exists():
        return Path(ondisk).read_text(errors="replace"), "on-disk"
    return None


def cluster_view(runner: Runner, name: str, lxcpath: str) -> ClusterView:
    found = _cib(runner)
    if found is None:
        return ClusterView()
    root = ET.fromstring(found[0])
    owner = _primitive_with(root, "lxc", "container", name)
    return ClusterView(owner=PacemakerOwner(resource=owner, source=found[1]) if owner else None,
                       lxcpath_resource=_primitive_with(root, "Filesystem", "directory", lxcpath))


def pacemaker_owner(runner: Runner, name: str) -> PacemakerOwner | None:
    return cluster_view(runner, name, "").owner


# ---- the containers on a node (facts.items) -------------------------------------------------

MAX_LISTED = 256  # a node runs a handful of containers; bound the cost of a facts call


class ContainerFacts(BaseModel):
    name: str
    lxcpath: str
    state: str  # lxc-info's state, "unknown" when LXC cannot tell
    config: str
    hwaddr: str | None
    rootfs: str | None


def lxcpaths(runner: Runner) -> list[str]:
    """LXC's default path and the seed's /lxc1, /lxc2 … (the Pacemaker-mounted config spaces)."""
    found = [DEFAULT_LXCPATH]
    root = runner.path("/")
    found += sorted("/" + p.name for p in root.glob("lxc*") if p.is_dir() and re.match(r"^lxc\d*$", p.name))
    return found


def containers(runner: Runner) -> list[ContainerFacts]:
    from saline.states.system.lxcconf import ConfigError, LxcConfig

    listed: list[ContainerFacts] = []
    for lxcpath in lxcpaths(runner):
        base = runner.path(lxcpath)
        if not base.is_dir():
            continue
        for config in sorted(base.glob("*/config")):
            if len(listed) >= MAX_LISTED or not _NAME.match(config.parent.name):
                continue
            try:
                parsed = LxcConfig.parse(config.read_text(errors="replace"))
            except (ConfigError, OSError):
                parsed = LxcConfig()
            name = config.parent.name
            try:
                # lxc-info is given the path as this process sees it (a test's state root).
                current = state(runner, str(base), name) if runner.which("lxc-info") else "unknown"
            except RuntimeError:
                current = "unknown"
            listed.append(ContainerFacts(name=name, lxcpath=lxcpath, state=current, config=f"{lxcpath}/{name}/config",
                                         hwaddr=parsed.get("lxc.net.0.hwaddr") or parsed.get("lxc.network.hwaddr"),
                                         rootfs=parsed.get("lxc.rootfs.path") or parsed.get("lxc.rootfs")))
    return listed
