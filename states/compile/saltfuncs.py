"""The ``salt`` object in templates (``saline`` is its alias): the read-only execution
functions formulas call while rendering — ``salt['pillar.get']('a:b', {})``,
``salt.grains.filter_by(...)``, ``salt['config.get']``, ``salt['defaults.merge']`` …

Templates render on the master, before anything reaches a node, from the agent's pillar
and facts. So a function that reads or changes the node itself (``cmd.run``,
``file.file_exists``, ``pkg.version`` …) cannot give the node's answer here: it is refused
at render with what to write instead, never answered from the master's own machine.
"""

from __future__ import annotations

import copy
import fnmatch
from collections.abc import Callable, Mapping
from typing import Any

from saline.states.compile.pillar import deep_merge
from saline.states.compile.render import CompileError

_MISSING = object()
DEFAULT_DELIMITER = ":"


def traverse(data: Any, key: str, default: Any = "", delimiter: str = DEFAULT_DELIMITER) -> Any:
    """Salt's traverse_dict_and_list: ``a:b:0`` walks mappings by key and lists by index."""
    value = data
    for part in str(key).split(delimiter):
        if isinstance(value, Mapping):
            if part in value:
                value = value[part]
                continue
            return default
        if isinstance(value, list):
            try:
                value = value[int(part)]
                continue
            except (ValueError, IndexError):
                return default
        return default
    return value


def _merged(value: Any, default: Any, merge: bool) -> Any:
    if merge and isinstance(value, Mapping) and isinstance(default, Mapping):
        return deep_merge(default, value)
    if merge and isinstance(value, list) and isinstance(default, list):
        return default + [v for v in value if v not in default]  # Salt: the default extended, no repeats
    return value


def getter(data: dict[str, Any]) -> Callable[..., Any]:
    def get(key: str, default: Any = "", delimiter: str = DEFAULT_DELIMITER, merge: bool = False, **_ignored: Any) -> Any:
        value = traverse(data, key, _MISSING, delimiter)
        if value is _MISSING:
            return default
        return copy.deepcopy(_merged(value, default, merge))
    return get


def item_getter(data: dict[str, Any]) -> Callable[..., dict[str, Any]]:
    def item(*keys: str, default: Any = "", delimiter: str = DEFAULT_DELIMITER) -> dict[str, Any]:
        return {key: traverse(data, key, default, delimiter) for key in keys}
    return item


def filter_by(grains: dict[str, Any]) -> Callable[..., Any]:
    """Salt's grains.filter_by: the entry of ``lookup_dict`` whose key matches the grain's
    value (glob), else ``default``'s; ``base`` merged under it, ``merge`` merged over it."""

    def run(lookup_dict: Mapping[str, Any], grain: str = "os_family", merge: Mapping | None = None,
            default: str = "default", base: str | None = None) -> Any:
        value = traverse(grains, grain, None)
        candidates = value if isinstance(value, list) else [value]
        ret = None
        for candidate in candidates:
            for key in lookup_dict:
                if candidate is not None and (key == str(candidate) or fnmatch.fnmatchcase(str(candidate), str(key))):
                    ret = lookup_dict[key]
                    break
            if ret is not None:
                break
        if ret is None:
            ret = lookup_dict.get(default)
        if base is not None and base in lookup_dict:
            ret = deep_merge(lookup_dict[base], ret or {}) if isinstance(ret, Mapping) or ret is None else ret
        if merge:
            if not isinstance(merge, Mapping):
                raise CompileError("grains.filter_by: merge must be a mapping")
            ret = deep_merge(ret or {}, merge)
        return copy.deepcopy(ret)

    return run


def _merge(dest: Any, upd: Any, *_args: Any, merge_lists: bool = False, **_kwargs: Any) -> Any:
    """defaults.merge / slsutil.merge: ``upd`` recursively over a copy of ``dest``."""
    if isinstance(dest, Mapping) and isinstance(upd, Mapping):
        out = copy.deepcopy(dict(dest))
        for key, value in upd.items():
            out[key] = _merge(out[key], value, merge_lists=merge_lists) if key in out else copy.deepcopy(value)
        return out
    if merge_lists and isinstance(dest, list) and isinstance(upd, list):
        return dest + [v for v in upd if v not in dest]
    return copy.deepcopy(upd)


def functions(pillar: dict[str, Any], grains: dict[str, Any]) -> dict[str, Callable[..., Any]]:
    """The functions a template may call, by Salt's names."""
    def config_get(key: str, default: Any = "", delimiter: str = DEFAULT_DELIMITER, merge: Any = None, **_: Any) -> Any:
        for source in (grains, pillar):  # Salt's order (after the minion config saline does not expose)
            value = traverse(source, key, _MISSING, delimiter)
            if value is not _MISSING:
                return copy.deepcopy(value)
        return default

    return {
        "pillar.get": getter(pillar),
        "pillar.fetch": getter(pillar),
        "pillar.item": item_getter(pillar),
        "pillar.items": lambda *a, **k: copy.deepcopy(pillar),
        "pillar.raw": lambda key=None: copy.deepcopy(pillar if key is None else pillar.get(key, {})),
        "pillar.keys": lambda key, delimiter=DEFAULT_DELIMITER: list(traverse(pillar, key, {}, delimiter) or {}),
        "grains.get": getter(grains),
        "grains.item": item_getter(grains),
        "grains.items": lambda *a, **k: copy.deepcopy(grains),
        "grains.ls": lambda: sorted(grains),
        "grains.filter_by": filter_by(grains),
        "config.get": config_get,
        "config.option": config_get,
        "defaults.merge": _merge,
        "defaults.deepcopy": copy.deepcopy,
        "slsutil.merge": _merge,
        "test.ping": lambda: True,
        "test.true": lambda: True,
        "test.false": lambda: False,
    }


# Functions that look at or change the node: what to write instead.
_NODE_ONLY_HINT = ("templates render on the master before anything reaches the node, so the node "
                   "cannot answer here: use a state with a guard (onlyif/unless/creates), a requisite, "
                   "or a fact the agent reports (grains)")


class _Module:
    def __init__(self, owner: "SaltFunctions", module: str):
        self._owner, self._module = owner, module

    def __getattr__(self, function: str) -> Callable[..., Any]:
        if function.startswith("__"):
            raise AttributeError(function)
        return self._owner[f"{self._module}.{function}"]


class SaltFunctions(Mapping):
    """``salt['pillar.get'](...)`` and ``salt.pillar.get(...)``; an unknown function is a
    render error naming the functions that exist."""

    def __init__(self, pillar: dict[str, Any], grains: dict[str, Any]):
        self._functions = functions(pillar, grains)

    def __getitem__(self, name: str) -> Callable[..., Any]:
        try:
            return self._functions[name]
        except KeyError:
            pass
        if not isinstance(name, str) or "." not in name:
            raise CompileError(f"salt[{name!r}]: name a function as 'module.function', like 'pillar.get'")
        raise CompileError(
            f"salt[{name!r}] is not available in templates: {_NODE_ONLY_HINT}. "
            f"Available: {', '.join(sorted(self._functions))}"
        )

    def __getattr__(self, module: str) -> _Module:
        if module.startswith("_"):
            raise AttributeError(module)
        return _Module(self, module)

    def __contains__(self, name: object) -> bool:
        return name in self._functions

    def __iter__(self):
        return iter(self._functions)

    def __len__(self) -> int:
        return len(self._functions)
