"""bridge.present planned from facts (iproute2 state as the parsers produce it from
``ip -j`` output) and the interfaces(5) editing, pure."""

from __future__ import annotations

import pytest

from saline.states.engine.base import Refuse
from saline.states.system.ifupdown import iface_stanza, set_iface_stanza
from saline.states.modules.bridge import BridgeArgs, BridgeFacts, desired_file, present
from saline.states.system.iproute import NetState, parse_addresses, parse_links, parse_routes

# `ip -j -d link show` / `ip -j addr show` / `ip -j route show default` of a node before the
# bridge exists, trimmed to the fields the parser reads (captured in a snbr-* namespace)
LINKS = ('[{"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"]},'
         '{"ifname":"eth0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"linkinfo":{"info_kind":"veth"}}]')
ADDRS = ('[{"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]},'
         '{"ifname":"eth0","addr_info":[{"family":"inet","local":"10.77.0.5","prefixlen":24},'
         '{"family":"inet6","local":"fe80::1","prefixlen":64}]}]')
ROUTES = '[{"dst":"default","gateway":"10.77.0.1","dev":"eth0","flags":[]}]'

ARGS = dict(name="br0", ports=["eth0"], ipaddr="10.77.0.5", netmask="255.255.255.0", gateway="10.77.0.1")


def before(protected: dict[str, str] | None = None, text: str | None = None) -> BridgeFacts:
    net = NetState(links=parse_links(LINKS), addresses=parse_addresses(ADDRS), default_routes=parse_routes(ROUTES))
    return BridgeFacts(file_text=text, net=net, protected=protected or {})


def test_move_is_one_batch_in_a_safe_order():
    plan = present(BridgeArgs(**ARGS, allow_disruption=True), before({"eth0": "the default route"}))
    assert [s.kind for s in plan.steps] == ["write", "cmd"]
    assert plan.steps[1].argv == ["ip", "-batch", "-"]
    assert plan.steps[1].stdin.splitlines() == [
        "link add br0 type bridge forward_delay 0",
        "addr del 10.77.0.5/24 dev eth0",
        "link set eth0 master br0",
        "addr add 10.77.0.5/24 broadcast + dev br0",
        "link set br0 up",
        "route replace default via 10.77.0.1 dev br0",
    ]


def test_refuses_when_the_protected_link_would_be_cut():
    with pytest.raises(Refuse, match="would cut the node off.*eth0.*route to 10.77.0.1"):
        present(BridgeArgs(**ARGS), before({"eth0": "the route to 10.77.0.1 (the master)"}))


def test_unprotected_port_needs_no_permission():
    plan = present(BridgeArgs(**ARGS), before({}))
    assert plan.changes["live"][0].startswith("link add br0")


def test_converged_state_plans_nothing():
    links = parse_links('[{"ifname":"eth0","flags":["UP"],"master":"br0","linkinfo":{"info_kind":"veth"}},'
                        '{"ifname":"br0","flags":["UP"],"linkinfo":{"info_kind":"bridge","info_data":{"forward_delay":0}}}]')
    net = NetState(links=links, addresses={"eth0": [], "br0": ["10.77.0.5/24"]},
                   default_routes=parse_routes('[{"dst":"default","gateway":"10.77.0.1","dev":"br0"}]'),
                   broadcasts={"br0": {"10.77.0.5/24": "10.77.0.255"}})
    a = BridgeArgs(**ARGS)
    plan = present(a, BridgeFacts(file_text=desired_file(a, ""), net=net, protected={"br0": "the default route"}))
    assert plan.empty, plan


def test_non_bridge_link_with_the_name_is_refused():
    f = before()
    f.net.links["br0"] = parse_links('[{"ifname":"br0","flags":[],"linkinfo":{"info_kind":"veth"}}]')["br0"]
    with pytest.raises(Refuse, match="not a bridge"):
        present(BridgeArgs(**ARGS), f)


def test_interfaces_edit_keeps_other_stanzas_and_comments():
    text = "auto lo\niface lo inet loopback\n\n# uplink\nauto eth0\niface eth0 inet dhcp\n\n# end\n"
    new = desired_file(BridgeArgs(**ARGS), text)
    assert new.startswith("auto lo\niface lo inet loopback\n\n# uplink\nauto eth0\niface eth0 inet manual\n\n# end\n")
    assert iface_stanza(new, "br0").splitlines()[1] == "    bridge_ports eth0"
    assert desired_file(BridgeArgs(**ARGS), new) == new  # idempotent


def test_replacing_a_stanza_in_the_middle():
    text = "iface a inet manual\n    mtu 9000\n# keep\n\niface b inet manual\n"
    assert set_iface_stanza(text, "a", "iface a inet dhcp\n", auto=False) == "iface a inet dhcp\n# keep\n\niface b inet manual\n"


@pytest.mark.parametrize("bad", [
    {"netmask": None}, {"gateway": "10.77.0.1", "ipaddr": None, "netmask": None}, {"fd": 99},
    {"ports": ["br0"]}, {"name": "a-very-long-bridge-name"},
])
def test_bad_arguments(bad):
    with pytest.raises(ValueError):
        BridgeArgs(**{**ARGS, **bad})


SEED_FILE = """auto lo
iface lo inet loopback

# The primary network interface
auto br0
iface br0 inet static
        bridge_ports eth0
        bridge_fd 0
        bridge_maxwait 0
        address 10.77.0.5/24
        gateway 10.77.0.1
        dns-nameservers 10.77.0.1
"""


def test_the_seed_stanza_that_means_the_same_is_left_alone():
    """The seed's br0 (8-space indent, address in CIDR form, a dns line of the operator)."""
    a = BridgeArgs(**ARGS)
    assert desired_file(a, SEED_FILE) == SEED_FILE
    # bridge_stp as bridge-utils-interfaces(5) spells it; the stanza now differs: rewritten,
    # the operator's dns-nameservers line kept
    stp = BridgeArgs(**ARGS, bridge_stp=True, bridge_hello=2, bridge_fd=2)
    new = iface_stanza(desired_file(stp, SEED_FILE), "br0")
    assert "    bridge_stp on\n" in new and "    bridge_hello 2\n" in new and "    dns-nameservers 10.77.0.1\n" in new
    assert desired_file(BridgeArgs(**ARGS, stp=True, hello=2, fd=2), desired_file(stp, SEED_FILE)) == desired_file(stp, SEED_FILE)
    off = SEED_FILE.replace("bridge_maxwait 0\n", "bridge_maxwait 0\n        bridge_stp no\n")
    assert desired_file(BridgeArgs(**ARGS, stp=False), off) == off


def test_address_without_the_broadcast_ifup_sets_is_fixed():
    links = parse_links('[{"ifname":"eth0","flags":["UP"],"master":"br0","linkinfo":{"info_kind":"veth"}},'
                        '{"ifname":"br0","flags":["UP"],"linkinfo":{"info_kind":"bridge","info_data":{"forward_delay":0}}}]')
    net = NetState(links=links, addresses={"eth0": [], "br0": ["10.77.0.5/24"]},
                   default_routes=parse_routes('[{"dst":"default","gateway":"10.77.0.1","dev":"br0"}]'),
                   broadcasts={"br0": {"10.77.0.5/24": None}})
    a = BridgeArgs(**ARGS)
    plan = present(a, BridgeFacts(file_text=desired_file(a, ""), net=net))
    assert plan.changes == {"live": ["addr replace 10.77.0.5/24 broadcast + dev br0"]}


def test_bridge_options_live_and_both_spellings_refused_together():
    links = parse_links('[{"ifname":"eth0","flags":["UP"],"master":"br0","linkinfo":{"info_kind":"veth"}},'
                        '{"ifname":"br0","flags":["UP"],"linkinfo":{"info_kind":"bridge","info_data":'
                        '{"forward_delay":0,"stp_state":0,"hello_time":200,"max_age":2000,"priority":32768}}}]')
    net = NetState(links=links, addresses={"eth0": [], "br0": []}, default_routes=[])
    a = BridgeArgs(name="br0", ports=["eth0"], bridge_stp=True, hello=2, bridgeprio=100, fd=2)
    assert present(a, BridgeFacts(file_text=desired_file(a, ""), net=net)).changes["live"] == [
        "link set br0 type bridge forward_delay 200 stp_state 1 priority 100"]
    with pytest.raises(ValueError, match="fd between 2 and 30"):
        BridgeArgs(name="br0", stp=True)
    with pytest.raises(ValueError, match="same option"):
        BridgeArgs(name="br0", stp=True, bridge_stp=False)
