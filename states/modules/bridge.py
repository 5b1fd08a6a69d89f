"""``bridge.present``: a Linux bridge as ifupdown configures it, and live.

Two halves, both converged by one state:

* the ifupdown stanza (``auto br0`` / ``iface br0 inet static`` / ``bridge_ports eth0`` /
  ``bridge_fd 0`` / ``bridge_maxwait 0`` / address, netmask, gateway) edited in place in
  ``/etc/network/interfaces`` or a file under ``interfaces.d/`` — the rest of the file is
  kept; a port's own ``inet static|dhcp`` stanza becomes ``inet manual`` because a bridge
  port must not carry an address of its own;
* the live state through iproute2: the bridge exists with the forward delay, the ports
  are enslaved and up, the address sits on the bridge, the bridge is up, the default
  route goes through it.

Moving the node's address from a port to the bridge cuts the node off for a moment, so
every live change is one ``ip -batch -`` run (one process, no shell, no round trips
between the steps). When that change touches the interface that carries the default
route or the route to the master (``protect_route_to``, else ``master_ip`` from the
agent's node facts), the state refuses unless ``allow_disruption: true``.

Argument names follow Salt's ``network.managed`` (``ipaddr``, ``netmask``, ``gateway``,
``ports``) and its Debian bridge options without the ``bridge_`` prefix (``fd``,
``maxwait``, ``stp``, ``hello``, ``maxage``, ``ageing``, ``bridgeprio``, ``waitport``);
the bridge-utils-interfaces(5) spelling with the prefix (``bridge_stp``) is accepted too.

An existing stanza that means the same is left as it is: the stanza is compared as data
(header and the options the state manages; indentation, spacing, ``address A/N`` vs
``address A`` + ``netmask``, ``on``/``yes`` do not matter), and options it does not manage
(an operator's ``up`` line, ``dns-nameservers``) are kept. The address gets the broadcast
address ``ifup`` gives it (ifupdown's ``inet static`` default ``broadcast +``).
"""

from __future__ import annotations

import difflib
import re
from ipaddress import IPv4Address, IPv4Interface

from pydantic import Field, field_validator, model_validator
from pydantic.networks import IPvAnyAddress

from saline.states.engine.base import CommandStep, Facts, Plan, Refuse, StateArgs, StateContext, WriteFileStep, state_function
from saline.states.system.ifupdown import bridge_stanza, iface_stanza, manual_stanza, set_iface_stanza, stanza_options
from saline.states.system.iproute import NetState, parse_addresses, parse_broadcasts, parse_links, parse_routes
from saline.states.engine.runner import CommandError

IFNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$")  # IFNAMSIZ is 16 with the NUL


def _check_ifname(value: str) -> str:
    if not IFNAME.match(value):
        raise ValueError(f"{value!r} is not a valid interface name (1-15 of A-Z a-z 0-9 _ . -)")
    return value


class BridgeArgs(StateArgs):
    ports: list[str] = []
    ipaddr: IPv4Address | None = None
    netmask: str | None = None  # dotted (255.255.255.0) or a prefix length (24)
    gateway: IPv4Address | None = None
    fd: int = 0
    maxwait: int = 0
    # bridge-utils-interfaces(5) options; None: not managed (whatever the file or kernel has stays)
    stp: bool | None = None
    hello: int | None = Field(None, ge=1, le=10)  # seconds
    maxage: int | None = Field(None, ge=6, le=40)  # seconds
    ageing: int | None = Field(None, ge=0, le=1000000)  # seconds
    bridgeprio: int | None = Field(None, ge=0, le=65535)
    waitport: int | None = Field(None, ge=0, le=300)  # seconds ifup waits for the ports (file only)
    file: str = "/etc/network/interfaces"
    allow_disruption: bool = False
    protect_route_to: IPvAnyAddress | None = None

    @model_validator(mode="before")
    @classmethod
    def _bridge_prefix(cls, data: object) -> object:
        """bridge_stp, bridge_fd … as interfaces(5) spells them mean stp, fd …"""
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for key in data:
            if isinstance(key, str) and key.startswith("bridge_"):
                short = key[len("bridge_"):]
                if short in out:
                    raise ValueError(f"{key} and {short} are the same option; give one")
                out[short] = out.pop(key)
        return out

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _check_ifname(v)

    @field_validator("ports")
    @classmethod
    def _ports(cls, v: list[str]) -> list[str]:
        return [_check_ifname(p) for p in v]

    @field_validator("fd", "maxwait")
    @classmethod
    def _seconds(cls, v: int) -> int:
        if not 0 <= v <= 30:
            raise ValueError("must be between 0 and 30 seconds")
        return v

    @field_validator("file")
    @classmethod
    def _file(cls, v: str) -> str:
        if not (v == "/etc/network/interfaces" or v.startswith("/etc/network/interfaces.d/")):
            raise ValueError("must be /etc/network/interfaces or a file under /etc/network/interfaces.d/")
        return v

    @model_validator(mode="after")
    def _address(self) -> "BridgeArgs":
        if self.ipaddr is not None:
            if self.netmask is None:
                raise ValueError("ipaddr needs a netmask")
            try:
                IPv4Interface(f"{self.ipaddr}/{self.netmask}")
            except ValueError:
                raise ValueError(f"netmask {self.netmask!r} is not a dotted netmask or prefix length") from None
        elif self.netmask is not None or self.gateway is not None:
            raise ValueError("netmask and gateway need an ipaddr")
        if self.name in self.ports:
            raise ValueError("a bridge cannot be its own port")
        if self.stp and not 2 <= self.fd <= 30:
            # the kernel clamps the forward delay of an STP bridge to 2..30 s (fd 0 would never converge)
            raise ValueError(f"with stp on, the bridge needs fd between 2 and 30 seconds (fd is {self.fd})")
        return self

    @property
    def interface(self) -> IPv4Interface | None:
        return IPv4Interface(f"{self.ipaddr}/{self.netmask}") if self.ipaddr is not None else None


class BridgeFacts(Facts):
    file_text: str | None
    net: NetState
    # interface → why it must not be cut ("the default route", "the route to 10.0.0.1")
    protected: dict[str, str] = {}


def _ip_json(ctx: StateContext, *argv: str) -> str:
    result = ctx.runner.run(["ip", "-j", *argv])
    if not result.ok:
        raise CommandError(result)
    return result.stdout


def observe_network(ctx: StateContext, protect_route_to: str | None) -> tuple[NetState, dict[str, str]]:
    addrs = _ip_json(ctx, "addr", "show")
    net = NetState(
        links=parse_links(_ip_json(ctx, "-d", "link", "show")),
        addresses=parse_addresses(addrs),
        default_routes=parse_routes(_ip_json(ctx, "route", "show", "default")),
        broadcasts=parse_broadcasts(addrs),
    )
    protected = {r.dev: "the default route" for r in net.default_routes if r.dev}
    if protect_route_to:
        for route in parse_routes(_ip_json(ctx, "route", "get", protect_route_to)):
            if route.dev:
                protected[route.dev] = f"the route to {protect_route_to} (the master)"
    return net, protected


def bridge_facts(args: BridgeArgs, ctx: StateContext) -> BridgeFacts:
    target = ctx.runner.path(args.file)
    text = target.read_text() if target.exists() else None
    protect = args.protect_route_to or ctx.node.get("master_ip")
    net, protected = observe_network(ctx, str(protect) if protect else None)
    return BridgeFacts(file_text=text, net=net, protected=protected)


# State argument → interfaces(5) option, for the optional bridge-utils options.
FILE_OPTIONS = {"stp": "bridge_stp", "hello": "bridge_hello", "maxage": "bridge_maxage", "ageing": "bridge_ageing",
                "bridgeprio": "bridge_bridgeprio", "waitport": "bridge_waitport"}
_ON, _OFF = ("on", "yes", "true", "1"), ("off", "no", "false", "0")


def _option_lines(args: BridgeArgs) -> dict[str, str]:
    values = {FILE_OPTIONS[k]: getattr(args, k) for k in FILE_OPTIONS if getattr(args, k) is not None}
    return {k: ("on" if v else "off") if isinstance(v, bool) else str(v) for k, v in values.items()}


def _meaning(stanza: str, managed: set[str]) -> tuple[list[str], dict[str, str]]:
    """The header and the managed options of a stanza, normalized: ``address A/N`` is
    ``address A`` + ``netmask`` (dotted), on/yes/1 is on, port lists are word lists."""
    header, options = stanza_options(stanza)
    values: dict[str, str] = {}
    for key, value in options:
        if key == "address" and "/" in value:
            try:
                iface = IPv4Interface(value)
            except ValueError:
                pass
            else:
                values["address"], values["netmask"] = str(iface.ip), str(iface.netmask)
                continue
        if key == "netmask" and value.isdigit():
            value = str(IPv4Interface(f"0.0.0.0/{value}").netmask)
        if key == "bridge_stp":
            value = "on" if value.lower() in _ON else "off" if value.lower() in _OFF else value
        values[key] = value
    return header, {k: v for k, v in values.items() if k in managed}


def desired_file(args: BridgeArgs, text: str) -> str:
    iface = args.interface
    stanza = bridge_stanza(
        args.name,
        args.ports,
        address=str(iface.ip) if iface else None,
        netmask=str(iface.netmask) if iface else None,
        gateway=str(args.gateway) if args.gateway else None,
        fd=args.fd,
        maxwait=args.maxwait,
        options=_option_lines(args),
    )
    managed = {"bridge_ports", "bridge_fd", "bridge_maxwait", "address", "netmask", "gateway", *_option_lines(args)}
    existing = iface_stanza(text, args.name)
    if existing is not None:
        if _meaning(existing, managed) == _meaning(stanza, managed):
            stanza = existing  # means the same: left as the operator wrote it
        else:
            kept = [f"    {k} {v}".rstrip() for k, v in stanza_options(existing)[1] if k not in managed]
            stanza = stanza + "".join(line + "\n" for line in kept)
    text = set_iface_stanza(text, args.name, stanza, auto=True)
    for port in args.ports:
        current = iface_stanza(text, port)
        if current is not None and current.split()[:4] != manual_stanza(port).split():
            text = set_iface_stanza(text, port, manual_stanza(port), auto=False)
    return text


# State argument → (Link field, ip's bridge option, centiseconds per unit).
LIVE_OPTIONS = {"stp": ("stp_state", "stp_state", 1), "hello": ("hello_time", "hello_time", 100),
                "maxage": ("max_age", "max_age", 100), "ageing": ("ageing_time", "ageing_time", 100),
                "bridgeprio": ("priority", "priority", 1)}


def live_commands(args: BridgeArgs, facts: BridgeFacts) -> tuple[list[str], list[str]]:
    """The ``ip -batch`` lines that converge the live state, and the disruptive ones among them."""
    net, name = facts.net, args.name
    missing = [p for p in args.ports if p not in net.links]
    if missing:
        raise Refuse(f"port(s) {', '.join(missing)} do not exist on this node")
    bridge = net.links.get(name)
    if bridge is not None and bridge.kind != "bridge":
        raise Refuse(f"{name} exists but is a {bridge.kind or 'plain'} link, not a bridge")
    delay = args.fd * 100  # the kernel counts centiseconds
    cmds: list[str] = []
    disruptive: list[str] = []

    def add(line: str, touches: str | None = None) -> None:
        cmds.append(line)
        if touches in facts.protected:
            disruptive.append(f"{line!r} touches {touches}, which carries {facts.protected[touches]}")

    wanted = {"forward_delay": delay}
    for arg, (field, _, unit) in LIVE_OPTIONS.items():
        value = getattr(args, arg)
        if value is not None:
            wanted[field] = int(value) * unit
    ip_name = {"forward_delay": "forward_delay", **{f: o for f, o, _ in LIVE_OPTIONS.values()}}
    if bridge is None:
        add(f"link add {name} type bridge " + " ".join(f"{ip_name[f]} {v}" for f, v in wanted.items()))
    else:
        differ = {f: v for f, v in wanted.items() if getattr(bridge, f) != v}
        if differ:
            add(f"link set {name} type bridge " + " ".join(f"{ip_name[f]} {v}" for f, v in differ.items()))
    iface = args.interface
    for port in args.ports:
        # the address leaves the port first: a bridge port with an IP of its own is a trap
        if iface is not None and str(iface) in net.addresses.get(port, []):
            add(f"addr del {iface} dev {port}", port)
        if net.links[port].master != name:
            add(f"link set {port} master {name}", port)
        if not net.links[port].up:
            add(f"link set {port} up")
    if iface is not None:
        # ifup's inet static: broadcast + (the network's broadcast address)
        if str(iface) not in net.addresses.get(name, []):
            add(f"addr add {iface} broadcast + dev {name}")
        elif net.broadcasts.get(name, {}).get(str(iface)) != str(iface.network.broadcast_address):
            add(f"addr replace {iface} broadcast + dev {name}")
    if bridge is None or not bridge.up:
        add(f"link set {name} up")
    if args.gateway is not None:
        current = [r for r in net.default_routes if r.dev]
        if not any(r.gateway == str(args.gateway) and r.dev == name for r in current):
            for r in current:
                if r.dev != name and r.dev in facts.protected:
                    disruptive.append(f"the default route moves from {r.dev} to {name}")
            add(f"route replace default via {args.gateway} dev {name}")
    return cmds, disruptive


@state_function("bridge.present", BridgeArgs, facts=bridge_facts)
def present(args: BridgeArgs, facts: BridgeFacts) -> Plan:
    """Bridge ``name`` with ``ports`` configured in ifupdown and live, address on the bridge."""
    old = facts.file_text or ""
    new = desired_file(args, old)
    cmds, disruptive = live_commands(args, facts)
    if disruptive and not args.allow_disruption:
        raise Refuse(
            "this change would cut the node off: "
            + "; ".join(disruptive)
            + ". Set allow_disruption: true to run it as one ip -batch (the node is unreachable for a moment)"
        )
    steps: list = []
    changes: dict = {}
    if facts.file_text != new:
        steps.append(WriteFileStep(description=f"write the {args.name} stanza to {args.file}", path=args.file,
                                   content=new.encode(), makedirs=True))
        changes["diff"] = "".join(difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), args.file, args.file))
    if cmds:
        steps.append(CommandStep(description=f"ip -batch: {'; '.join(cmds)}", argv=["ip", "-batch", "-"],
                                 stdin="\n".join(cmds) + "\n"))
        changes["live"] = cmds
    return Plan(steps=steps, changes=changes, comment=f"Bridge {args.name} is configured and up")
