"""A real two-node Corosync 3 + Pacemaker 2 cluster on one machine, in namespaces.

Each node is a persistent set of network + mount + UTS namespaces:

* network: ``ip netns`` named ``{prefix}-{node}``; ``eth1`` is one end of a veth pair
  joining the two nodes (the cluster/replication link, Corosync knet ring0), ``eth0``
  is one end of a second veth pair, enslaved to the node's ``br0`` bridge (the seed's
  external bridge) which carries the node's public address;
* mount + UTS: namespace handles bind-mounted onto files under ``{state_dir}/ns`` (the
  trick ``ip netns`` uses), so a node outlives its processes: ``kill`` then ``start``
  restarts the daemons in the same namespaces. Inside, the node has its own hostname,
  its own Corosync/Pacemaker directories (bind mounts of ``{state_dir}/{node}/root/...``),
  its own ``/etc/hosts`` and private tmpfs on ``/run`` and ``/dev/shm`` (mandatory:
  resource agents keep their state in ``/run`` and libqb its rings in ``/dev/shm``).
  ``/tmp`` stays the host's: a saline checkout (and its virtualenv) under ``/tmp`` must be
  visible inside the nodes for ``start_agent`` to run it.

``{shared_dir}`` (default ``/var/lib/{prefix}``) is the same directory on the host and
in both nodes: alert scripts, agent configs and a master's ``ipc://`` socket live there
(ZeroMQ ipc endpoints are path sockets, which work across network namespaces).

A node's processes are the processes in its network, mount or UTS namespace and their
descendants (so also one that unshared its own netns inside the node), which is how
``kill``/``stop``/``down`` find daemons, resource agents and agents started with
:meth:`Lab.start_agent` (zombies have no namespace and are correctly ignored).

The recipe, gotchas and timings this follows are in ``../shared/lab/NOTES.md``.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shlex
import shutil
import signal
import sys
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import BaseModel

from saline.states.engine.runner import CommandError, CommandResult, Runner

log = logging.getLogger("saline.lab")

NODES = ("node1", "node2")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Node directories that get a private copy (bind mount of {state_dir}/{node}/root/<dir>).
NODE_DIRS = (
    "/etc/corosync",
    "/var/lib/corosync",
    "/var/log/corosync",
    "/var/lib/pacemaker",
    "/var/log/pacemaker",
    "/var/lib/heartbeat",
    "/var/lib/pcsd",
)
PACEMAKER_SUBDIRS = ("cib", "pengine", "blackbox", "cores")


class LabError(RuntimeError):
    pass


class NodeStatus(BaseModel):
    name: str
    namespaces: bool
    pids: list[int]
    corosync: bool
    pacemaker: bool
    online: bool | None = None  # as seen from this node's crm_mon; None when not running
    dc: str | None = None


class LabStatus(BaseModel):
    state_dir: str
    prefix: str
    exists: bool
    nodes: list[NodeStatus]


def _run(argv: Sequence[str], *, check: bool = True, timeout: float = 60.0) -> CommandResult:
    result = Runner(env={"PATH": PATH}, timeout=timeout).run(argv)
    if check and result.rc != 0:
        raise CommandError(result)
    return result


def _poll(what: str, ready: Callable[[], bool], timeout: float, interval: float = 0.1) -> float:
    """Poll ``ready`` until true; returns the seconds it took. Raises LabError on timeout."""
    started = time.monotonic()
    while True:
        if ready():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise LabError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def corosync_conf(cluster_name: str, addresses: Mapping[str, str], token: int) -> str:
    """The lab's corosync.conf (knet, no crypto, two_node). Nothing after '{' on a line:
    corosync's parser rejects it (NOTES.md gotcha 1)."""
    nodes = "".join(
        f"    node {{\n        name: {name}\n        nodeid: {i}\n        ring0_addr: {addr}\n    }}\n"
        for i, (name, addr) in enumerate(addresses.items(), start=1)
    )
    return (
        "totem {\n    version: 2\n"
        f"    cluster_name: {cluster_name}\n"
        "    transport: knet\n"
        f"    token: {token}\n"
        "    crypto_cipher: none\n    crypto_hash: none\n}\n"
        f"nodelist {{\n{nodes}}}\n"
        "quorum {\n    provider: corosync_votequorum\n    two_node: 1\n}\n"
        "logging {\n    to_logfile: yes\n    logfile: /var/log/corosync/corosync.log\n"
        "    to_stderr: no\n    to_syslog: no\n    timestamp: on\n}\n"
    )


def seed_cib(dc_deadtime: str) -> str:
    """A minimal CIB with dc-deadtime pre-set: the cluster elects a DC in ~5 s instead of
    ~25 s (NOTES.md, measured). The missing cib.xml.sig only causes a warning."""
    return (
        '<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">\n'
        "  <configuration>\n    <crm_config>\n"
        '      <cluster_property_set id="cib-bootstrap-options">\n'
        f'        <nvpair id="cib-bootstrap-options-dc-deadtime" name="dc-deadtime" value="{dc_deadtime}"/>\n'
        "      </cluster_property_set>\n    </crm_config>\n"
        "    <nodes/>\n    <resources/>\n    <constraints/>\n  </configuration>\n  <status/>\n</cib>\n"
    )


def _ns_id(path: Path | str) -> tuple[int, int] | None:
    """Identity of the namespace behind an nsfs handle (``/proc/PID/ns/net``, an ``ip netns``
    file, a bind-mounted handle), or None when ``path`` is not one (missing, or a plain file)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if st.st_dev == _nsfs_dev() else None


@functools.cache
def _nsfs_dev() -> int:
    return os.stat("/proc/self/ns/net").st_dev


def _processes() -> dict[int, tuple[int, set[tuple[int, int]]]]:
    """pid → (parent pid, {namespace identities of net, mnt, uts}) for every live process.
    Zombies have no namespaces and are left out, as are processes that exit meanwhile."""
    procs = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
            ns = {_ns_id(f"/proc/{entry.name}/ns/{kind}") for kind in ("net", "mnt", "uts")} - {None}
        except (OSError, ValueError, IndexError):
            continue
        if ns:
            procs[int(entry.name)] = (ppid, ns)
    return procs


def _ignore_vanished(func, path, exc_info) -> None:
    if not issubclass(exc_info[0], FileNotFoundError):
        raise exc_info[1]


class Lab:
    def __init__(
        self,
        state_dir: str | Path = "/run/saline-lab",
        prefix: str = "saline-lab",
        *,
        shared_dir: str | Path | None = None,
        nodes: Sequence[str] = NODES,
        cluster_net: str = "10.77.0",
        public_net: str = "10.78.0",
        token: int = 1000,
        dc_deadtime: str = "2s",
        cluster_name: str = "salinelab",
    ):
        if len(nodes) != 2:
            raise ValueError("the lab has exactly two nodes")
        self.state_dir = Path(state_dir)
        self.prefix = prefix
        self.shared_dir = Path(shared_dir) if shared_dir else Path("/var/lib") / prefix
        self.nodes = tuple(nodes)
        self.cluster_net = cluster_net
        self.public_net = public_net
        self.token = token
        self.dc_deadtime = dc_deadtime
        self.cluster_name = cluster_name

    # ---- names and paths ------------------------------------------------------------

    def netns(self, node: str) -> str:
        self._check_node(node)
        return f"{self.prefix}-{node}"

    def cluster_addr(self, node: str) -> str:
        return f"{self.cluster_net}.{self.nodes.index(node) + 1}"

    def public_addr(self, node: str) -> str:
        return f"{self.public_net}.{self.nodes.index(node) + 1}"

    def node_root(self, node: str) -> Path:
        """Host path whose subdirectories back the node's private dirs (``NODE_DIRS``):
        a Runner with this root maps e.g. /etc/corosync/corosync.conf correctly."""
        self._check_node(node)
        return self.state_dir / node / "root"

    def node_shared_dir(self, node: str) -> Path:
        """A per-node directory visible at the same path on the host and in the node
        (agent config, keys, state)."""
        self._check_node(node)
        return self.shared_dir / node

    def _ns_file(self, node: str, kind: str) -> Path:
        return self.state_dir / "ns" / f"{node}.{kind}"

    def _log(self, node: str, name: str) -> Path:
        return self.state_dir / node / "logs" / name

    def _check_node(self, node: str) -> None:
        if node not in self.nodes:
            raise LabError(f"unknown node {node!r} (the lab has {', '.join(self.nodes)})")

    def nsenter(self, node: str) -> list[str]:
        """The argv prefix that runs a command on ``node`` (all its namespaces)."""
        return [
            "nsenter",
            f"--net=/run/netns/{self.netns(node)}",
            f"--mount={self._ns_file(node, 'mnt')}",
            f"--uts={self._ns_file(node, 'uts')}",
            "--",
        ]

    def exec(self, node: str, argv: Sequence[str], *, check: bool = False, timeout: float = 120.0,
             input: str | None = None, env: Mapping[str, str] | None = None) -> CommandResult:
        result = Runner(env={"PATH": PATH, **(env or {})}, timeout=timeout).run(self.nsenter(node) + list(argv), input=input)
        if check and result.rc != 0:
            raise CommandError(result)
        return result

    def runner(self, node: str, env: Mapping[str, str] | None = None, timeout: float = 120.0) -> Runner:
        """A state Runner whose commands run on ``node`` and whose file paths map into it."""
        return NodeRunner(self, node, env=env, timeout=timeout)

    # ---- lifecycle ------------------------------------------------------------------

    def exists(self) -> bool:
        return self.state_dir.exists() or any(self._netns_exists(n) for n in self.nodes)

    def up(self, timeout: float = 90.0) -> float:
        """Create both nodes, start Corosync + Pacemaker, wait for a DC. Tears down an
        existing lab with the same state dir/prefix first. Returns the seconds taken."""
        started = time.monotonic()
        self.down()
        try:
            self._create_dirs()
            self._start_anchor()
            self._create_network()
            for node in self.nodes:
                self._create_node_namespaces(node)
            with ThreadPoolExecutor(len(self.nodes)) as pool:
                list(pool.map(self._start_daemons, self.nodes))
            self.wait_cluster(timeout=timeout)
        except BaseException:
            # down() works from what exists on disk and in the kernel, so it cleans
            # up after any partial up.
            log.exception("lab up failed; tearing down")
            self.down()
            raise
        took = time.monotonic() - started
        log.info("lab up in %.2fs", took)
        return took

    def down(self) -> None:
        """Stop everything and remove namespaces, mounts and dirs. Safe after a partial up."""
        running = [n for n in self.nodes if self._netns_exists(n) and self.pids(n)]
        if running:
            with ThreadPoolExecutor(len(running)) as pool:
                list(pool.map(lambda n: self.stop(n, graceful_timeout=15.0), running))
        for node in self.nodes:
            if self._netns_exists(node):
                self.kill(node)
        ns_dir = self.state_dir / "ns"
        for node in self.nodes:
            for kind in ("mnt", "uts"):
                self._umount(self._ns_file(node, kind))
        self._umount(ns_dir)
        for node in self.nodes:
            if self._netns_exists(node):
                _run(["ip", "netns", "del", self.netns(node)], check=False)
        netns_marker = self.state_dir / "run-netns-was-mounted"
        undo_netns_mount = netns_marker.exists() and netns_marker.read_text() == "no"
        self._remove_owned(self.state_dir)
        # `ip netns add` self-bind-mounts /run/netns; undo that only if it was our doing
        # and no namespace (ours or anyone's) is left in it.
        if undo_netns_mount and Path("/run/netns").is_dir() and not any(Path("/run/netns").iterdir()):
            self._umount(Path("/run/netns"))
        self._stop_anchor()
        self._remove_owned(self.shared_dir)

    # A directory the lab created carries this file; only such a directory is ever removed,
    # so a mistyped --state-dir or a prefix like "pacemaker" (shared dir /var/lib/pacemaker)
    # cannot wipe the host's data.
    OWNED = ".saline-lab"

    def _own(self, directory: Path) -> None:
        marker = directory / self.OWNED
        if directory.exists() and not marker.exists() and any(directory.iterdir()):
            raise LabError(f"{directory} exists and was not created by the lab; choose another state dir/prefix")
        directory.mkdir(parents=True, exist_ok=True)
        marker.touch()

    def _remove_owned(self, directory: Path) -> None:
        if (directory / self.OWNED).exists():
            # A file that vanishes meanwhile (pacemaker's last pe-input rotation as the node
            # goes) is already what we want; anything else still fails.
            shutil.rmtree(directory, onerror=_ignore_vanished)
        elif directory.exists():
            log.warning("leaving %s: it was not created by the lab", directory)

    def kill(self, node: str) -> None:
        """Crash a node: SIGKILL every process in its network namespace until none is left."""
        def gone() -> bool:
            pids = self.pids(node)
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            return not pids

        _poll(f"{node}'s processes to die", gone, timeout=30.0, interval=0.05)

    def stop(self, node: str, graceful_timeout: float = 30.0) -> float:
        """Graceful stop: ``pacemakerd --shutdown``, then ``corosync-cfgtool -H --force``;
        leftovers are killed. Returns the seconds taken."""
        started = time.monotonic()
        if self._pids_of(node, "pacemakerd"):
            self.exec(node, ["pacemakerd", "--shutdown"], timeout=graceful_timeout)
            try:
                _poll(f"pacemakerd on {node} to exit", lambda: not self._pids_of(node, "pacemakerd"), graceful_timeout)
            except LabError:
                log.warning("pacemaker on %s did not stop in %ss; killing", node, graceful_timeout)
        if self._pids_of(node, "corosync"):
            self.exec(node, ["corosync-cfgtool", "-H", "--force"], timeout=graceful_timeout)
            try:
                _poll(f"corosync on {node} to exit", lambda: not self._pids_of(node, "corosync"), graceful_timeout)
            except LabError:
                log.warning("corosync on %s did not stop in %ss; killing", node, graceful_timeout)
        self.kill(node)
        return time.monotonic() - started

    def start(self, node: str, timeout: float = 90.0) -> float:
        """(Re)start a node's daemons in its existing namespaces and wait until it has
        rejoined (both running nodes online, a DC). Returns the seconds taken."""
        started = time.monotonic()
        if not self._netns_exists(node):
            raise LabError(f"{node} does not exist; run up first")
        if self._pids_of(node, "corosync"):
            raise LabError(f"{node} is already running")
        self._start_daemons(node)
        self.wait_cluster(timeout=timeout)
        return time.monotonic() - started

    # ---- observing ------------------------------------------------------------------

    def pids(self, node: str) -> list[int]:
        """The node's processes: those in its network, mount or UTS namespace, and their
        descendants. A process that left the node's netns (``unshare -n``, a container
        started inside the node) is still the node's, and ``kill``/``down`` must end it."""
        handles = [Path("/run/netns", self.netns(node)), self._ns_file(node, "mnt"), self._ns_file(node, "uts")]
        node_ns = {_ns_id(h) for h in handles} - {None}
        if not node_ns:
            return []
        procs = _processes()
        found = {pid for pid, (ppid, ns) in procs.items() if ns & node_ns}
        children: dict[int, list[int]] = {}
        for pid, (ppid, _) in procs.items():
            children.setdefault(ppid, []).append(pid)
        todo = list(found)
        while todo:
            for child in children.get(todo.pop(), []):
                if child not in found:
                    found.add(child)
                    todo.append(child)
        return sorted(found)

    def _pids_of(self, node: str, comm: str) -> list[int]:
        found = []
        for pid in self.pids(node):
            try:
                if Path(f"/proc/{pid}/comm").read_text().strip() == comm:
                    found.append(pid)
            except OSError:
                pass
        return found

    def running(self, node: str) -> bool:
        return bool(self._pids_of(node, "corosync")) and bool(self._pids_of(node, "pacemakerd"))

    def crm_mon(self, node: str) -> ET.Element | None:
        res = self.exec(node, ["crm_mon", "-1", "--output-as=xml"], timeout=20.0)
        if res.rc != 0:
            return None
        try:
            return ET.fromstring(res.stdout)
        except ET.ParseError:
            return None

    def cluster_view(self, node: str) -> tuple[str | None, dict[str, bool]]:
        """(DC name or None, {node: online}) as seen from ``node``."""
        mon = self.crm_mon(node)
        if mon is None:
            return None, {}
        dc_el = mon.find("./summary/current_dc")
        dc = dc_el.get("name") if dc_el is not None and dc_el.get("present") == "true" else None
        online = {n.get("name", ""): n.get("online") == "true" for n in mon.findall("./nodes/node")}
        return dc, online

    def wait_cluster(self, timeout: float = 90.0) -> float:
        """Wait until every running node sees a DC and all running nodes online."""
        def ready() -> bool:
            running = [n for n in self.nodes if self.running(n)]
            if not running:
                raise LabError("no node is running")
            dcs = set()
            for node in running:
                dc, online = self.cluster_view(node)
                if dc is None or not all(online.get(n) for n in running):
                    return False
                dcs.add(dc)
            # One partition: every running node agrees on the DC.
            return len(dcs) == 1

        return _poll("the cluster (DC elected, running nodes online)", ready, timeout, interval=0.2)

    def resource_location(self, node: str, resource: str) -> list[str]:
        """Nodes where ``resource`` is active, from ``node``'s crm_mon."""
        mon = self.crm_mon(node)
        if mon is None:
            return []
        where = []
        for rsc in mon.iter("resource"):
            if rsc.get("id") == resource and rsc.get("active") == "true":
                where += [n.get("name", "") for n in rsc.findall("node")]
        return where

    def status(self) -> LabStatus:
        nodes = []
        for node in self.nodes:
            ns = self._netns_exists(node) and self._ns_file(node, "mnt").exists()
            corosync = bool(self._pids_of(node, "corosync"))
            pacemaker = bool(self._pids_of(node, "pacemakerd"))
            dc, online = self.cluster_view(node) if ns and corosync and pacemaker else (None, {})
            nodes.append(NodeStatus(
                name=node, namespaces=ns, pids=self.pids(node), corosync=corosync, pacemaker=pacemaker,
                online=online.get(node) if online else None, dc=dc,
            ))
        return LabStatus(state_dir=str(self.state_dir), prefix=self.prefix, exists=self.exists(), nodes=nodes)

    # ---- agents ---------------------------------------------------------------------

    def start_agent(self, node: str, config_path: str | Path, argv: Sequence[str] | None = None) -> int:
        """Start ``saline-agent --config config_path`` inside ``node`` (detached; it is a
        process of the node's netns, so kill/stop/down end it). ``config_path`` must be
        visible in the node, e.g. under :meth:`node_shared_dir`. Returns its pid."""
        if not self.running(node):
            raise LabError(f"{node} is not running")
        # Default: the saline-agent of the Python running the lab (its virtualenv), not
        # whichever one PATH happens to find first.
        beside = Path(sys.executable).parent / "saline-agent"
        argv = list(argv) if argv else [str(beside) if beside.exists() else "saline-agent"]
        exe = shutil.which(argv[0], path=os.environ.get("PATH", PATH)) or argv[0]
        if self.exec(node, ["test", "-x", exe]).rc != 0:
            raise LabError(f"{exe} is not executable inside {node} (is it under a directory the node does not share, "
                           "like /run?)")
        full = [exe, *argv[1:], "--config", str(config_path)]
        # Remembered so a lab reboot starts the node's agent again, as boot would.
        self._agent_record(node).write_text(json.dumps({"config": str(config_path), "argv": argv}))
        self._spawn(node, full, f"{Path(argv[0]).name}.log")
        found: list[int] = []

        def spawned() -> bool:
            found[:] = [pid for pid in self.pids(node) if self._cmdline(pid)[-2:] == full[-2:]]
            return bool(found)

        _poll(f"{argv[0]} on {node} to start", spawned, 10.0, interval=0.05)
        return found[0]

    def _agent_record(self, node: str) -> Path:
        return self.state_dir / node / "agent.json"

    def reboot(self, node: str, timeout: float = 90.0) -> float:
        """What a reboot does to a node, in the lab: its cluster stack stops gracefully
        (``pacemakerd --shutdown``, Corosync), every process of the node ends (its agent
        too), then Corosync, Pacemaker and the agent start again. Returns the seconds taken."""
        started = time.monotonic()
        self.stop(node)
        self.start(node, timeout=timeout)
        record = self._agent_record(node)
        if record.exists():
            agent = json.loads(record.read_text())
            self.start_agent(node, agent["config"], agent["argv"])
        return time.monotonic() - started

    def reboot_command(self, node: str) -> list[str]:
        """The ``reboot_command`` for an agent inside ``node``: enters the host's namespaces
        (those of the lab's anchor process; PID 1's may be closed to us) and runs
        ``saline lab reboot NODE`` detached, so stopping the node does not stop the reboot."""
        saline = Path(sys.executable).parent / "saline"
        log_file = self.node_shared_dir(node) / "reboot.log"
        lab = [str(saline if saline.exists() else "saline"), "lab", "--state-dir", str(self.state_dir),
               "--prefix", self.prefix, "--token", str(self.token), "reboot", node]
        script = (f'exec nsenter -t "$(cat {shlex.quote(str(self._anchor_file()))})" -m -n -u -- "$@"'
                  f' >> {shlex.quote(str(log_file))} 2>&1')
        return ["setsid", "-f", "sh", "-c", script, "sh", *lab]

    # A process that stays in the host's namespaces for the lab's lifetime: what a node
    # enters to act on the host (its reboot), since it cannot reach the lab's handles
    # under /run from inside.
    def _anchor_argv(self) -> list[str]:
        # Tagged with the lab's state dir: `down` finds its anchor even when the pid file is gone.
        return [sys.executable, "-c", "import signal; signal.pause()", f"saline-lab-anchor:{self.state_dir}"]

    def _anchor_file(self) -> Path:
        return self.shared_dir / "host-anchor.pid"

    def _start_anchor(self) -> None:
        proc = subprocess.Popen(self._anchor_argv(), start_new_session=True, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._anchor_file().write_text(str(proc.pid))

    def _stop_anchor(self) -> None:
        argv = self._anchor_argv()
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit() or self._cmdline(int(entry.name))[1:] != argv[1:]:
                continue
            pid = int(entry.name)
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass  # gone, or started by another process (`saline lab up`): init reaps it

    @staticmethod
    def _cmdline(pid: int) -> list[str]:
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
        except OSError:
            return []

    def stop_agent(self, node: str, pid: int, timeout: float = 10.0) -> None:
        """SIGTERM the agent started with :meth:`start_agent`, SIGKILL after ``timeout``."""
        if pid not in self.pids(node):
            return
        os.kill(pid, signal.SIGTERM)
        try:
            _poll(f"agent {pid} on {node} to exit", lambda: pid not in self.pids(node), timeout)
        except LabError:
            os.kill(pid, signal.SIGKILL)

    # ---- building blocks ------------------------------------------------------------

    def _netns_exists(self, node: str) -> bool:
        return Path("/run/netns", f"{self.prefix}-{node}").exists()

    def _umount(self, path: Path) -> None:
        # A bind-mounted ns handle may be stacked if a previous up was interrupted.
        for _ in range(5):
            if _run(["mountpoint", "-q", str(path)], check=False).rc != 0:
                return
            _run(["umount", str(path)], check=False)

    def _create_dirs(self) -> None:
        self._own(self.state_dir)
        self._own(self.shared_dir)
        os.chmod(self.shared_dir, 0o755)
        hosts = "127.0.0.1 localhost\n" + "".join(f"{self.cluster_addr(n)} {n}\n" for n in self.nodes)
        (self.state_dir / "hosts").write_text(hosts)
        addresses = {n: self.cluster_addr(n) for n in self.nodes}
        for node in self.nodes:
            root = self.node_root(node)
            for d in NODE_DIRS:
                root.joinpath(d.lstrip("/")).mkdir(parents=True, exist_ok=True)
            self._log(node, "x").parent.mkdir(parents=True, exist_ok=True)
            self.node_shared_dir(node).mkdir(parents=True, exist_ok=True)
            pcmk = root / "var/lib/pacemaker"
            for sub in PACEMAKER_SUBDIRS:
                (pcmk / sub).mkdir(exist_ok=True)
            (root / "etc/corosync/corosync.conf").write_text(corosync_conf(self.cluster_name, addresses, self.token))
            cib = pcmk / "cib/cib.xml"
            cib.write_text(seed_cib(self.dc_deadtime))
            os.chmod(cib, 0o600)
            for path in [pcmk, *(pcmk / s for s in PACEMAKER_SUBDIRS), cib]:
                shutil.chown(path, "hacluster", "haclient")
                if path.is_dir():
                    os.chmod(path, 0o750)
            logdir = root / "var/log/pacemaker"
            shutil.chown(logdir, "hacluster", "haclient")
            os.chmod(logdir, 0o770)
        ns_dir = self.state_dir / "ns"
        ns_dir.mkdir(exist_ok=True)
        # An nsfs handle may only be bind-mounted onto a non-shared mount.
        _run(["mount", "--bind", str(ns_dir), str(ns_dir)])
        _run(["mount", "--make-private", str(ns_dir)])

    def _create_network(self) -> None:
        mounted = _run(["mountpoint", "-q", "/run/netns"], check=False).rc == 0
        (self.state_dir / "run-netns-was-mounted").write_text("yes" if mounted else "no")
        a, b = (self.netns(n) for n in self.nodes)
        for ns in (a, b):
            _run(["ip", "netns", "add", ns])
            _run(["ip", "-n", ns, "link", "set", "lo", "up"])
        # Created directly inside the namespaces: no host-side names that could collide.
        _run(["ip", "link", "add", "eth1", "netns", a, "type", "veth", "peer", "name", "eth1", "netns", b])
        _run(["ip", "link", "add", "eth0", "netns", a, "type", "veth", "peer", "name", "eth0", "netns", b])
        for node in self.nodes:
            ns = self.netns(node)
            _run(["ip", "-n", ns, "addr", "add", f"{self.cluster_addr(node)}/24", "dev", "eth1"])
            _run(["ip", "-n", ns, "link", "set", "eth1", "up"])
            _run(["ip", "-n", ns, "link", "add", "br0", "type", "bridge", "forward_delay", "0"])
            _run(["ip", "-n", ns, "link", "set", "eth0", "master", "br0"])
            _run(["ip", "-n", ns, "addr", "add", f"{self.public_addr(node)}/24", "dev", "br0"])
            _run(["ip", "-n", ns, "link", "set", "eth0", "up"])
            _run(["ip", "-n", ns, "link", "set", "br0", "up"])

    def _create_node_namespaces(self, node: str) -> None:
        mnt, uts = self._ns_file(node, "mnt"), self._ns_file(node, "uts")
        mnt.touch()
        uts.touch()
        _run(["nsenter", f"--net=/run/netns/{self.netns(node)}", "unshare", f"--mount={mnt}", f"--uts={uts}",
              "--propagation", "private", "true"])
        inside = self.nsenter(node)
        _run([*inside, "hostname", node])
        root = self.node_root(node)
        for d in NODE_DIRS:
            _run([*inside, "mount", "--bind", str(root / d.lstrip("/")), d])
        _run([*inside, "mount", "--bind", str(self.state_dir / "hosts"), "/etc/hosts"])
        # A fresh sysfs shows the node's own interfaces in /sys/class/net.
        _run([*inside, "mount", "-t", "sysfs", "sysfs", "/sys"])
        # Last: the state dir lives under /run, which these hide inside the node.
        for d, mode in (("/run", "0755"), ("/dev/shm", "1777")):
            _run([*inside, "mount", "-t", "tmpfs", "-o", f"mode={mode}", "tmpfs", d])
        _run([*inside, "mkdir", "-p", "/run/resource-agents", "/run/crm"])
        _run([*inside, "chown", "hacluster:haclient", "/run/crm"])

    def _spawn(self, node: str, argv: Sequence[str], logname: str, env: Mapping[str, str] | None = None) -> None:
        """Start a detached process inside ``node``: ``setsid -f`` double-forks, so the
        daemon is re-parented to PID 1 instead of becoming our zombie when it dies."""
        full_env = {"PATH": PATH, "LANG": "C.UTF-8", **(env or {})}
        with open(self._log(node, logname), "ab") as out:
            subprocess.run(["setsid", "-f", *self.nsenter(node), *argv], stdin=subprocess.DEVNULL,
                           stdout=out, stderr=out, env=full_env, check=True, timeout=30)

    def _start_daemons(self, node: str) -> None:
        self._spawn(node, ["corosync", "-f"], "corosync.out")
        _poll(f"corosync on {node}",
              lambda: self.exec(node, ["corosync-cmapctl", "totem.cluster_name"], timeout=10.0).rc == 0, 30.0)
        # The environment replaces /etc/default/pacemaker.
        self._spawn(node, ["pacemakerd"], "pacemakerd.out",
                    env={"PCMK_logfile": "/var/log/pacemaker/pacemaker.log", "PCMK_logfacility": "none"})
        _poll(f"pacemakerd on {node}", lambda: bool(self._pids_of(node, "pacemakerd")), 30.0)


class NodeRunner(Runner):
    """A Runner for state modules that runs every command inside a lab node and maps
    file paths onto the node's private directories."""

    def __init__(self, lab: Lab, node: str, env: Mapping[str, str] | None = None, timeout: float = 120.0):
        super().__init__(root=lab.node_root(node), env={"PATH": PATH, **(env or {})}, timeout=timeout)
        self.lab = lab
        self.node = node

    def run(self, argv: Sequence[str], **kwargs) -> CommandResult:  # type: ignore[override]
        result = super().run(self.lab.nsenter(self.node) + [str(a) for a in argv], **kwargs)
        # Report the command as the module issued it, not the nsenter wrapper.
        return result.model_copy(update={"argv": [str(a) for a in argv]})


def lab_status_json(status: LabStatus) -> str:
    return json.dumps(status.model_dump(), indent=2)
