"""Compile a state tree for one agent into a :class:`CompiledRun` (on the master, or by ``saline call``).

render (Jinja + YAML) → declarations → sources inlined → args validated against each
state function's model → requisites resolved to state ids → cycle check. Every error
is a :class:`CompileError` naming the file, the state ID and the bad key, raised
before anything runs anywhere.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from saline.protocol.codec import describe_validation_error

from saline.states.engine.apply import StateArgsError, lookup, validate_args
from saline.states.compile.accumulate import add_accumulated
from saline.states.compile.cleankeep import add_clean_keep
from saline.states.compile.compiled import CompiledRun, CompiledState, plain_data_problem
from saline.states.compile.declarations import Declaration, Ref, exclude_declarations, extend_declarations, parse_sls
from saline.states.compile.render import CompileError, environment, render_yaml_file, template_context
from saline.states.compile.requisites import REQUISITES, find_cycle, ordering_edges
from saline.states.compile.sls import SlsFile, load_tree, single_file
from saline.states.compile.recurse_sources import TREE_KEYS, inline_tree, wants_tree
from saline.states.compile.sources import (SOURCE_KEYS, SourceUnavailable, inline_archive, inline_contents,
                                           wants_archive, wants_inlining)
from saline.states.compile.top import allowed_sources, read_top, top_sls

__all__ = ["CompileError", "compile_highstate", "compile_file", "compile_sls"]


def _state_ids(decls: list[Declaration]) -> list[str]:
    """Unique ids: the SLS ID; "ID (module)" when one ID holds several modules; "ID (module: name)"
    for each name of a ``names:`` list."""
    per_id = Counter(d.sls_id for d in decls)
    per_module = Counter((d.sls_id, d.module) for d in decls)
    defined_in: dict[str, Path] = {}
    for d in decls:
        first = defined_in.setdefault(d.sls_id, d.path)
        if first != d.path:
            raise CompileError(f"{d.path}: state ID {d.sls_id!r} is also defined in {first}; IDs must be unique across the run")

    def state_id(d: Declaration) -> str:
        if per_module[(d.sls_id, d.module)] > 1:
            return f"{d.sls_id} ({d.module}: {d.args['name']})"
        return d.sls_id if per_id[d.sls_id] == 1 else f"{d.sls_id} ({d.module})"

    ids = [state_id(d) for d in decls]
    repeated = [i for i, n in Counter(ids).items() if n > 1]
    if repeated:
        raise CompileError(f"state {repeated[0]!r} is declared twice (the same name twice in one names: list?)")
    return ids


def salt_order(decls: list[Declaration]) -> list[int]:
    """Each state's place in Salt's order: ``order: first``/N/``last`` and, for the rest, the
    order they are written in (includes first); a names: list keeps its order."""
    auto: dict[tuple[str, str], int] = {}
    values: list[int | float | str] = []
    for d in decls:
        iorder = auto.setdefault((d.sls_id, d.module), 10000 + len(auto))  # Salt's iorder starts at 10000
        values.append(d.order if d.order is not None else iorder)
    cap = max([1, *(v + 100 for v in values if isinstance(v, int) and v > 0)])

    def key(n: int) -> tuple:
        value = values[n]
        number = {"first": 0, "last": cap + 1000000}.get(value, value) if isinstance(value, str) else value
        if number < 0:
            number += cap + 1000000
        d = decls[n]
        return (number + d.name_order / 10000.0, f"{d.module}{d.args['name']}{d.fun.partition('.')[2]}")

    ranked = sorted(range(len(decls)), key=key)
    return [ranked.index(n) for n in range(len(decls))]


def _apply_use(decls: list[Declaration]) -> None:
    """Salt's ``use``: the arguments of the named states, for those this state does not set."""
    for decl in decls:
        for ref in decl.use:
            sources = [d for d in decls if d is not decl and _matches(ref, d)]
            if not sources:
                raise CompileError(f"{decl.where()}: use: no state matches {str(ref)!r}")
            for source in sources:
                for key, value in source.args.items():
                    if key != "name":
                        decl.args.setdefault(key, value)


def _matches(ref: Ref, decl: Declaration) -> bool:
    if ref.module == "sls":
        return decl.sls == ref.target
    if ref.module is not None and ref.module != decl.module:
        return False
    return ref.target in (decl.sls_id, decl.args["name"])


def _resolve(ref: Ref, owner: Declaration, decls: list[Declaration], ids: list[str], key: str) -> list[str]:
    # A state never requires itself: `- require: [{pkg: lvm2}]` on a state whose own name is
    # lvm2 means "the other pkg state for lvm2" (e.g. pkg.held after pkg.installed).
    matches = [(d, i) for d, i in zip(decls, ids) if _matches(ref, d)]
    targets = [i for d, i in matches if d is not owner]
    if matches and not targets:
        raise CompileError(f"{owner.where()}: {key}: recursive requisite found: the state requires itself ({ref})")
    if not targets:
        what = f"SLS {ref.target!r} (is it included?)" if ref.module == "sls" else repr(str(ref))
        raise CompileError(f"{owner.where()}: {key}: no state matches {what}")
    return targets


# State functions that always run after every state of another function in the same run,
# whether the SLS says so or not: corosync.config with crypto needs the key that
# corosync.authkey writes (written after the config, a reload splits the cluster).
IMPLICIT_REQUIRE: dict[str, tuple[str, ...]] = {"corosync.config": ("corosync.authkey",)}


def _requisite_lists(decls: list[Declaration], ids: list[str]) -> list[dict[str, list[str]]]:
    lists: list[dict[str, list[str]]] = [{kind: [] for kind in REQUISITES} for _ in decls]
    for n, decl in enumerate(decls):
        lists[n]["require"] += [ids[m] for m, other in enumerate(decls) if other.fun in IMPLICIT_REQUIRE.get(decl.fun, ())]
        for ref in decl.refs:
            lists[n][ref.kind] += _resolve(ref, decl, decls, ids, ref.kind)
        for ref in decl.refs_in:
            for target in _resolve(ref, decl, decls, ids, f"{ref.kind}_in"):
                lists[ids.index(target)][ref.kind].append(ids[n])
    return [{kind: list(dict.fromkeys(targets)) for kind, targets in entry.items()} for entry in lists]


def _check_cycles(decls: list[Declaration], ids: list[str], lists: list[dict[str, list[str]]]) -> None:
    cycle = find_cycle(ordering_edges(dict(zip(ids, lists))))
    if cycle:
        sls_of = {i: d.sls for d, i in zip(decls, ids)}
        path = " -> ".join(f"{i!r} (sls {sls_of[i]})" for i in cycle)
        raise CompileError(f"recursive requisite found: {path}")


def sls_variables(sls: str, tplfile: str) -> dict[str, str]:
    """Salt's names for where a template is: sls, slspath, slsdotpath, slscolonpath, sls_path,
    tplfile, tpldir, tplpath (relative), tplroot. ``tplfile`` is relative to its state root."""
    tpldir = tplfile.rpartition("/")[0] or "."
    slspath = "" if tpldir == "." else tpldir
    return {
        "sls": sls, "slspath": slspath, "slsdotpath": slspath.replace("/", "."),
        "slscolonpath": slspath.replace("/", ":"), "sls_path": slspath.replace("/", "_"),
        "tplfile": tplfile, "tpldir": tpldir, "tplpath": tplfile, "tplroot": tpldir.split("/")[0],
    }


class _Compiler:
    def __init__(self, roots: Sequence[Path], pillar: dict[str, Any], node: dict[str, Any], agent_id: str):
        self.roots = [Path(r) for r in roots]
        self.pillar, self.node, self.agent_id = pillar, node, agent_id
        self.env = environment(self.roots)
        # The top file can limit which files an agent's states may inline (``- sources: [...]``).
        top_context = template_context(pillar, node, agent_id)
        top_path, top = read_top(self.roots, top_context)
        self.allowed_sources = allowed_sources(top, agent_id, str(top_path), top_context)

    def context(self, sls: str, path: Path) -> dict[str, Any]:
        root = next((r.resolve() for r in self.roots if path.is_relative_to(r.resolve())), path.parent)
        return template_context(self.pillar, self.node, self.agent_id, **sls_variables(sls, path.relative_to(root).as_posix()))

    def render(self, name: str, path: Path) -> Any:
        return render_yaml_file(self.env, path, self.context(name, path))

    def args(self, decl: Declaration) -> tuple[dict[str, Any], str | None]:
        """The state's arguments ready to send, and the runtime error that fails it (as Salt:
        an unknown function or a source file that is missing or fails to render fails that
        state and its dependants; the rest of the run applies)."""
        try:
            fn = lookup(decl.fun)
        except StateArgsError as exc:
            return decl.args, f"State '{decl.fun}' was not found in SLS '{decl.sls}': {exc}"
        args = decl.args
        if wants_tree(fn.args_model, args):
            try:
                args = inline_tree(args, self.roots, self.env, self.context(decl.sls, decl.path), decl.where(),
                                   self.allowed_sources)
            except SourceUnavailable as exc:
                return {k: v for k, v in args.items() if k not in TREE_KEYS}, str(exc)
        elif wants_inlining(fn.args_model, args):
            try:
                args = inline_contents(args, self.roots, self.env, self.context(decl.sls, decl.path), self.pillar,
                                       decl.where(), self.allowed_sources)
            except SourceUnavailable as exc:
                return {k: v for k, v in args.items() if k not in SOURCE_KEYS}, str(exc)
        elif wants_archive(fn.args_model, args):
            try:
                args = inline_archive(args, self.roots, decl.where(), self.allowed_sources)
            except SourceUnavailable as exc:
                return {k: v for k, v in args.items() if k != "source"}, str(exc)
        problem = plain_data_problem(args)
        if problem:
            raise CompileError(f"{decl.where()}: {problem}")
        try:
            validate_args(fn, args)
        except StateArgsError as exc:
            raise CompileError(f"{decl.where()}: {exc}") from None
        return args, None

    def compile(self, sls_names: Sequence[str]) -> CompiledRun:
        files: list[SlsFile] = load_tree(self.roots, sls_names, self.render)
        decls = [d for f in files for d in parse_sls(f)]
        extend_declarations(files, decls)
        decls = exclude_declarations(files, decls)
        _apply_use(decls)
        ids = _state_ids(decls)
        compiled = [self.args(d) for d in decls]
        lists = _requisite_lists(decls, ids)
        _check_cycles(decls, ids, lists)
        states = [
            CompiledState(id=i, name=a["name"], fun=d.fun, args=a, sls=d.sls, sls_id=d.sls_id, order=rank,
                          failhard=d.failhard, error=error, **reqs)
            for d, i, (a, error), reqs, rank in zip(decls, ids, compiled, lists, salt_order(decls))
        ]
        add_clean_keep(states)
        add_accumulated(states)
        try:
            return CompiledRun(agent_id=self.agent_id, states=states)
        except ValidationError as exc:
            raise CompileError(f"compiled run for {self.agent_id!r} is invalid: {describe_validation_error(exc)}") from None


def compile_sls(state_roots: Sequence[Path], sls_names: Sequence[str], pillar: dict[str, Any], node: dict[str, Any], agent_id: str) -> CompiledRun:
    """The named SLS files (and their includes) from the roots."""
    return _Compiler(state_roots, pillar, node, agent_id).compile(sls_names)


def compile_highstate(
    state_roots: Sequence[Path],
    pillar: dict[str, Any],
    node: dict[str, Any],
    agent_id: str,
    states: Sequence[str] | None = None,
    saltenv: str | None = None,
) -> CompiledRun:
    """Highstate from the top file when ``states`` is None, else the named SLS. ``saltenv``:
    only that environment of the top file (default: all of them, merged, as Salt)."""
    if states is not None:
        return compile_sls(state_roots, states, pillar, node, agent_id)
    roots = [Path(r) for r in state_roots]
    top, names = top_sls(roots, template_context(pillar, node, agent_id, saltenv=saltenv), agent_id)
    if top is None:
        raise CompileError(f"no top file (top.sls or top.yaml) in {', '.join(str(r) for r in roots)}")
    if not names:
        raise CompileError(f"{top}: no states in the top file match agent {agent_id!r}")
    return compile_sls(roots, names, pillar, node, agent_id)


def compile_file(path: Path, pillar: dict[str, Any], node: dict[str, Any], agent_id: str) -> CompiledRun:
    """One SLS file; its directory is the root for its includes and sources."""
    root, name = single_file(Path(path))
    return compile_sls([root], [name], pillar, node, agent_id)
