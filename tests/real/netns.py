"""Network-namespace and hostname fixtures for the real bridge/drbd tests.

The product's :class:`Runner` runs commands as they are; on a node the agent already
lives in the right namespaces. Tests run the same argv inside a throw-away network
namespace by prefixing ``ip netns exec NS`` (or, for drbdadm's ``on <host>`` matching,
inside a private UTS namespace with a chosen hostname). The prefix lives here, in the
tests, so the runner's contract stays as it is.

Names are ``snbr-<random>`` so parallel runs (and the Pacemaker lab's ``saline-lab-*`` /
``pcmk-*`` namespaces) never collide; every namespace is deleted by a finalizer, and
deleting a namespace deletes the veth ends inside it.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from saline.states.engine.runner import CommandResult, Runner

# Replace the hostname inside a fresh UTS namespace, then exec the command: argv only.
_SETHOSTNAME = "import os, socket, sys; socket.sethostname(sys.argv[1]); os.execvp(sys.argv[2], sys.argv[2:])"


class PrefixRunner(Runner):
    """The real runner with a fixed argv prefix in front of every command."""

    def __init__(self, prefix: Sequence[str], **kwargs):
        super().__init__(**kwargs)
        self.prefix = list(prefix)

    def run(self, argv: Sequence[str], **kwargs) -> CommandResult:
        return super().run([*self.prefix, *argv], **kwargs)


def netns_runner(ns: str, root: str | Path = "/") -> PrefixRunner:
    return PrefixRunner(["ip", "netns", "exec", ns], root=root)


def hostname_runner(hostname: str, root: str | Path = "/") -> PrefixRunner:
    return PrefixRunner(["unshare", "--uts", sys.executable, "-c", _SETHOSTNAME, hostname], root=root)


def sh(*argv: str) -> str:
    return subprocess.run(list(argv), check=True, capture_output=True, text=True).stdout


def require_tools(*names: str) -> None:
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        pytest.skip(f"missing tools: {', '.join(missing)}")


@dataclass
class NodeNet:
    """A node namespace with ``eth0`` cabled by a veth to a "master" namespace.

    node: eth0 10.77.0.5/24, default route via 10.77.0.1; master: up0 10.77.0.1/24.
    """

    node: str
    master: str
    node_ip: str = "10.77.0.5"
    master_ip: str = "10.77.0.1"

    def ip_json(self, *argv: str):
        return json.loads(sh("ip", "-n", self.node, "-j", *argv) or "[]")

    def snapshot(self) -> dict:
        """What the live network looks like, compared before/after a state run."""
        links = {
            link["ifname"]: (link.get("master"), "UP" in link["flags"],
                             (link.get("linkinfo") or {}).get("info_data", {}).get("forward_delay"))
            for link in self.ip_json("-d", "link", "show")
        }
        addrs = {a["ifname"]: sorted(f"{i['local']}/{i['prefixlen']}" for i in a["addr_info"] if i["family"] == "inet")
                 for a in self.ip_json("addr", "show")}
        routes = sorted((r.get("dst"), r.get("gateway"), r.get("dev")) for r in self.ip_json("route", "show"))
        return {"links": links, "addrs": addrs, "routes": routes}


def _create_node_net(with_address: bool) -> NodeNet:
    tag = secrets.token_hex(3)
    net = NodeNet(node=f"snbr-{tag}", master=f"snbr-{tag}-m")
    sh("ip", "netns", "add", net.node)
    try:
        sh("ip", "netns", "add", net.master)
        sh("ip", "link", "add", "eth0", "netns", net.node, "type", "veth", "peer", "name", "up0", "netns", net.master)
        sh("ip", "-n", net.master, "addr", "add", f"{net.master_ip}/24", "dev", "up0")
        sh("ip", "-n", net.master, "link", "set", "up0", "up")
        sh("ip", "-n", net.node, "link", "set", "lo", "up")
        if with_address:
            sh("ip", "-n", net.node, "addr", "add", f"{net.node_ip}/24", "dev", "eth0")
            sh("ip", "-n", net.node, "link", "set", "eth0", "up")
            sh("ip", "-n", net.node, "route", "add", "default", "via", net.master_ip)
    except BaseException:
        _delete(net)
        raise
    return net


def _delete(net: NodeNet) -> None:
    for ns in (net.node, net.master):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def _node_net(with_address: bool) -> Iterator[NodeNet]:
    require_tools("ip")
    net = _create_node_net(with_address)
    try:
        yield net
    finally:
        _delete(net)


@pytest.fixture
def node_net() -> Iterator[NodeNet]:
    """A node whose eth0 carries its address, default route and the route to the master."""
    yield from _node_net(with_address=True)


@pytest.fixture
def bare_node_net() -> Iterator[NodeNet]:
    """A node whose eth0 is cabled but unconfigured (for ifup to configure)."""
    yield from _node_net(with_address=False)
