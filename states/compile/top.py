"""Top files: which SLS names apply to an agent (Salt's ``base: {'glob': [sls, ...]}``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from saline.states.compile.matchers import MATCHERS, MatchError, Subject, match
from saline.states.compile.render import SALT_URL, CompileError, NotInRoots, environment, render_yaml_file, resolve_in_roots

TOP_FILES = ("top.sls", "top.yaml")


def find_top(roots: Sequence[Path]) -> Path | None:
    for name in TOP_FILES:
        try:
            return resolve_in_roots(roots, name)
        except NotInRoots:
            continue
    return None


@dataclass
class TopEntry:
    match: str = "glob"
    names: list[str] = field(default_factory=list)
    # ``- sources: [glob, ...]``: the only ``source:`` files the matching agents may get.
    sources: list[str] | None = None


def _sources(where: str, target: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise CompileError(f"{where}: target {target!r}: sources: expected a list of path globs (e.g. ['files/common/*'])")
    return [v[len(SALT_URL):] if v.startswith(SALT_URL) else v for v in value]


def _target_entries(where: str, target: str, entries: Any) -> TopEntry:
    if not isinstance(entries, list):
        raise CompileError(f"{where}: target {target!r} must map to a list of SLS names")
    entry_out = TopEntry()
    for entry in entries:
        if isinstance(entry, str):
            entry_out.names.append(entry)
        elif isinstance(entry, dict) and list(entry) == ["match"]:
            entry_out.match = str(entry["match"])
        elif isinstance(entry, dict) and list(entry) == ["sources"]:
            entry_out.sources = _sources(where, target, entry["sources"])
        else:
            raise CompileError(f"{where}: target {target!r}: unexpected entry {entry!r}")
    if entry_out.match not in MATCHERS:
        raise CompileError(f"{where}: target {target!r}: match type {entry_out.match!r} is not supported ({', '.join(MATCHERS)})")
    return entry_out


def environments(top: Mapping[str, Any], where: str, saltenv: str | None) -> list[str]:
    """The environments whose targets apply: ``saltenv`` alone, or all of them, ``base`` first
    (Salt's default top_file_merging_strategy: merge). saline has one set of state roots, so
    every environment's SLS names are found in the same roots."""
    if saltenv is not None:
        if saltenv not in top:
            raise CompileError(f"{where}: no environment {saltenv!r} in the top file (it has {', '.join(map(str, top))})")
        return [saltenv]
    return sorted(map(str, top), key=lambda env: env != "base")


def matching_entries(top: Any, agent_id: str, where: str, context: Mapping[str, Any] | None = None,
                     saltenv: str | None = None) -> list[TopEntry]:
    """The top file's entries whose target matches ``agent_id`` (its grains and pillar from
    ``context``), in top-file order."""
    if top is None:
        return []
    if not isinstance(top, dict):
        raise CompileError(f"{where}: a top file is a mapping of environments (base: ...)")
    subject = Subject(agent_id, (context or {}).get("grains") or {}, (context or {}).get("pillar") or {})
    matched: list[TopEntry] = []
    for env in environments(top, where, saltenv):
        targets = top.get(env) or {}
        if not isinstance(targets, dict):
            raise CompileError(f"{where}: {env!r} must map targets to lists of SLS names")
        for target, raw in targets.items():
            entry = _target_entries(where, str(target), raw)
            try:
                if match(entry.match, str(target), subject):
                    matched.append(entry)
            except MatchError as exc:
                raise CompileError(f"{where}: {env}: target {target!r}: {exc}") from None
    return matched


def matching_sls(top: Any, agent_id: str, where: str, context: Mapping[str, Any] | None = None,
                 saltenv: str | None = None) -> list[str]:
    """The SLS names for ``agent_id``, in top-file order, each once."""
    return list(dict.fromkeys(n for e in matching_entries(top, agent_id, where, context, saltenv) for n in e.names))


def allowed_sources(top: Any, agent_id: str, where: str, context: Mapping[str, Any] | None = None) -> list[str] | None:
    """The ``source:`` globs ``agent_id`` may use: the union over its matching targets that
    say ``sources``; None (no restriction) when none of them does."""
    lists = [e.sources for e in matching_entries(top, agent_id, where, context) if e.sources is not None]
    return None if not lists else list(dict.fromkeys(g for globs in lists for g in globs))


def read_top(roots: Sequence[Path], context: dict[str, Any]) -> tuple[Path | None, Any]:
    """The roots' top file, rendered (None, None without one)."""
    path = find_top(roots)
    if path is None:
        return None, None
    return path, render_yaml_file(environment(roots), path, context)


def top_sls(roots: Sequence[Path], context: dict[str, Any], agent_id: str) -> tuple[Path | None, list[str]]:
    """Render the roots' top file and return it with the SLS names that match the agent."""
    path, top = read_top(roots, context)
    return path, matching_sls(top, agent_id, str(path), context, context.get("saltenv"))
