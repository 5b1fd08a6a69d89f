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
            forward_delay=data.get("forward_delay") if info.get("info_kind") == "bridge" else None,
        )
    return links


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
