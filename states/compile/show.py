"""Salt's inspection views of a state tree, compiled for one agent on the master:
``state.show_top`` (the SLS names per environment), ``state.show_sls`` and
``state.show_highstate`` (the high data: each ID's arguments as written, its function and
``{order: N}``, ``__sls__``, ``__env__``, ``__sls_included_from__``, ``__extend__``,
``__exclude__``), ``state.show_lowstate`` (one chunk per state, in run order) and the
states ``state.sls_id`` runs (one ID and what it requires, transitively).

The high data is what the SLS files render to, before ``extend``/``exclude`` are applied,
as Salt shows it; the values are saline's (``mode: 0640`` stays "0640", see the README).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from saline.states.compile.compiled import CompiledRun
from saline.states.compile.compiler import _Compiler, _matches, _requisite_lists, _state_ids
from saline.states.compile.declarations import exclude_declarations, extend_declarations, parse_sls
from saline.states.compile.render import CompileError, template_context
from saline.states.compile.requisites import execution_order, ordering_edges
from saline.states.compile.sls import SlsFile, load_tree
from saline.states.compile.top import matching_entries, read_top

AUTO_ORDER_START = 10000  # Salt's state_auto_order counter starts here


def _split_mods(mods: Any) -> list[str]:
    """Salt's split_input: "a,b" or [a, b] (anything else is read as one name, and refused if
    it is not a valid SLS name)."""
    names = mods.split(",") if isinstance(mods, str) else [str(m) for m in mods] if isinstance(mods, list) else [str(mods)]
    names = [n.strip() for n in names if n.strip()]
    if not names:
        raise CompileError("no SLS named (give one or more, e.g. 'web' or 'web,db')")
    return names


class Views:
    """The views for one agent (its facts and pillar), from the master's roots."""

    def __init__(self, roots: Sequence[Path], pillar: dict[str, Any], node: dict[str, Any], agent_id: str):
        self.roots = [Path(r) for r in roots]
        self.pillar, self.node, self.agent_id = pillar, node, agent_id

    def _compiler(self) -> _Compiler:
        return _Compiler(self.roots, self.pillar, self.node, self.agent_id)

    def top(self, saltenv: str | None = None) -> dict[str, list[str]]:
        """``{env: [sls, ...]}``: what the top file gives this agent, per environment."""
        context = template_context(self.pillar, self.node, self.agent_id)
        path, top = read_top(self.roots, context)
        if path is None:
            raise CompileError(f"no top file (top.sls or top.yaml) in {', '.join(str(r) for r in self.roots)}")
        envs = [saltenv] if saltenv else [str(e) for e in (top or {})]
        shown: dict[str, list[str]] = {}
        for env in envs:
            names = [n for e in matching_entries(top, self.agent_id, str(path), context, env) for n in e.names]
            if names:
                shown[env] = list(dict.fromkeys(names))
        return shown

    def _files(self, per_env: dict[str, list[str]]) -> list[tuple[str, SlsFile]]:
        """Every file of the run with the environment it came from (first wins, as IDs must be unique)."""
        compiler = self._compiler()
        seen: dict[str, tuple[str, SlsFile]] = {}
        for env, names in per_env.items():
            for sls in load_tree(self.roots, names, compiler.render):
                seen.setdefault(sls.name, (env, sls))
        return list(seen.values())

    @staticmethod
    def _check(files: list[tuple[str, SlsFile]]) -> None:
        """Salt's verify_high: the structure must hold (declarations, extend, exclude, unique IDs);
        arguments are not validated, as Salt shows them as written."""
        sls_files = [sls for _, sls in files]
        decls = [d for f in sls_files for d in parse_sls(f)]
        extend_declarations(sls_files, decls)
        _state_ids(exclude_declarations(sls_files, decls))

    def high(self, per_env: dict[str, list[str]]) -> dict[str, Any]:
        files = self._files(per_env)
        self._check(files)
        return high_data(files)

    def show_sls(self, mods: str | Sequence[str], saltenv: str | None = None) -> dict[str, Any]:
        return self.high({saltenv or "base": _split_mods(mods)})

    def show_highstate(self, saltenv: str | None = None) -> dict[str, Any]:
        per_env = self.top(saltenv)
        if not per_env:
            raise CompileError(f"no states in the top file match agent {self.agent_id!r}")
        return self.high(per_env)

    def show_lowstate(self, saltenv: str | None = None) -> list[dict[str, Any]]:
        per_env = self.top(saltenv)
        if not per_env:
            raise CompileError(f"no states in the top file match agent {self.agent_id!r}")
        return low_chunks(self._files(per_env))

    def sls_id(self, state_id: str, mods: str | Sequence[str], saltenv: str | None = None) -> CompiledRun:
        """The run of one ID of the named SLS and, transitively, every state it has a requisite
        on (Salt 3008's state.sls_id runs those first through call_chunk)."""
        names = _split_mods(mods)
        run = self._compiler().compile(names)
        wanted = [s.id for s in run.states if s.sls_id == state_id]
        if not wanted:
            raise CompileError(f"No matches for ID {state_id!r} found in SLS {','.join(names)!r} within saltenv "
                               f"{saltenv or 'base'!r}")
        # Salt calls each chunk of the ID in run order, and a chunk's requisites (recursively)
        # just before it: a depth-first order, which becomes the states' order here.
        position = {s.id: n for n, s in enumerate(run.ordered())}
        by_id = {s.id: s for s in run.states}
        sequence: list[str] = []

        def visit(sid: str) -> None:
            if sid in sequence:
                return
            targets = {t for targets in by_id[sid].requisites().values() for t in targets}
            for target in sorted(targets, key=position.__getitem__):
                visit(target)
            sequence.append(sid)

        for sid in sorted(wanted, key=position.__getitem__):
            visit(sid)
        return run.model_copy(update={"states": [by_id[sid].model_copy(update={"order": n})
                                                 for n, sid in enumerate(sequence)]})


def _body(sls_id: str, body: Any) -> dict[str, Any]:
    if isinstance(body, str) and "." in body:
        return {body: []}
    if not isinstance(body, dict):
        raise CompileError(f"state {sls_id!r} must map 'module.function' to a list of arguments")
    return body


def high_data(files: list[tuple[str, SlsFile]]) -> dict[str, Any]:
    """Salt's high data of the loaded files, included files first (as Salt numbers them)."""
    high: dict[str, Any] = {}
    extend: list[dict[str, Any]] = []
    exclude: list[Any] = []
    order = AUTO_ORDER_START
    for env, sls in files:
        for sls_id, body in sls.data.items():
            if sls_id == "extend":
                extend.append({str(i): {**dict(b or {}), "__sls__": sls.name, "__env__": env} for i, b in (body or {}).items()})
                continue
            if sls_id == "exclude":
                exclude += list(body or [])
                continue
            entry: dict[str, Any] = {}
            for key, items in _body(str(sls_id), body).items():
                module, _, function = str(key).partition(".")
                items = list(items or [])
                if function:
                    items.append(function)
                if not any(isinstance(i, dict) and "order" in i for i in items):
                    items.append({"order": order})
                    order += 1
                entry[module] = items
            entry.update({"__sls__": sls.name, "__env__": env})
            if sls.included_from:
                entry["__sls_included_from__"] = [sls.included_from]
            high[str(sls_id)] = entry
    if extend:
        high["__extend__"] = extend
    if exclude:
        high["__exclude__"] = exclude
    return high


def _requisites_as_written(decl, decls: list) -> dict[str, list[dict[str, str] | str]]:
    """The state's requisites as written, ``*_in`` kept, plus what other states' ``*_in`` add
    to it as ``{module: ID}`` (Salt's requisite_in)."""
    out: dict[str, list] = {}
    for ref in decl.refs:
        out.setdefault(ref.kind, []).append({ref.module: ref.target} if ref.module else ref.target)
    for ref in decl.refs_in:
        out.setdefault(f"{ref.kind}_in", []).append({ref.module: ref.target} if ref.module else ref.target)
    for other in decls:
        for ref in other.refs_in:
            if _matches(ref, decl) and other is not decl:
                entry = {other.module: other.sls_id}
                if entry not in out.setdefault(ref.kind, []):
                    out[ref.kind].append(entry)
    return out


def _salt_orders(decls: list) -> list[float]:
    """Each state's ``order`` as Salt's order_chunks computes it: auto order (10000 + n per ID
    and module without one), ``first`` 0, ``last`` and negatives after everything, + n/10000 in
    a ``names:`` list."""
    auto: dict[tuple[str, str], int] = {}
    values: list[Any] = []
    for d in decls:
        if d.order is None:
            values.append(auto.setdefault((d.sls_id, d.module), AUTO_ORDER_START + len(auto)))
        else:
            values.append(d.order)
    cap = max([1, *(v + 100 for v in values if isinstance(v, int) and v > 0)])
    out = []
    for d, value in zip(decls, values):
        number = {"first": 0, "last": cap + 1000000}.get(value, value) if isinstance(value, str) else value
        if d.name_order:
            number += d.name_order / 10000.0
        out.append(cap + 1000000 + number if number < 0 else number)
    return out


def low_chunks(files: list[tuple[str, SlsFile]]) -> list[dict[str, Any]]:
    """One chunk per state after ``extend``/``exclude``, in Salt 3008's run order (requisites
    first): ``state``, ``fun``, ``name``, ``__id__``, ``__sls__``, ``__env__``, the arguments and
    requisites as written, ``order``."""
    env_of = {sls.name: env for env, sls in files}
    included = {sls.name: sls.included_from for _, sls in files}
    sls_files = [sls for _, sls in files]
    decls = [d for f in sls_files for d in parse_sls(f)]
    extend_declarations(sls_files, decls)
    orders = dict(zip(map(id, decls), _salt_orders(decls)))  # numbered before exclude, as Salt renders
    decls = exclude_declarations(sls_files, decls)
    ids = _state_ids(decls)
    edges = ordering_edges(dict(zip(ids, _requisite_lists(decls, ids))))
    ranked = {sid: n for n, sid in enumerate(execution_order({i: orders[id(d)] for i, d in zip(ids, decls)}, edges))}
    chunks = []
    for d, sid in sorted(zip(decls, ids), key=lambda pair: ranked[pair[1]]):
        order = orders[id(d)]
        chunk: dict[str, Any] = {"state": d.module, "name": d.args["name"], "__sls__": d.sls, "__env__": env_of[d.sls]}
        if included.get(d.sls):
            chunk["__sls_included_from__"] = [included[d.sls]]
        chunk.update({"__id__": d.sls_id, **{k: v for k, v in d.args.items() if k != "name"},
                      **_requisites_as_written(d, decls), "order": order, "fun": d.fun.partition(".")[2]})
        chunks.append(chunk)
    return chunks
