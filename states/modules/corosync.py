"""Corosync 3: ``corosync.conf`` from pillar and the shared ``authkey``.

``corosync.config`` renders the whole file from typed arguments (two or more nodes with
``name`` + ``ring0_addr`` on the cluster network, knet, ``two_node: 1`` for two nodes,
token, crypto). Every value is checked to be a plain word or address, so pillar data can
never inject a section into the file. It is written only when it differs and then, if
corosync is running, reloaded with ``corosync-cfgtool -R`` (which tells every node to
re-read its own file: apply the state on both nodes).

``corosync.authkey`` writes the key the master distributes as a secret (base64 in the
arguments), mode 0400 root:root. The key is never shown in ``changes``. Corosync reads
the key only at start: a changed key needs a restart of the cluster stack, which the
state says in its changes rather than doing behind the operator's back.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from saline.states.engine.base import CommandStep, Facts, Plan, Refuse, SetAttrsStep, StateArgs, StateContext, WriteFileStep, state_function
from saline.states.engine.modes import format_mode
from saline.states.modules.file import FileFacts, attr_changes, observe
from saline.states.engine.paths import NodePath
from saline.states.engine.textdiff import unified_diff

CONF = "/etc/corosync/corosync.conf"
AUTHKEY = "/etc/corosync/authkey"
# corosync-keygen writes 256 bytes; corosync accepts 128 to 4096 (1024 to 32768 bits).
KEY_MIN, KEY_MAX = 128, 4096


def _word(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", value):
        raise ValueError(f"{value!r} must be a plain name (letters, digits, '_', '.', '-')")
    return value


def _address(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return _word(value)  # a resolvable host name


Word = Annotated[str, AfterValidator(_word)]
Address = Annotated[str, AfterValidator(_address)]


class CorosyncNode(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Word
    ring0_addr: Address
    nodeid: int | None = Field(default=None, ge=1)


class ConfigArgs(StateArgs):
    path: NodePath = CONF
    cluster_name: Word
    nodes: list[CorosyncNode] = Field(min_length=2)
    # The cluster (eth1) network, e.g. 10.77.0.0/24: every ring0_addr must be in it.
    network: str | None = None
    transport: Literal["knet", "udpu", "udp"] = "knet"
    token: int = Field(default=3000, ge=100, le=600000)
    crypto_cipher: Literal["none", "aes256", "aes192", "aes128"] = "aes256"
    crypto_hash: Literal["none", "md5", "sha1", "sha256", "sha384", "sha512"] = "sha256"
    logfile: NodePath | None = "/var/log/corosync/corosync.log"
    reload: bool = True

    @field_validator("logfile")
    @classmethod
    def _plain_path(cls, value: str | None) -> str | None:
        # A newline or brace in a value would start a new line or section in the file.
        if value is not None and re.search(r"[\s{}#]", value):
            raise ValueError(f"logfile {value!r} must not contain whitespace, braces or '#'")
        return value

    @field_validator("network")
    @classmethod
    def _network(cls, value: str | None) -> str | None:
        return None if value is None else str(ipaddress.ip_network(value, strict=False))

    @model_validator(mode="after")
    def _consistent(self) -> "ConfigArgs":
        for what, values in (("node name", [n.name for n in self.nodes]), ("ring0_addr", [n.ring0_addr for n in self.nodes]),
                             ("nodeid", [i for i, _ in self.numbered()])):
            if len(set(values)) != len(values):
                raise ValueError(f"duplicate {what} in nodes: {values}")
        if self.network is not None:
            net = ipaddress.ip_network(self.network)
            outside = [n.ring0_addr for n in self.nodes if not _in(n.ring0_addr, net)]
            if outside:
                raise ValueError(f"ring0_addr {', '.join(outside)} not in the cluster network {self.network}")
        if self.crypto_cipher != "none" and self.crypto_hash == "none":
            raise ValueError("crypto_cipher needs a crypto_hash (corosync refuses a cipher without a hash)")
        return self

    def numbered(self) -> list[tuple[int, CorosyncNode]]:
        return [(n.nodeid or i, n) for i, n in enumerate(self.nodes, start=1)]


def _in(addr: str, net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        return ipaddress.ip_address(addr) in net
    except ValueError:
        return False  # a host name cannot be checked against the network


def render(args: ConfigArgs) -> str:
    """corosync.conf. Nothing follows '{' on a line: corosync's parser rejects it."""
    lines = ["# Managed by saline (corosync.config): local edits are replaced.", "totem {", "    version: 2",
             f"    cluster_name: {args.cluster_name}", f"    transport: {args.transport}", f"    token: {args.token}",
             f"    crypto_cipher: {args.crypto_cipher}", f"    crypto_hash: {args.crypto_hash}", "}", "", "nodelist {"]
    for nodeid, node in args.numbered():
        lines += ["    node {", f"        name: {node.name}", f"        nodeid: {nodeid}",
                  f"        ring0_addr: {node.ring0_addr}", "    }"]
    lines += ["}", "", "quorum {", "    provider: corosync_votequorum"]
    if len(args.nodes) == 2:
        lines.append("    two_node: 1")
    lines += ["}", "", "logging {", "    to_syslog: yes", "    timestamp: on"]
    if args.logfile:
        lines += ["    to_logfile: yes", f"    logfile: {args.logfile}"]
    lines += ["}", ""]
    return "\n".join(lines)


class ConfigFacts(Facts):
    file: FileFacts
    running: bool  # corosync answers on this node (corosync-cfgtool -s)


def config_facts(args: ConfigArgs, ctx: StateContext) -> ConfigFacts:
    running = ctx.runner.run(["corosync-cfgtool", "-s"], timeout=30).rc == 0
    return ConfigFacts(file=observe(ctx.runner, args.path), running=running)


@state_function("corosync.config", ConfigArgs, facts=config_facts)
def config(args: ConfigArgs, facts: ConfigFacts) -> Plan:
    """corosync.conf from pillar; reloaded when it changed and corosync runs."""
    current = facts.file
    if current.kind not in ("missing", "file"):
        raise Refuse(f"{args.path} is a {current.kind}, not a regular file")
    if not current.parent_exists:
        raise Refuse(f"the directory of {args.path} does not exist (is corosync installed?)")
    new = render(args)
    old = current.content.decode(errors="replace") if current.content is not None else None
    if old == new:
        return Plan(comment=f"{args.path} is in the desired state")
    steps: list = [WriteFileStep(description=f"write {args.path}", path=args.path, content=new.encode(), mode=0o644)]
    changes: dict = {"diff": unified_diff(args.path, old, new)}
    if facts.running and args.reload:
        steps.append(CommandStep(description="reload corosync.conf on all nodes (corosync-cfgtool -R)",
                                 argv=["corosync-cfgtool", "-R"]))
        changes["reloaded"] = True
        # A reload does not apply these (corosync's "Config file values": not changeable at
        # runtime): say so instead of letting "reloaded" suggest the cluster runs them.
        unreloadable = [k for k in RESTART_ONLY_KEYS if old is not None and _totem_value(old, k) != _totem_value(new, k)]
        if unreloadable:
            changes["restart_required"] = (f"{', '.join(unreloadable)} changed: a reload cannot apply it; "
                                           "restart corosync on every node")
    return Plan(steps=steps, changes=changes)


RESTART_ONLY_KEYS = ("transport", "cluster_name")


def _totem_value(conf: str, key: str) -> str | None:
    """The value of ``key`` in the totem section of a corosync.conf text (None if absent)."""
    section = re.search(r"^totem\s*\{(.*?)^\}", conf, re.M | re.S)
    found = section and re.search(rf"^\s*{key}:\s*(\S+)\s*$", section.group(1), re.M)
    return found.group(1) if found else None


# ---- corosync.authkey ----------------------------------------------------------------------


class AuthkeyArgs(StateArgs):
    path: NodePath = AUTHKEY
    key: str = Field(repr=False)  # base64 of the key bytes (a secret from the master)

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("key must be base64 (e.g. base64 -w0 /etc/corosync/authkey)") from None
        if not KEY_MIN <= len(raw) <= KEY_MAX:
            raise ValueError(f"key is {len(raw)} bytes; corosync needs {KEY_MIN} to {KEY_MAX}")
        return value

    def raw(self) -> bytes:
        return base64.b64decode(self.key)


def authkey_facts(args: AuthkeyArgs, ctx: StateContext) -> FileFacts:
    return observe(ctx.runner, args.path, user="root", group="root")


@state_function("corosync.authkey", AuthkeyArgs, facts=authkey_facts)
def authkey(args: AuthkeyArgs, facts: FileFacts) -> Plan:
    """The cluster's shared key, 0400 root:root; contents never shown."""
    if facts.kind not in ("missing", "file"):
        raise Refuse(f"{args.path} is a {facts.kind}, not a regular file")
    if not facts.parent_exists:
        raise Refuse(f"the directory of {args.path} does not exist (is corosync installed?)")
    mode, user, group = 0o400, "root", "root"
    if facts.kind == "missing" or facts.content != args.raw():
        verb = "create" if facts.kind == "missing" else "replace"
        return Plan(
            steps=[WriteFileStep(description=f"{verb} {args.path} (0400 root:root)", path=args.path, content=args.raw(),
                                 mode=mode, user=user, group=group)],
            changes={"authkey": f"{verb}d" + ("" if facts.kind == "missing" else "; restart corosync on every node to use it"),
                     "mode": format_mode(mode)},
        )
    changes = attr_changes(facts, mode, user, group)
    if not changes:
        return Plan(comment=f"{args.path} is in the desired state")
    return Plan(steps=[SetAttrsStep(description=f"set {args.path} to 0400 root:root", path=args.path, mode=mode,
                                    user=user, group=group)], changes=changes)
