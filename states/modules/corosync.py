"""Corosync 3: ``corosync.conf`` from pillar and the shared ``authkey``.

``corosync.config`` renders the whole file from typed arguments (two or more nodes with
``name`` + ``ring0_addr`` on the cluster network, knet, ``two_node: 1`` for two nodes,
token, crypto). Every value is checked to be a plain word or address, so pillar data can
never inject a section into the file. It is written only when it differs.

A change never splits a running cluster. What corosync runs (``corosync-cmapctl``) is
compared with the wanted file (see ``states/system/corosync.py`` for what a reload can
apply and why):

* a change a reload applies (token, logging, a node added) is written and reloaded with
  ``corosync-cfgtool -R`` (which makes every node re-read its own file);
* a change a reload cannot apply on one node (crypto on/off or another cipher/hash,
  cluster_name, transport, a node's id or address) is refused on a running cluster,
  with the file unchanged, unless ``restart: cluster`` is set: then the file is written,
  *not* reloaded, and ``changes['restart_required']`` says exactly what the operator
  must do on the whole cluster;
* crypto needs the key: with crypto wanted and no key on the node the state refuses
  ("write the key first"); in one run ``corosync.config`` implicitly requires every
  ``corosync.authkey`` state, so the key is always written first.

``corosync.authkey`` writes the key the master distributes as a secret (base64 in the
arguments), mode 0400 root:root. The key is never shown in ``changes``. A reload re-reads
the key too, so replacing it while the running cluster uses crypto is refused unless
``restart: cluster`` (the same key must reach every node before anything reloads).
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
from saline.states.system import corosync as cmap

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
    # "cluster": a change that needs the whole cluster restarted may be written (not
    # reloaded); the state says what to do. Unset: such a change is refused while corosync runs.
    restart: Literal["cluster"] | None = None
    authkey: NodePath = AUTHKEY  # the key crypto needs (corosync's keyfile default)

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
    # What corosync runs (corosync-cmapctl), None when it does not run.
    runtime: cmap.CorosyncView | None = None
    key_present: bool = False


def running_view(ctx: StateContext) -> cmap.CorosyncView | None:
    """The running configuration, or None when corosync does not answer on this node."""
    if ctx.runner.run(["corosync-cfgtool", "-s"], timeout=30).rc != 0:
        return None
    result = ctx.runner.run(cmap.CMAPCTL_ARGV, timeout=30)
    return cmap.parse_cmap(result.stdout) if result.rc == 0 else None


def config_facts(args: ConfigArgs, ctx: StateContext) -> ConfigFacts:
    runtime = running_view(ctx)
    return ConfigFacts(file=observe(ctx.runner, args.path), running=runtime is not None, runtime=runtime,
                       key_present=ctx.runner.path(args.authkey).is_file())


@state_function("corosync.config", ConfigArgs, facts=config_facts)
def config(args: ConfigArgs, facts: ConfigFacts) -> Plan:
    """corosync.conf from pillar; reloaded when a reload applies the change, refused on a
    running cluster when it needs a cluster restart (unless ``restart: cluster``)."""
    current = facts.file
    if current.kind not in ("missing", "file"):
        raise Refuse(f"{args.path} is a {current.kind}, not a regular file")
    if not current.parent_exists:
        raise Refuse(f"the directory of {args.path} does not exist (is corosync installed?)")
    new = render(args)
    wanted = cmap.parse_conf(new)
    if wanted.crypto_on() and not facts.key_present:
        raise Refuse(f"crypto_cipher {args.crypto_cipher}/crypto_hash {args.crypto_hash} needs the key {args.authkey}, "
                     "which this node does not have: write the key first (corosync.authkey with the same key on every "
                     f"node, before corosync.config); {args.path} is unchanged")
    pending = cmap.restart_changes(facts.runtime, wanted) if facts.runtime is not None else []
    old = current.content.decode(errors="replace") if current.content is not None else None
    if old == new:
        comment = f"{args.path} is in the desired state"
        if pending:
            comment += f"; corosync still runs the old {_listing(pending)} until the cluster is restarted"
        return Plan(comment=comment)
    steps: list = [WriteFileStep(description=f"write {args.path}", path=args.path, content=new.encode(), mode=0o644)]
    changes: dict = {"diff": unified_diff(args.path, old, new)}
    if pending and args.restart != "cluster":
        raise Refuse(f"{_listing(pending, values=True)} cannot be changed on a running cluster by a reload: "
                     f"{_why(pending)} {args.path} is unchanged. To change it, set 'restart: cluster' on this state "
                     "(the file is then written without a reload and the state says how to restart the cluster), "
                     "or stop the cluster first.")
    if pending:
        changes["reloaded"] = False
        changes["restart_required"] = restart_instructions(pending, args.path)
    elif facts.running and args.reload:
        steps.append(CommandStep(description="reload corosync.conf on all nodes (corosync-cfgtool -R)",
                                 argv=["corosync-cfgtool", "-R"]))
        changes["reloaded"] = True
    return Plan(steps=steps, changes=changes)


def _listing(pending: list[cmap.RestartChange], values: bool = False) -> str:
    if values:
        return ", ".join(f"{c.what} ({c.old} → {c.new})" for c in pending)
    return ", ".join(c.what for c in pending)


def _why(pending: list[cmap.RestartChange]) -> str:
    if any(c.crypto for c in pending):
        return ("a reload makes every node switch to the crypto of its own file and key, so a node that switches "
                "before its peer cannot read the peer's packets and the cluster splits into two partitions.")
    return "corosync keeps the old value on a reload (or refuses the reload for a node's address)."


def restart_instructions(pending: list[cmap.RestartChange], path: str) -> list[str]:
    """What the operator must do to make a written, not reloaded, change run — in order."""
    steps = [f"Written, not reloaded: {_listing(pending, values=True)}.",
             f"1. Apply this state (restart: cluster) on every node, so {path} is the same everywhere.",
             "2. Do not run 'corosync-cfgtool -R' or apply a corosync.config that reloads before step 3: "
             "a reload would switch this node alone."]
    if all(c.crypto for c in pending):
        steps += ["3. Check that /etc/corosync/authkey is the same on every node, then run 'corosync-cfgtool -R' once "
                  "on one node: corosync 3.1 with knet switches the crypto of all nodes together; or restart the "
                  "cluster stack on all nodes ('crm cluster stop --all', then 'crm cluster start --all'; resources stop).",
                  "One node at a time is not possible: nodes with different crypto settings cannot see each other."]
    else:
        steps += ["3. Restart the cluster stack on all nodes together ('crm cluster stop --all', then "
                  "'crm cluster start --all'; every resource stops meanwhile). A rolling restart is not possible: "
                  "a node restarted with the new setting forms a cluster of its own."]
    return steps


# ---- corosync.authkey ----------------------------------------------------------------------


class AuthkeyArgs(StateArgs):
    path: NodePath = AUTHKEY
    key: str = Field(repr=False)  # base64 of the key bytes (a secret from the master)
    restart: Literal["cluster"] | None = None  # see corosync.config

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


class AuthkeyFacts(Facts):
    file: FileFacts
    running_crypto: bool  # corosync runs here with crypto on: it uses the current key


def authkey_facts(args: AuthkeyArgs, ctx: StateContext) -> AuthkeyFacts:
    runtime = running_view(ctx)
    return AuthkeyFacts(file=observe(ctx.runner, args.path, user="root", group="root"),
                        running_crypto=runtime is not None and runtime.crypto_on())


@state_function("corosync.authkey", AuthkeyArgs, facts=authkey_facts)
def authkey(args: AuthkeyArgs, facts: AuthkeyFacts) -> Plan:
    """The cluster's shared key, 0400 root:root; contents never shown. Not replaced under a
    running cluster that uses crypto unless ``restart: cluster``."""
    current = facts.file
    if current.kind not in ("missing", "file"):
        raise Refuse(f"{args.path} is a {current.kind}, not a regular file")
    if not current.parent_exists:
        raise Refuse(f"the directory of {args.path} does not exist (is corosync installed?)")
    mode, user, group = 0o400, "root", "root"
    if current.kind == "missing" or current.content != args.raw():
        verb = "create" if current.kind == "missing" else "replace"
        changes: dict = {"authkey": f"{verb}d", "mode": format_mode(mode)}
        if facts.running_crypto:
            if args.restart != "cluster":
                raise Refuse(f"the running cluster encrypts with the current key; a new key in {args.path} would be "
                             "used by this node alone at the next reload ('corosync-cfgtool -R' from any node) and split "
                             f"the cluster. {args.path} is unchanged. To change it, set 'restart: cluster' and follow "
                             "the steps the state reports.")
            changes["restart_required"] = [
                f"Written: {args.path}; corosync still uses the old key.",
                "1. Apply this state (restart: cluster) on every node, so the key is the same everywhere.",
                "2. Do not reload corosync before that: a reload makes each node switch to its own key file.",
                "3. Then restart the cluster stack on all nodes together ('crm cluster stop --all', then "
                "'crm cluster start --all'), or run 'corosync-cfgtool -R' once (knet switches the key on all nodes "
                "in one reload). One node at a time is not possible: nodes with different keys cannot see each other."]
        return Plan(
            steps=[WriteFileStep(description=f"{verb} {args.path} (0400 root:root)", path=args.path, content=args.raw(),
                                 mode=mode, user=user, group=group)],
            changes=changes,
        )
    changes = attr_changes(current, mode, user, group)
    if not changes:
        return Plan(comment=f"{args.path} is in the desired state")
    return Plan(steps=[SetAttrsStep(description=f"set {args.path} to 0400 root:root", path=args.path, mode=mode,
                                    user=user, group=group)], changes=changes)
