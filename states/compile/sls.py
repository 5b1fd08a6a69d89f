"""Loading SLS files with their ``include:`` lists (state trees and pillar trees alike)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saline.states.compile.render import CompileError, find_sls

_RELATIVE = re.compile(r"^(\.+)(.*)$")


@dataclass
class SlsFile:
    name: str  # dotted SLS name, e.g. "cluster.drbd"
    path: Path
    data: dict[str, Any]  # rendered content without the include list
    included_from: str | None = None  # the SLS whose include loaded it first (Salt's __sls_included_from__)


def absolute_include(current: str, current_path: Path, ref: str) -> str:
    """Salt's relative includes: in ``a/b.sls`` ``.c`` is ``a.c``; in ``a/b/init.sls`` it is ``a.b.c``."""
    match = _RELATIVE.match(ref)
    if not match:
        return ref
    dots, rest = match.groups()
    comps = current.split(".") + (["init"] if current_path.name == "init.sls" else [])
    if len(dots) > len(comps):
        raise CompileError(f"{current_path}: relative include {ref!r} goes beyond the top of the tree")
    return ".".join(comps[: -len(dots)] + ([rest] if rest else []))


def _includes(sls: SlsFile, raw: Any) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(i, str) for i in raw):
        raise CompileError(f"{sls.path}: 'include' must be a list of SLS names")
    return [absolute_include(sls.name, sls.path, ref) for ref in raw]


def load_tree(
    roots: Sequence[Path],
    names: Sequence[str],
    render: Callable[[str, Path], Any],
) -> list[SlsFile]:
    """The named SLS files and everything they include, included files first, each once.

    ``render(name, path)`` renders one file to data (Jinja + YAML).
    """
    loaded: list[SlsFile] = []
    seen: set[str] = set()

    def visit(name: str, included_from: Path | None, includer: str | None = None) -> None:
        if name in seen:
            return  # mutual includes are allowed, as in Salt
        seen.add(name)
        try:
            path = find_sls(roots, name)
        except CompileError as exc:
            raise CompileError(f"{included_from}: include: {exc}" if included_from else str(exc)) from None
        data = render(name, path)
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise CompileError(f"{path}: an SLS file must render to a mapping, got {type(data).__name__}")
        data = dict(data)
        sls = SlsFile(name, path, data, includer)
        for include in _includes(sls, data.pop("include", None)):
            visit(include, path, name)
        loaded.append(sls)

    for name in names:
        visit(name, None)
    return loaded


def single_file(path: Path) -> tuple[Path, str]:
    """A standalone SLS file as (root, name): its directory is the root for includes and sources."""
    path = Path(path)
    if path.suffix != ".sls":
        raise CompileError(f"{path}: a state file must end in .sls")
    if "." in path.stem:
        raise CompileError(f"{path}: a state file name cannot contain '.' before .sls (dots separate SLS names)")
    if path.name == "init.sls":
        return path.parent.parent, path.parent.name
    return path.parent, path.stem
