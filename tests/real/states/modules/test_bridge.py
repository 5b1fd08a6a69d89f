"""bridge.present against a real network namespace, real iproute2 and real ifupdown.

Each test gets its own ``snbr-*`` namespaces (tests/real/netns.py): a node whose eth0
is cabled by a veth to a "master" namespace at 10.77.0.1. The interfaces file lives in a
temp root; the ip commands run inside the node namespace.
"""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

import pytest

from tests.harness import assert_full_cycle, assert_refused, run
from tests.real.netns import NodeNet, bare_node_net, netns_runner, node_net, require_tools, sh  # noqa: F401

pytestmark = pytest.mark.real

ORIGINAL = """# The loopback network interface
auto lo
iface lo inet loopback

# The primary network interface
auto eth0
iface eth0 inet static
    address 10.77.0.5
    netmask 255.255.255.0
    gateway 10.77.0.1

source /etc/network/interfaces.d/*
"""


def seed_args(net: NodeNet, **extra) -> dict:
    return {
        "name": "br0",
        "ports": ["eth0"],
        "ipaddr": net.node_ip,
        "netmask": "255.255.255.0",
        "gateway": net.master_ip,
        "protect_route_to": net.master_ip,
        **extra,
    }


def make_root(tmp_path: Path) -> Path:
    interfaces = tmp_path / "etc/network/interfaces"
    interfaces.parent.mkdir(parents=True)
    interfaces.write_text(ORIGINAL)
    return interfaces


def snapshot_of(net: NodeNet, interfaces: Path):
    return lambda: (net.snapshot(), interfaces.read_bytes())


def reaches_master(net: NodeNet, dev: str) -> bool:
    """Real traffic: an ARP request from the node answered by the master namespace.

    A few tries: a veth that was just set up reports NO-CARRIER for a moment."""
    argv = ["ip", "netns", "exec", net.node, "arping", "-c", "1", "-w", "1", "-I", dev, net.master_ip]
    return any(subprocess.run(argv, capture_output=True).returncode == 0 for _ in range(5))


def test_refuses_to_cut_off_the_agents_link_without_allow_disruption(node_net: NodeNet, tmp_path: Path):
    """eth0 carries the default route and the route to the master: enslaving it must be refused."""
    interfaces = make_root(tmp_path)
    runner = netns_runner(node_net.node, root=tmp_path)
    res = assert_refused("bridge.present", seed_args(node_net), runner, snapshot_of(node_net, interfaces),
                         match="would cut the node off")
    assert "eth0" in res.comment and "allow_disruption" in res.comment
    assert reaches_master(node_net, "eth0")


def test_full_cycle_moves_the_address_in_one_batch_and_keeps_the_file(node_net: NodeNet, tmp_path: Path):
    interfaces = make_root(tmp_path)
    runner = netns_runner(node_net.node, root=tmp_path)
    applied = assert_full_cycle("bridge.present", seed_args(node_net, allow_disruption=True), runner,
                                snapshot_of(node_net, interfaces))
    # one ip -batch step did the move
    assert applied.changes["live"][0] == "link add br0 type bridge forward_delay 0"
    assert "addr del 10.77.0.5/24 dev eth0" in applied.changes["live"]

    snap = node_net.snapshot()
    assert snap["links"]["eth0"][0] == "br0"
    assert snap["links"]["br0"] == (None, True, 0)
    assert snap["addrs"]["br0"] == ["10.77.0.5/24"] and snap["addrs"]["eth0"] == []
    assert ("default", "10.77.0.1", "br0") in snap["routes"]
    assert reaches_master(node_net, "br0")

    text = interfaces.read_text()
    assert text.startswith("# The loopback network interface\nauto lo\niface lo inet loopback\n")
    assert "iface eth0 inet manual\n" in text and "address 10.77.0.5\n    netmask" in text
    assert text.count("address 10.77.0.5") == 1  # only the bridge carries it
    assert "auto br0\niface br0 inet static\n    bridge_ports eth0\n    bridge_fd 0\n    bridge_maxwait 0\n" in text
    assert "\n\nsource /etc/network/interfaces.d/*\n\nauto br0\n" in text  # kept; the new stanza is appended


def test_drift_port_removed_by_hand_is_detected_and_fixed(node_net: NodeNet, tmp_path: Path):
    interfaces = make_root(tmp_path)
    runner = netns_runner(node_net.node, root=tmp_path)
    args = seed_args(node_net, allow_disruption=True)
    assert run("bridge.present", args, runner).result is True

    sh("ip", "-n", node_net.node, "link", "set", "eth0", "nomaster")
    drifted = node_net.snapshot()
    assert drifted["links"]["eth0"][0] is None

    dry = run("bridge.present", args, runner, test=True)
    assert dry.result is None and dry.changes["live"] == ["link set eth0 master br0"]
    assert node_net.snapshot() == drifted

    # the route to the master runs over br0 now, eth0 carries nothing: no disruption guard needed
    fixed = run("bridge.present", {**args, "allow_disruption": False}, runner)
    assert fixed.result is True and fixed.changes["live"] == ["link set eth0 master br0"]
    assert node_net.snapshot()["links"]["eth0"][0] == "br0"
    assert reaches_master(node_net, "br0")


def test_stanza_written_by_the_state_brings_up_the_same_bridge_with_real_ifup(
    node_net: NodeNet, bare_node_net: NodeNet, tmp_path: Path
):
    """The file and the live state mean the same thing: real ``ifup -i FILE`` of the
    written stanza on a fresh node gives exactly the state bridge.present converges to."""
    require_tools("ifup", "ifdown", "brctl")
    interfaces = make_root(tmp_path)
    assert run("bridge.present", seed_args(node_net, allow_disruption=True),
               netns_runner(node_net.node, root=tmp_path)).result is True

    with ifup_br0(bare_node_net, interfaces, tmp_path):
        assert reaches_master(bare_node_net, "br0")
        fresh = netns_runner(bare_node_net.node, root=tmp_path)
        again = run("bridge.present", seed_args(bare_node_net), fresh)
        assert again.result is True and again.changes == {}, again


@contextlib.contextmanager
def ifup_br0(net: NodeNet, interfaces: Path, tmp_path: Path):
    """br0 brought up by the real ifup from ``interfaces`` in the node; ifdown afterwards."""
    state_dir = tmp_path / "ifstate"
    state_dir.mkdir()
    ifupdown = ["ip", "netns", "exec", net.node, "-i", str(interfaces), "--state-dir", str(state_dir), "br0"]
    proc = subprocess.run([*ifupdown[:4], "ifup", *ifupdown[4:]], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    try:
        yield
    finally:
        subprocess.run([*ifupdown[:4], "ifdown", *ifupdown[4:]], capture_output=True, timeout=60)


def test_bad_input_is_refused_before_anything_changes(node_net: NodeNet, tmp_path: Path):
    interfaces = make_root(tmp_path)
    runner = netns_runner(node_net.node, root=tmp_path)
    snap = snapshot_of(node_net, interfaces)
    assert_refused("bridge.present", {**seed_args(node_net), "bridge_bogus": "off"}, runner, snap, match="bogus")
    assert_refused("bridge.present", {**seed_args(node_net), "bridge_stp": True}, runner, snap, match="fd between 2 and 30")
    assert_refused("bridge.present", {**seed_args(node_net), "ipaddr": "10.77.0.500"}, runner, snap, match="ipaddr")
    assert_refused("bridge.present", {**seed_args(node_net), "netmask": "255.0.255.0"}, runner, snap, match="netmask")
    assert_refused("bridge.present", {**seed_args(node_net), "name": "br0; reboot"}, runner, snap, match="interface name")
    assert_refused("bridge.present", {**seed_args(node_net), "file": "/etc/passwd"}, runner, snap, match="interfaces")
    assert_refused("bridge.present", {**seed_args(node_net), "ports": ["eth9"], "allow_disruption": True}, runner, snap,
                   match="eth9 do not exist")


def broadcast_of(net: NodeNet, dev: str) -> list[str | None]:
    return [a.get("broadcast") for item in net.ip_json("addr", "show", "dev", dev)
            for a in item["addr_info"] if a["family"] == "inet"]


def test_address_gets_the_broadcast_ifup_gives(node_net: NodeNet, tmp_path: Path):
    make_root(tmp_path)
    assert run("bridge.present", seed_args(node_net, allow_disruption=True),
               netns_runner(node_net.node, root=tmp_path)).result is True
    assert broadcast_of(node_net, "br0") == ["10.77.0.255"]


def test_seed_stanza_brought_up_by_ifup_is_adopted_unchanged(bare_node_net: NodeNet, tmp_path: Path):
    """A node set up the seed's way (its br0 stanza, ifup): bridge.present with the same
    meaning, spelled bridge_stp as interfaces(5) does, changes nothing, not even spacing."""
    require_tools("ifup", "ifdown", "brctl")
    interfaces = tmp_path / "etc/network/interfaces"
    interfaces.parent.mkdir(parents=True)
    interfaces.write_text(
        "auto lo\niface lo inet loopback\n\n# The primary network interface\nauto br0\niface br0 inet static\n"
        "        bridge_ports eth0\n        bridge_fd 0\n        bridge_maxwait 0\n        bridge_stp off\n"
        f"        address {bare_node_net.node_ip}/24\n        gateway {bare_node_net.master_ip}\n")
    with ifup_br0(bare_node_net, interfaces, tmp_path):
        before = (bare_node_net.snapshot(), interfaces.read_bytes())
        args = {**seed_args(bare_node_net, bridge_stp=False, bridge_fd=0, bridge_maxwait=0), "netmask": "24"}
        for test in (True, False):
            res = run("bridge.present", args, netns_runner(bare_node_net.node, root=tmp_path), test=test)
            assert res.result is True and res.changes == {}, res
        assert (bare_node_net.snapshot(), interfaces.read_bytes()) == before


def test_stp_and_hello_full_cycle(node_net: NodeNet, tmp_path: Path):
    interfaces = make_root(tmp_path)
    runner = netns_runner(node_net.node, root=tmp_path)
    applied = assert_full_cycle("bridge.present", seed_args(node_net, allow_disruption=True, bridge_stp=True, hello=1, fd=2),
                                runner, snapshot_of(node_net, interfaces))
    assert applied.changes["live"][0] == "link add br0 type bridge forward_delay 200 stp_state 1 hello_time 100"
    data = next(l for l in node_net.ip_json("-d", "link", "show", "br0"))["linkinfo"]["info_data"]
    assert data["stp_state"] == 1 and data["hello_time"] == 100
    assert "    bridge_stp on\n    bridge_hello 1\n" in interfaces.read_text()
