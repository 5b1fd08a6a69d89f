"""Top files: which SLS names apply to an agent (Salt's ``base: {'glob': [sls, ...]}``)."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from saline.states.compile.render import CompileError, NotInRoots, environment, render_yaml_file, resolve_in_roots

TOP_FILES = ("top.sls", "top.yaml")
# Salt's match types that make sense without grains matching on the master.
MATCHERS = {
    "glob": lambda agent_id, target: fnmatch.fnmatchcase(agent_id, target),
    "list": lambda agent_id, target: agent_id in [t.strip() for t in target.split(",")],
}


def find_top(roots: Sequence[Path]) -> Path | None:
    for name in TOP_FILES:
        try:
            return resolve_in_roots(roots, name)
        except NotInRoots:
            continue
    return None


def _target_entries(where: str, target: str, entries: Any) -> tuple[str, list[str]]:
    if not isinstance(entries, list):
        raise CompileError(f"{where}: target {target!r} must map to a list of SLS names")
    match, names = "glob", []
    for entry in entries:
        if isinstance(entry, str):
            names.append(entry)
        elif isinstance(entry, dict) and list(entry) == ["match"]:
            match = str(entry["match"])
        else:
            raise CompileError(f"{where}: target {target!r}: unexpected entry {entry!r}")
    if match not in MATCHERS:
        raise CompileError(f"{where}: target {target!r}: match type {match!r} is not supported ({', '.join(MATCHERS)})")
    return match, names


def matching_sls(top: Any, agent_id: str, where: str) -> list[str]:
    """The SLS names for ``agent_id``, in top-file order, each once."""
    if top is None:
        return []
    if not isinstance(top, dict):
        raise CompileError(f"{where}: a top file is a mapping of environments (base: ...)")
    others = [env for env in top if env != "base"]
    if others:
        raise CompileError(f"{where}: only the 'base' environment is supported, found {', '.join(map(str, others))}")
    targets = top.get("base") or {}
    if not isinstance(targets, dict):
        raise CompileError(f"{where}: 'base' must map targets to lists of SLS names")
    names: list[str] = []
    for target, entries in targets.items():
        match, sls_names = _target_entries(where, str(target), entries)
        if MATCHERS[match](agent_id, str(target)):
            names.extend(sls_names)
    return list(dict.fromkeys(names))


def top_sls(roots: Sequence[Path], context: dict[str, Any], agent_id: str) -> tuple[Path | None, list[str]]:
    """Render the roots' top file and return it with the SLS names that match the agent."""
    path = find_top(roots)
    if path is None:
        return None, []
    return path, matching_sls(render_yaml_file(environment(roots), path, context), agent_id, str(path))
