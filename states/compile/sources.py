"""``source:`` / ``template:`` / ``contents_pillar:`` resolved on the master into inline ``contents``.

Salt minions fetch ``salt://`` files from the master's file server by path, which is
where its path-traversal CVEs came from. Here the master reads the file from its own
state roots (through the safe resolver), renders it, and the job carries the text:
the agent never asks for a file by path.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2
from pydantic import BaseModel

from saline.states.compile.pillar import pillar_path
from saline.states.compile.render import CompileError, NotInRoots, render_text, resolve_in_roots

# Keys consumed here; the module's own model never sees them.
SOURCE_KEYS = ("source", "template", "context", "defaults", "contents_pillar")
TEMPLATE_ENGINES = ("jinja",)


class SourceUnavailable(CompileError):
    """A source file missing or failing to render: as in Salt, that state fails at run time
    (and its dependants), the rest of the run applies."""


def wants_inlining(args_model: type[BaseModel], args: dict[str, Any]) -> bool:
    """Applies to functions that take ``contents`` and do not handle sources themselves (file.managed)."""
    fields = args_model.model_fields
    return (
        any(k in args for k in SOURCE_KEYS)
        and "contents" in fields
        and not any(k in fields for k in SOURCE_KEYS)
    )


def _check_allowed(roots: Sequence[Path], ref: str, path: Path, allowed: list[str] | None, where: str) -> None:
    """The top file's ``sources`` globs, matched against the file's real path under its root."""
    if allowed is None:
        return
    rel = next(path.relative_to(r.resolve()).as_posix() for r in map(Path, roots) if path.is_relative_to(r.resolve()))
    if not any(fnmatch.fnmatchcase(rel, glob) for glob in allowed):
        raise CompileError(
            f"{where}: source: {ref!r} ({rel}) is not among the sources the top file allows this agent "
            f"({', '.join(allowed) or 'none'}); add it to the target's '- sources:' list"
        )


def _first_source(roots: Sequence[Path], source: Any, where: str, allowed: list[str] | None = None) -> Path:
    refs = source if isinstance(source, list) else [source]
    if not refs or not all(isinstance(r, str) for r in refs):
        raise CompileError(f"{where}: source: expected a path or a list of paths, got {source!r}")
    for ref in refs:
        try:
            path = resolve_in_roots(roots, ref)
        except NotInRoots:
            continue
        except CompileError as exc:
            raise CompileError(f"{where}: source: {exc}") from None
        _check_allowed(roots, ref, path, allowed, where)
        return path
    raise SourceUnavailable(f"{where}: source: none of {', '.join(refs)} exists in the state roots")


def _mapping(where: str, key: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CompileError(f"{where}: {key}: expected a mapping, got {type(value).__name__}")
    return value


def inline_contents(
    args: dict[str, Any],
    roots: Sequence[Path],
    env: jinja2.Environment,
    context: dict[str, Any],
    pillar: dict[str, Any],
    where: str,
    allowed: list[str] | None = None,
) -> dict[str, Any]:
    """Return ``args`` with the source keys replaced by ``contents``; ``allowed``: the top file's
    ``sources`` globs for this agent (None: any file in the roots)."""
    args = dict(args)
    source = args.pop("source", None)
    template = args.pop("template", None)
    variables = {**_mapping(where, "defaults", args.pop("defaults", None)), **_mapping(where, "context", args.pop("context", None))}
    contents_pillar = args.pop("contents_pillar", None)
    given = [k for k, v in (("contents", args.get("contents")), ("source", source), ("contents_pillar", contents_pillar)) if v is not None]
    if len(given) > 1:
        raise CompileError(f"{where}: use only one of contents, source and contents_pillar (got {', '.join(given)})")
    if template is not None and source is None:
        raise CompileError(f"{where}: template: needs a source")
    if template is not None and template not in TEMPLATE_ENGINES:
        raise CompileError(f"{where}: template: {template!r} is not supported (only {', '.join(TEMPLATE_ENGINES)})")
    if contents_pillar is not None:
        value = pillar_path(pillar, str(contents_pillar), f"{where}: contents_pillar")
        if not isinstance(value, str):
            raise CompileError(f"{where}: contents_pillar: {contents_pillar!r} is a {type(value).__name__}, not text")
        args["contents"] = value
    if source is not None:
        path = _first_source(roots, source, where, allowed)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise CompileError(f"{where}: source: {path} is not UTF-8 text (binary files are not supported)") from None
        if template is not None:
            try:
                text = render_text(env, text, {**context, **variables}, f"{where}: source {path}")
            except CompileError as exc:
                raise SourceUnavailable(str(exc)) from None
        args["contents"] = text
        # Salt's source_hash: the agent checks the contents it got against the hash of
        # what the master rendered, before writing anything.
        args["source_hash"] = "sha256=" + hashlib.sha256(text.encode()).hexdigest()
    return args


# A salt:// archive travels base64 in the job (4/3 of its size); bigger ones belong on the node.
MAX_INLINE_ARCHIVE = 32 * 1024 * 1024


def wants_archive(args_model: type[BaseModel], args: dict[str, Any]) -> bool:
    """archive.extracted with a salt:// source: the master puts the file in the job."""
    source = args.get("source")
    first = source[0] if isinstance(source, list) and source else source
    return "source_data" in args_model.model_fields and isinstance(first, str) and first.startswith("salt://")


def inline_archive(args: dict[str, Any], roots: Sequence[Path], where: str,
                   allowed: list[str] | None = None) -> dict[str, Any]:
    """``source: salt://…`` (or a list: the first that exists) → ``source_data`` (base64 of the bytes)."""
    args = dict(args)
    refs = args["source"] if isinstance(args["source"], list) else [args["source"]]
    for ref in refs:
        try:
            path = _first_source(roots, ref, where, allowed)
        except SourceUnavailable:
            continue
        break
    else:
        raise SourceUnavailable(f"{where}: source: none of {', '.join(map(str, refs))} exists in the state roots")
    size = path.stat().st_size
    if size > MAX_INLINE_ARCHIVE:
        raise CompileError(f"{where}: source: {path} is {size} bytes, over the {MAX_INLINE_ARCHIVE} a job carries; "
                           f"copy the archive onto the node and give its path as source")
    args["source"] = ref
    args["source_data"] = base64.b64encode(path.read_bytes()).decode("ascii")
    return args
