"""Parse iproute2's JSON output (``ip -j``) into typed models.

Only the fields the network states compare are kept; everything else ``ip`` prints
(statistics, timers, queue settings) is ignored so a harmless kernel detail never
reads as drift.
"""

from __future__ import annotations

import json
from ipaddress import IPv4Interface

from pydantic import BaseModel, Field


class Link(BaseModel):
    ifname: str
    kind: str | None = None  # linkinfo.info_kind: "bridge", "veth", None for plain NICs
    master: str | None = None
    up: bool = False  # administratively up (the UP flag), not carrier
    # bridge only: forward delay in centiseconds as the kernel reports it (15 s = 1500)
    forward_delay: int | None = None
    # bridge only, as `ip -d` reports them: STP on (1) or off (0); times in centiseconds
    stp_state: int | None = None
    hello_time: int | None = None
    max_age: int | None = None
    ageing_time: int | None = None
    priority: int | None = None


class Route(BaseModel):
    dst: str
    dev: str | None = None
    gateway: str | None = None


class NetState(BaseModel):
    """The live network state of one node (or one network namespace)."""

    links: dict[str, Link] = Field(default_factory=dict)
    # IPv4 interface addresses per link, e.g. {"eth0": ["10.0.0.5/24"]}
    addresses: dict[str, list[str]] = Field(default_factory=dict)
    default_routes: list[Route] = Field(default_factory=list)
    # the broadcast address of each IPv4 address per link ({"br0": {"10.0.0.5/24": "10.0.0.255"}}; None: none set)
    broadcasts: dict[str, dict[str, str | None]] = Field(default_factory=dict)


def _load(text: str) -> list[dict]:
    text = text.strip()
    return json.loads(text) if text else []


def parse_links(text: str) -> dict[str, Link]:
    """``ip -j -d link show``."""
    links: dict[str, Link] = {}
    for item in _load(text):
        info = item.get("linkinfo") or {}
        data = info.get("info_data") or {}
        links[item["ifname"]] = Link(
            ifname=item["ifname"],
            kind=info.get("info_kind"),
            master=item.get("master"),
            up="UP" in item.get("flags", []),
            **({k: data.get(k) for k in BRIDGE_FIELDS} if info.get("info_kind") == "bridge" else {}),
        )
    return links


BRIDGE_FIELDS = ("forward_delay", "stp_state", "hello_time", "max_age", "ageing_time", "priority")


def parse_broadcasts(text: str) -> dict[str, dict[str, str | None]]:
    """``ip -j addr show`` → the broadcast address of each IPv4 address, per link."""
    return {
        item["ifname"]: {str(IPv4Interface(f"{a['local']}/{a['prefixlen']}")): a.get("broadcast")
                         for a in item.get("addr_info", []) if a.get("family") == "inet"}
        for item in _load(text)
    }


def parse_addresses(text: str) -> dict[str, list[str]]:
    """``ip -j addr show`` → IPv4 addresses as ``address/prefix`` per link."""
    result: dict[str, list[str]] = {}
    for item in _load(text):
        addrs = [
            str(IPv4Interface(f"{a['local']}/{a['prefixlen']}"))
            for a in item.get("addr_info", [])
            if a.get("family") == "inet"
        ]
        result[item["ifname"]] = addrs
    return result


def parse_routes(text: str) -> list[Route]:
    """``ip -j route show …`` or ``ip -j route get …``."""
    return [Route(dst=r.get("dst", ""), dev=r.get("dev"), gateway=r.get("gateway")) for r in _load(text)]
