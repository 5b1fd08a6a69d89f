"""Corosync 3: its configuration as data, and which changes a reload can apply.

A ``corosync.conf`` text and the running configuration (``corosync-cmapctl`` output) are
both read into one :class:`CorosyncView`, so the file saline wants can be compared with
what corosync *runs*, not only with the file on disk (a file written for a later restart
is not running yet).

What a reload (``corosync-cfgtool -R``, which makes *every* node re-read its own file)
does with each change, from Corosync 3.1.7's source (exec/cfg.c ``remove_ro_entries``,
exec/totemconfig.c ``check_things_have_not_changed`` and ``totem_get_crypto``), checked
on the lab (tests/cluster/test_corosync_lab.py):

* ``cluster_name``, ``transport``, ``version``, ``ip_version``, ``netmtu``,
  ``quorum.provider``: "cannot be changed at run-time" — the reload keeps the old value;
* the address of an existing node id: the reload fails ("To reconfigure an interface it
  must be deleted and recreated");
* ``crypto_cipher``/``crypto_hash`` and the key: with knet (Debian 12) a reload switches
  them, but on every node at once from that node's own file and key. A node whose file
  or key differs ends up with other crypto than its peers: they cannot read each other's
  packets and the cluster splits into partitions. So crypto changes only cluster-wide:
  the same file and key on every node first, then one reload (or a restart of all nodes);
* token and other timers, logging, nodes added or removed: a reload applies them.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

CMAPCTL_ARGV = ["corosync-cmapctl"]

# Read-only at run time (exec/cfg.c remove_ro_entries, Corosync 3.1.7).
RESTART_ONLY = ("cluster_name", "transport", "version", "ip_version", "netmtu")
CRYPTO = ("crypto_cipher", "crypto_hash")
# corosync.conf(5) defaults, so a file that leaves a key out compares equal to one that spells it.
TOTEM_DEFAULTS = {"transport": "knet", "crypto_cipher": "none", "crypto_hash": "none", "version": "2"}


class ConfSyntaxError(ValueError):
    """A corosync.conf text saline cannot read (corosync would refuse it too)."""


class CorosyncView(BaseModel):
    """The parts of a corosync configuration whose change decides reload vs restart."""

    model_config = ConfigDict(extra="forbid")

    totem: dict[str, str] = Field(default_factory=dict)
    # node name → {"nodeid": ..., "ring0_addr": ...}
    nodes: dict[str, dict[str, str]] = Field(default_factory=dict)
    quorum_provider: str | None = None

    def crypto(self) -> tuple[str, str]:
        return self.totem.get("crypto_cipher", "none"), self.totem.get("crypto_hash", "none")

    def crypto_on(self) -> bool:
        return self.crypto() != ("none", "none")


def _with_defaults(totem: dict[str, str]) -> dict[str, str]:
    out = {**TOTEM_DEFAULTS, **totem}
    # secauth: on means aes256 + sha256 unless those are set (corosync.conf(5)).
    if out.pop("secauth", "off") in ("on", "yes", "1"):
        out["crypto_cipher"] = totem.get("crypto_cipher", "aes256")
        out["crypto_hash"] = totem.get("crypto_hash", "sha256")
    return out


def parse_conf(text: str) -> CorosyncView:
    """``corosync.conf`` text → view. Raises ConfSyntaxError on unbalanced braces."""
    stack: list[str] = []
    totem: dict[str, str] = {}
    nodes: list[dict[str, str]] = []
    quorum: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.endswith("{"):
            stack.append(line[:-1].strip())
            if stack == ["nodelist", "node"]:
                nodes.append({})
            continue
        if line == "}":
            if not stack:
                raise ConfSyntaxError("unbalanced '}' in corosync.conf")
            stack.pop()
            continue
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if stack == ["totem"]:
            totem[key] = value
        elif stack == ["nodelist", "node"]:
            nodes[-1][key] = value
        elif stack == ["quorum"]:
            quorum[key] = value
    if stack:
        raise ConfSyntaxError(f"section {stack[-1]!r} is not closed in corosync.conf")
    return CorosyncView(totem=_with_defaults(totem), nodes=_nodes(nodes), quorum_provider=quorum.get("provider"))


def _nodes(entries: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for n, entry in enumerate(entries, start=1):
        name = entry.get("name") or entry.get("ring0_addr") or f"#{n}"
        out[name] = {k: v for k, v in entry.items() if k in ("nodeid", "ring0_addr")}
    return out


_CMAP_LINE = re.compile(r"^(?P<key>[^ ]+) \((?P<type>[a-z0-9]+)\) = (?P<value>.*)$")


def parse_cmap(text: str) -> CorosyncView:
    """``corosync-cmapctl`` output (the running configuration) → view."""
    totem: dict[str, str] = {}
    by_index: dict[str, dict[str, str]] = {}
    provider = None
    for line in text.splitlines():
        m = _CMAP_LINE.match(line)
        if not m:
            continue
        key, value = m.group("key"), m.group("value").strip()
        parts = key.split(".")
        if parts[0] == "totem" and len(parts) == 2:
            totem[parts[1]] = value
        elif parts[0] == "nodelist" and len(parts) == 4 and parts[1] == "node":
            by_index.setdefault(parts[2], {})[parts[3]] = value
        elif key == "quorum.provider":
            provider = value
    entries = [by_index[i] for i in sorted(by_index, key=lambda s: int(s) if s.isdigit() else 0)]
    return CorosyncView(totem=_with_defaults(totem), nodes=_nodes(entries), quorum_provider=provider)


class RestartChange(BaseModel):
    """One difference a reload on one node cannot apply safely."""

    what: str  # "crypto_cipher", "cluster_name", "node node2 ring0_addr" …
    old: str | None
    new: str | None
    crypto: bool = False  # cluster-wide: the same file and key on every node first


def restart_changes(running: CorosyncView, wanted: CorosyncView) -> list[RestartChange]:
    """What differs between the running configuration and the wanted one that a reload
    on this node cannot apply (see the module docstring for why each one)."""
    out: list[RestartChange] = []
    for key in RESTART_ONLY + CRYPTO:
        old, new = running.totem.get(key), wanted.totem.get(key)
        if old != new:
            out.append(RestartChange(what=key, old=old, new=new, crypto=key in CRYPTO))
    if running.quorum_provider != wanted.quorum_provider and running.quorum_provider is not None:
        out.append(RestartChange(what="quorum provider", old=running.quorum_provider, new=wanted.quorum_provider))
    for name, node in wanted.nodes.items():
        if name not in running.nodes:
            continue  # a new node: a reload adds it
        for key in ("nodeid", "ring0_addr"):
            old, new = running.nodes[name].get(key), node.get(key)
            if old is not None and old != new:
                out.append(RestartChange(what=f"node {name} {key}", old=old, new=new))
    return out
