"""Salt's SLS shape → state declarations (one per ID and module), requisites split off.

Accepted shapes, as Salt accepts them::

    ID: {file.managed: [{name: /etc/x}, {mode: '0644'}, {require: [{pkg: vim}]}]}
    ID: {file: [managed, {name: /etc/x}]}
    ID: pkg.installed                  # no arguments
    ID: {pkg.installed: []}            # same
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from saline.states.compile.render import CompileError
from saline.states.compile.requisites import REQUISITES, UNSUPPORTED_REQUISITES
from saline.states.compile.sls import SlsFile

REQUISITES_IN = tuple(f"{kind}_in" for kind in REQUISITES)
# Salt's arguments every state takes, handled by the compiler and engine, not the module.
ORDER_KEYS = ("order", "failhard")


@dataclass(frozen=True)
class Ref:
    """A requisite reference: ``{module: ID_or_name}``, ``{sls: name}`` or a bare ID (module None)."""

    kind: str  # require, watch, onchanges, onfail
    module: str | None
    target: str

    def __str__(self) -> str:
        return f"{self.module}: {self.target}" if self.module else self.target


@dataclass
class Declaration:
    sls_id: str
    fun: str
    args: dict[str, Any]
    sls: str
    path: Path
    refs: list[Ref] = field(default_factory=list)
    refs_in: list[Ref] = field(default_factory=list)  # from require_in/watch_in/...: kind without "_in"
    order: Any = None  # Salt's order: an int, "first" or "last"
    failhard: bool = False
    use: list[Ref] = field(default_factory=list)  # Salt's use: take another state's arguments as defaults
    name_order: int = 0  # position in a names: list (1-based), 0 without one

    @property
    def module(self) -> str:
        return self.fun.split(".", 1)[0]

    def where(self) -> str:
        return f"{self.path}: state {self.sls_id!r}"


def _scalar_text(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    return str(value)


def _refs(where: str, kind: str, raw: Any) -> list[Ref]:
    items = raw if isinstance(raw, list) else [raw]
    refs: list[Ref] = []
    for item in items:
        if _scalar_text(item) is not None:
            refs.append(Ref(kind, None, _scalar_text(item)))
            continue
        if not isinstance(item, dict) or not item:
            raise CompileError(f"{where}: {kind}: expected 'module: ID_or_name', 'sls: name' or an ID, got {item!r}")
        for module, target in item.items():
            if _scalar_text(target) is None:
                raise CompileError(f"{where}: {kind}: target of {module!r} must be an ID or name, got {target!r}")
            refs.append(Ref(kind, str(module), _scalar_text(target)))
    return refs


def _arg_items(where: str, items: Any, bare_function_ok: bool) -> tuple[str | None, dict[str, Any]]:
    """A Salt argument list → (function named bare in the list, args)."""
    if items is None:
        return None, {}
    if not isinstance(items, list):
        raise CompileError(f"{where}: arguments must be a list of 'key: value' items, got {type(items).__name__}")
    function: str | None = None
    args: dict[str, Any] = {}
    for item in items:
        if isinstance(item, str) and bare_function_ok:
            if function is not None:
                raise CompileError(f"{where}: more than one function named ({function!r} and {item!r})")
            function = item
        elif isinstance(item, dict) and len(item) == 1:
            (key, value), = item.items()
            if key in args:
                raise CompileError(f"{where}: argument {key!r} given twice")
            args[str(key)] = value
        else:
            raise CompileError(f"{where}: each argument must be a single 'key: value' item, got {item!r}")
    return function, args


def split_requisites(decl: Declaration, args: dict[str, Any]) -> dict[str, Any]:
    """Move requisites, ``use``, ``order`` and ``failhard`` from ``args`` onto ``decl``; the rest is returned."""
    args = dict(args)
    for key in list(args):
        if key in UNSUPPORTED_REQUISITES:
            raise CompileError(f"{decl.where()}: requisite {key!r} is not supported by saline (supported: {', '.join(REQUISITES + REQUISITES_IN)})")
        if key in REQUISITES:
            decl.refs += _refs(decl.where(), key, args.pop(key))
        elif key in REQUISITES_IN:
            decl.refs_in += _refs(decl.where(), key[: -len("_in")], args.pop(key))
        elif key == "use":
            decl.use += _refs(decl.where(), key, args.pop(key))
        elif key == "order":
            decl.order = _order(decl.where(), args.pop(key))
        elif key == "failhard":
            value = args.pop(key)
            if not isinstance(value, bool):
                raise CompileError(f"{decl.where()}: failhard must be true or false, got {value!r}")
            decl.failhard = value
    return args


def _order(where: str, value: Any) -> Any:
    if isinstance(value, bool) or not (isinstance(value, (int, float)) or value in ("first", "last")):
        raise CompileError(f"{where}: order must be a number, 'first' or 'last', got {value!r}")
    return value


def _names(where: str, raw: Any) -> list[tuple[str, dict[str, Any]]]:
    """Salt's ``names:``: plain names, or ``{name: [{arg: value}, ...]}`` with arguments of their own."""
    if not isinstance(raw, list) or not raw:
        raise CompileError(f"{where}: names must be a non-empty list")
    out: list[tuple[str, dict[str, Any]]] = []
    for item in raw:
        if _scalar_text(item) is not None:
            out.append((_scalar_text(item), {}))
        elif isinstance(item, dict) and len(item) == 1:
            (name, extra), = item.items()
            if _scalar_text(name) is None:
                raise CompileError(f"{where}: names: {name!r} is not a name")
            _, extra_args = _arg_items(f"{where}: names: {name}", extra if isinstance(extra, list) else
                                       [{k: v} for k, v in (extra or {}).items()], bare_function_ok=False)
            out.append((_scalar_text(name), extra_args))
        else:
            raise CompileError(f"{where}: names: each entry is a name or 'name: [arguments]', got {item!r}")
    return out


def _declarations_of(sls: SlsFile, sls_id: str, body: Any) -> list[Declaration]:
    where = f"{sls.path}: state {sls_id!r}"
    if isinstance(body, str) and "." in body:
        body = {body: []}
    if not isinstance(body, dict) or not body:
        raise CompileError(f"{where}: must map 'module.function' to a list of arguments")
    result: list[Declaration] = []
    modules: set[str] = set()
    for key, items in body.items():
        key = str(key)
        module, _, function = key.partition(".")
        bare, args = _arg_items(f"{where}: {key}", items, bare_function_ok=not function)
        function = function or bare or ""
        if not function:
            raise CompileError(f"{where}: {key!r}: no function named (write '{key}.FUNCTION' or list the function)")
        if module in modules:
            raise CompileError(f"{where}: more than one function of module {module!r} in one ID")
        modules.add(module)
        has_names = "names" in args
        names = _names(where, args.pop("names")) if has_names else [(args.get("name", sls_id), {})]
        for n, (raw_name, extra) in enumerate(names):
            name = _scalar_text(raw_name)
            if name is None:
                raise CompileError(f"{where}: 'name' must be a string, got {raw_name!r}")
            decl = Declaration(sls_id, f"{module}.{function}", {}, sls.name, sls.path,
                               name_order=n + 1 if has_names else 0)
            decl.args = {**split_requisites(decl, {**args, **extra}), "name": name}
            result.append(decl)
    return result


def parse_sls(sls: SlsFile) -> list[Declaration]:
    declarations: list[Declaration] = []
    for sls_id, body in sls.data.items():
        if sls_id in ("extend", "exclude"):
            continue  # applied by the compiler once every file is parsed (extend_/exclude_declarations)
        text = _scalar_text(sls_id)
        if text is None:
            raise CompileError(f"{sls.path}: state ID {sls_id!r} must be a string")
        declarations += _declarations_of(sls, text, body)
    return declarations


def extend_declarations(files: list[SlsFile], declarations: list[Declaration]) -> None:
    """Salt's ``extend:``: arguments of a state defined elsewhere replaced, its requisites added to."""
    for sls in files:
        raw = sls.data.get("extend")
        if raw is None:
            continue
        if not isinstance(raw, dict):
            raise CompileError(f"{sls.path}: extend must map state IDs to their module and arguments")
        for sls_id, body in raw.items():
            where = f"{sls.path}: extend: {sls_id!r}"
            if not isinstance(body, dict) or not body:
                raise CompileError(f"{where}: must map a module to a list of arguments")
            for key, items in body.items():
                module, _, function = str(key).partition(".")
                bare, args = _arg_items(f"{where}: {key}", items, bare_function_ok=True)
                targets = [d for d in declarations if d.sls_id == str(sls_id) and d.module == module]
                if not targets:
                    raise CompileError(f"{where}: cannot extend ID {sls_id!r} ({module}): it is not part of the run "
                                       f"(include the SLS file that defines it)")
                for decl in targets:
                    if (function or bare) and decl.fun != f"{module}.{function or bare}":
                        raise CompileError(f"{where}: {decl.fun} cannot be extended as {module}.{function or bare}")
                    decl.args.update(split_requisites(decl, args))


def _excludes(sls: SlsFile, raw: Any) -> tuple[list[str], list[str]]:
    """An SLS's ``exclude:`` list as (SLS globs, IDs): ``- sls: name``, ``- id: ID`` or a bare SLS name."""
    if not isinstance(raw, list):
        raise CompileError(f"{sls.path}: exclude must be a list of '- sls: NAME' or '- id: ID' items")
    globs: list[str] = []
    ids: list[str] = []
    for item in raw:
        if isinstance(item, str):
            globs.append(item)  # Salt reads a bare string as an SLS name
        elif isinstance(item, dict) and len(item) == 1 and next(iter(item)) in ("sls", "id") \
                and _scalar_text(next(iter(item.values()))) is not None:
            (key, value), = item.items()
            (globs if key == "sls" else ids).append(_scalar_text(value))
        else:
            raise CompileError(f"{sls.path}: exclude: expected '- sls: NAME' or '- id: ID', got {item!r}")
    return globs, ids


def exclude_declarations(files: list[SlsFile], declarations: list[Declaration]) -> list[Declaration]:
    """Salt's top-level ``exclude:`` (applied after ``extend:``, as Salt's apply_exclude): every
    state of an excluded SLS (a glob, as Salt matches it) and every excluded ID leave the run."""
    globs: list[str] = []
    ids: set[str] = set()
    for sls in files:
        if "exclude" in sls.data:
            more_globs, more_ids = _excludes(sls, sls.data["exclude"])
            globs += more_globs
            ids.update(more_ids)
    return [d for d in declarations
            if d.sls_id not in ids and not any(fnmatch.fnmatchcase(d.sls, g) for g in globs)]
