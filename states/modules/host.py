"""host.present / host.absent (Salt's): a name on an address in ``/etc/hosts``.

Changes are Salt's: ``{"added": {address: [name]}, "removed": {address: [name]}}``. Unlike
Salt, which rewrites the whole file in its own layout, only the lines concerned change
(:mod:`saline.states.system.hostsfile`).
"""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

from saline.states.engine.base import Plan, StateArgs, StateContext, WriteFileStep, Facts, state_function
from saline.states.engine.paths import NodePath
from saline.states.system import hostsfile

HOSTS = "/etc/hosts"


def _addresses(value: object) -> object:
    return [value] if isinstance(value, str) else value


def _valid(addresses: list[str]) -> list[str]:
    for address in addresses:
        ipaddress.ip_address(address)  # ValueError names the bad one
    return addresses


def _hostname(value: str) -> str:
    if not value or any(c.isspace() or c == "#" for c in value):
        raise ValueError(f"{value!r} is not a host name")
    return value


class HostArgs(StateArgs):
    name: Annotated[str, AfterValidator(_hostname)]
    ip: Annotated[list[str], BeforeValidator(_addresses), AfterValidator(_valid)] = Field(min_length=1)
    hosts_file: NodePath = HOSTS  # saline: another file than /etc/hosts (a container's rootfs)


class PresentArgs(HostArgs):
    clean: bool = False  # Salt: remove the name from every other address


class HostsFacts(Facts):
    text: str


def hosts_facts(args: HostArgs, ctx: StateContext) -> HostsFacts:
    try:
        return HostsFacts(text=ctx.runner.path(args.hosts_file).read_text())
    except FileNotFoundError:
        return HostsFacts(text="")


def _plan(args: HostArgs, facts: HostsFacts, new: str, changes: dict, comment: str) -> Plan:
    if new == facts.text:
        return Plan(comment=comment)
    step = WriteFileStep(description=f"Edit {args.hosts_file}", path=args.hosts_file, content=new.encode())
    return Plan(steps=[step], changes=changes)


@state_function("host.present", PresentArgs, facts=hosts_facts)
def present(args: PresentArgs, facts: HostsFacts) -> Plan:
    """``name`` on each of ``ip`` (and, with ``clean``, on no other address)."""
    text, changes = facts.text, {}
    have = hostsfile.names_by_address(text)
    for address in args.ip:
        if args.name not in have.get(address, []):
            text = hostsfile.add(text, address, args.name)
            changes.setdefault("added", {})[address] = [args.name]
    if args.clean:
        for address, names in have.items():
            if address not in args.ip and args.name in names:
                text = hostsfile.remove(text, address, args.name)
                changes.setdefault("removed", {})[address] = [args.name]
    return _plan(args, facts, text, changes, f"Host {args.name} ({', '.join(args.ip)}) already present")


@state_function("host.absent", HostArgs, facts=hosts_facts)
def absent(args: HostArgs, facts: HostsFacts) -> Plan:
    """``name`` on none of ``ip``."""
    text, changes = facts.text, {}
    have = hostsfile.names_by_address(text)
    for address in args.ip:
        if args.name in have.get(address, []):
            text = hostsfile.remove(text, address, args.name)
            changes.setdefault("removed", {})[address] = [args.name]
    return _plan(args, facts, text, changes, f"Host {args.name} ({', '.join(args.ip)}) already absent")
