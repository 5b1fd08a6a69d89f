"""Reaction files: ``reactor_dir/*.yaml`` in the master's config directory.

Loaded once at master start; any error refuses the start with the file and line of the
offending entry, so a typo never silently disables a failover hook.

```yaml
clusters:                    # who is whose "peer"
  ha1: [node1, node2]
reactions:
  - name: garp-containers
    match: {tag: pacemaker/resource/start, rsc: "res_lxc_*", rc: 0}
    garp: {interface: br0, addresses: {res_lxc_ct1: [192.0.2.10]}}
  - name: notify
    match: {tag: "pacemaker/node/lost"}
    command: [/usr/local/bin/page-oncall, "{node}", "{tag}"]
    timeout: 10
```
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from saline.protocol.config import ConfigError
from saline.protocol.messages import FunName
from saline.protocol.netaddr import MAC, IPv4

from .guard import pacemaker_conflict

# Fields a match may name (besides tag): the agent the event came from and the alert's fields.
MATCH_FIELDS = ("node", "kind", "rsc", "task", "rc", "target_rc", "status", "desc", "attribute_name")
PLACEHOLDERS = {"node", "peer", "tag", "rsc", "task", "kind", "desc", "rc"}
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_IFACE = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,14}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Match(_Model):
    tag: str = Field(min_length=1, max_length=128)  # a glob
    # Field → glob (text) or exact value (numbers); every one must match.
    fields: dict[str, str | int] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _flat(cls, value: Any) -> Any:
        # Written flat in YAML ({tag: ..., rsc: ..., rc: 0}); kept apart here.
        if isinstance(value, dict) and "fields" not in value:
            value = dict(value)
            tag = value.pop("tag", None)
            unknown = sorted(set(value) - set(MATCH_FIELDS))
            if unknown:
                raise ValueError(f"cannot match on {', '.join(map(str, unknown))} (fields: tag, {', '.join(MATCH_FIELDS)})")
            return {"tag": tag, "fields": value}
        return value


class RunAction(_Model):
    target: str = Field(min_length=1, max_length=256)  # {node}, peer, or a glob
    fun: FunName
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)

    @field_validator("fun")
    @classmethod
    def _not_state(cls, value: str) -> str:
        if value.startswith("state."):
            raise ValueError("run a state with `apply:` (its SLS files are checked at load), not with `run:`")
        return value


class ApplyAction(_Model):
    target: str = Field(min_length=1, max_length=256)
    states: list[str] = Field(min_length=1)  # named SLS files; never a whole highstate from an event
    test: bool = False


class GarpAction(_Model):
    """Gratuitous ARP from the node the resource started on (agent/fn_net.py)."""

    interface: str = Field(default="br0", pattern=_IFACE)
    count: int = Field(default=3, ge=1, le=10)
    # resource id (or glob) → its addresses, and optionally → the MAC to announce them with
    addresses: dict[str, list[IPv4]] = Field(min_length=1)
    macs: dict[str, MAC] = Field(default_factory=dict)


class Reaction(_Model):
    name: str = Field(pattern=_NAME)
    match: Match
    run: RunAction | None = None
    apply: ApplyAction | None = None
    command: list[str] | None = Field(default=None, min_length=1)  # argv on the master, no shell
    garp: GarpAction | None = None
    timeout: float = Field(default=30.0, gt=0, le=3600)
    # After firing for a key, ignore further matches for that key this many seconds.
    debounce: float = Field(default=0.0, ge=0, le=86400)
    # One reaction running per key at a time; the key is formatted from the event.
    key: str = "{node}:{rsc}"
    # An event older than this (delivered late after a master restart) is not acted on.
    max_age: float = Field(default=300.0, gt=0)
    enabled: bool = True

    @model_validator(mode="after")
    def _one_action(self) -> "Reaction":
        actions = [n for n in ("run", "apply", "command", "garp") if getattr(self, n) is not None]
        if len(actions) != 1:
            raise ValueError(f"give exactly one action of run, apply, command, garp (got {', '.join(actions) or 'none'})")
        run_text = [self.run.target, *_strings([self.run.args, self.run.kwargs])] if self.run else []
        for text in [self.key, *(self.command or []), *run_text, *([self.apply.target] if self.apply else [])]:
            for name in re.findall(r"\{([^}]*)\}", text):
                if name not in PLACEHOLDERS:
                    raise ValueError(f"unknown placeholder {{{name}}} in {text!r} (known: {', '.join(sorted(PLACEHOLDERS))})")
        return self

    @property
    def action(self) -> str:
        return next(n for n in ("run", "apply", "command", "garp") if getattr(self, n) is not None)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    return [s for v in value for s in _strings(v)] if isinstance(value, list) else []


class ReactorFile(_Model):
    clusters: dict[str, Annotated[list[str], Field(min_length=2, max_length=2)]] = Field(default_factory=dict)
    reactions: list[Reaction] = Field(default_factory=list)


class ReactorConfig(BaseModel):
    reactions: list[Reaction]
    peers: dict[str, str]


# ---- YAML with line numbers ----------------------------------------------------------------


class _Lines(dict):
    line = 0


class _LineList(list):
    line = 0


class _Loader(yaml.SafeLoader):
    pass


def _mapping(loader: _Loader, node: yaml.MappingNode) -> _Lines:
    out = _Lines(loader.construct_mapping(node, deep=True))
    out.line = node.start_mark.line + 1
    return out


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> _LineList:
    out = _LineList(loader.construct_sequence(node, deep=True))
    out.line = node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


def _line_of(data: Any, loc: tuple) -> int:
    """The line of the deepest YAML node on the error's path."""
    line = getattr(data, "line", 1)
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            break
        line = getattr(data, "line", line)
    return line


def load_file(path: Path, state_roots: list[Path]) -> ReactorFile:
    try:
        data = yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise ConfigError(f"{path}:{line}: not valid YAML: {exc.problem}") from None
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if data is None:
        return ReactorFile()
    try:
        parsed = ReactorFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{path}:{_line_of(data, err['loc'])}: {where}: {err['msg']}") from None
    for i, reaction in enumerate(parsed.reactions):
        problem = pacemaker_conflict(reaction, state_roots)
        if problem:
            raise ConfigError(f"{path}:{_line_of(data, ('reactions', i))}: reaction {reaction.name!r} refused: {problem}")
    return parsed


def load_reactor(directory: Path | None, state_roots: list[Path]) -> ReactorConfig:
    reactions: list[Reaction] = []
    peers: dict[str, str] = {}
    seen: dict[str, Path] = {}
    if directory is None or not Path(directory).is_dir():
        return ReactorConfig(reactions=[], peers={})
    for path in sorted(Path(directory).glob("*.yaml")):
        parsed = load_file(path, state_roots)
        for r in parsed.reactions:
            if r.name in seen:
                raise ConfigError(f"{path}: reaction {r.name!r} is defined twice (also in {seen[r.name]})")
            seen[r.name] = path
        reactions += parsed.reactions
        for name, (a, b) in parsed.clusters.items():
            if a == b:
                raise ConfigError(f"{path}: cluster {name}: a node cannot be its own peer")
            peers[a], peers[b] = b, a
    return ReactorConfig(reactions=reactions, peers=peers)
