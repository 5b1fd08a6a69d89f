"""Pillar: per-agent data from a pillar tree (top file → pillar SLS files, deep-merged).

The master compiles pillar for one agent at a time and only that agent's pillar
goes into its job, so an agent never sees another agent's secrets.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from saline.states.compile.render import CompileError, environment, render_yaml_file, template_context
from saline.states.compile.sls import load_tree
from saline.states.compile.top import top_sls


def deep_merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Dicts merge recursively; anything else (lists included) in ``update`` replaces (Salt's default)."""
    merged = copy.deepcopy(dict(base))
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_pillar(pillar_roots: Sequence[Path], agent_id: str, node: dict[str, Any]) -> dict[str, Any]:
    """The pillar of ``agent_id``: the top file's matching SLS files merged in order.

    Pillar SLS files are rendered with the node's facts (``grains``/``facts``) and
    ``agent_id``; ``pillar`` is empty there (pillar cannot depend on itself). No top
    file, or no matching target, is an empty pillar.
    """
    roots = [Path(r) for r in pillar_roots]
    _, names = top_sls(roots, template_context({}, node, agent_id), agent_id)
    env = environment(roots)

    def render(name: str, path: Path) -> Any:
        return render_yaml_file(env, path, template_context({}, node, agent_id, sls=name))

    pillar: dict[str, Any] = {}
    for sls in load_tree(roots, names, render):
        pillar = deep_merge(pillar, sls.data)
    return pillar


def pillar_path(pillar: Mapping[str, Any], path: str, where: str) -> Any:
    """Salt's colon path lookup (``drbd:r0:port``), used by ``contents_pillar``."""
    value: Any = pillar
    for part in path.split(":"):
        if not isinstance(value, Mapping) or part not in value:
            raise CompileError(f"{where}: pillar key {path!r} does not exist")
        value = value[part]
    return value
