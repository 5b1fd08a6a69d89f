"""file.recurse's ``source: salt://dir`` resolved on the master into the files it manages.

As for ``source:`` (see :mod:`sources`), the agent never asks for files by path: the master
walks the directory in its state roots, selects files as Salt 3008 does (``include_pat``,
``exclude_pat`` — globs on the path below the source, or ``E@regex`` —, ``maxdepth``,
``include_empty``), renders each with ``template: jinja``, and the job carries them as
``files: {path below the target: text}`` (and ``dirs:`` for empty directories).

Bounded: at most :data:`MAX_FILES` files and :data:`MAX_BYTES` of text per state (the job
must also fit the agent's ``max_frame``, checked when the job is made). Refused at compile
time, saying what to do: a link in the source tree that leaves the state root or points at
a directory, ``keep_symlinks: true``. A file that is not UTF-8 text is sent as bytes
(``binary_files``, base64) and never rendered.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2
from pydantic import BaseModel

from saline.states.compile.render import CompileError, NotInRoots, SALT_URL, render_text, resolve_in_roots
from saline.states.system.pathpattern import pattern_matches
from saline.states.compile.sources import SourceUnavailable, _check_allowed, _mapping

MAX_FILES = 10_000
MAX_BYTES = 32 * 1024 * 1024
# Consumed here; the agent's model never sees them (exclude_pat stays: clean uses it too).
TREE_KEYS = ("source", "template", "context", "defaults", "include_pat", "maxdepth", "include_empty", "keep_symlinks")


def wants_tree(args_model: type[BaseModel], args: dict[str, Any]) -> bool:
    return "files" in args_model.model_fields and "source" in args


def pattern_ok(rel: str, include: Any, exclude: Any) -> bool:
    """Salt's ``check_include_exclude``: patterns are a string or a list; ``E@`` is a regex search."""
    def any_match(pats: Any) -> bool:
        return any(pattern_matches(str(p), rel) for p in (pats if isinstance(pats, list) else [pats]))

    return (not include or any_match(include)) and (not exclude or not any_match(exclude))


def _source_dir(roots: Sequence[Path], source: Any, where: str) -> Path:
    refs = source if isinstance(source, list) else [source]
    if not refs or not all(isinstance(r, str) for r in refs):
        raise CompileError(f"{where}: source: expected a salt:// directory or a list of them, got {source!r}")
    for ref in refs:
        if not ref.startswith(SALT_URL):
            raise CompileError(f"{where}: source: Invalid source {ref!r} (must be a salt:// URI)")
        try:
            return resolve_in_roots(roots, ref.rstrip("/") or ref, directory=True)
        except NotInRoots:
            continue
        except CompileError as exc:
            raise CompileError(f"{where}: source: {exc}") from None
    raise SourceUnavailable(f"{where}: Recurse failed: none of the specified sources were found ({', '.join(refs)})")


def _walk(top: Path, roots: Sequence[Path], where: str) -> tuple[list[tuple[str, Path]], list[str]]:
    """(files as (path below top, real path), directories below top), links checked."""
    bases = [Path(r).resolve() for r in roots]
    files, dirs = [], []
    for dirpath, dirnames, filenames in os.walk(top):
        here = Path(dirpath)
        for name in sorted(dirnames):
            path = here / name
            if path.is_symlink():
                raise CompileError(f"{where}: source: {path} is a link to a directory; saline does not follow it "
                                   "(copy the directory into the tree, or name it as a source of its own)")
            dirs.append(path.relative_to(top).as_posix())
        for name in sorted(filenames):
            path = here / name
            real = path.resolve()
            if not any(real.is_relative_to(b) for b in bases):
                raise CompileError(f"{where}: source: {path} links to {real}, outside the state roots")
            if not real.is_file():
                continue  # a socket or fifo in the tree is no file to send
            files.append((path.relative_to(top).as_posix(), real))
    return files, dirs


def inline_tree(args: dict[str, Any], roots: Sequence[Path], env: jinja2.Environment, context: dict[str, Any],
                where: str, allowed: list[str] | None = None) -> dict[str, Any]:
    """``args`` with the source keys replaced by ``files`` (and ``dirs`` with include_empty)."""
    args = dict(args)
    taken = {k: args.pop(k) for k in TREE_KEYS if k in args}
    if taken.get("keep_symlinks"):
        raise CompileError(f"{where}: keep_symlinks: true is not supported (links in the source tree would be "
                           "copied as links); manage each link with a file.symlink state")
    template = taken.get("template")
    if template is not None and template != "jinja":
        raise CompileError(f"{where}: template: {template!r} is not supported (only jinja)")
    maxdepth = taken.get("maxdepth")
    if maxdepth is not None and (not isinstance(maxdepth, int) or isinstance(maxdepth, bool) or maxdepth < 0):
        raise CompileError(f"{where}: maxdepth: expected a whole number ≥ 0, got {maxdepth!r}")
    variables = {**_mapping(where, "defaults", taken.get("defaults")), **_mapping(where, "context", taken.get("context"))}
    top = _source_dir(roots, taken["source"], where)
    include, exclude = taken.get("include_pat"), args.get("exclude_pat")

    def selected(rel: str) -> bool:
        return (maxdepth is None or rel.count("/") <= maxdepth) and pattern_ok(rel, include, exclude)

    found, subdirs = _walk(top, roots, where)
    chosen = [(rel, real) for rel, real in found if selected(rel)]
    if len(chosen) > MAX_FILES:
        raise CompileError(f"{where}: source: {len(chosen)} files, over file.recurse's limit of {MAX_FILES} per state "
                           "(narrow it with include_pat/exclude_pat, or split it into several states)")
    files: dict[str, str] = {}
    binary: dict[str, str] = {}
    size = 0
    for rel, real in chosen:
        _check_allowed(roots, f"{SALT_URL}{rel}", real, allowed, where)
        data = real.read_bytes()
        size += len(data)
        if size > MAX_BYTES:
            raise CompileError(f"{where}: source: the files add up to more than {MAX_BYTES // (1024 * 1024)} MiB, "
                               "over file.recurse's limit per state (split it, or ship big files in a package)")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            binary[rel] = base64.b64encode(data).decode("ascii")  # sent as is, never rendered
            continue
        if template is not None:
            try:
                text = render_text(env, text, {**context, **variables}, f"{where}: source {real}")
            except CompileError as exc:
                raise SourceUnavailable(str(exc)) from None
        files[rel] = text
    if binary:
        args["binary_files"] = binary
    args["files"] = files
    if taken.get("include_empty"):
        args["dirs"] = [rel for rel in subdirs if selected(rel)]
    return args
