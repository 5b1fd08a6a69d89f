"""file.recurse: a directory tree from the master's state roots (Salt's names, arguments, return).

The master walks ``source: salt://dir`` and sends the files it selects, rendered, as
``files`` (:mod:`saline.states.compile.recurse_sources`). Here the target's entries are read
through :mod:`safetree` (fds, no links followed, bounded), and the plan creates the
directories and files that are missing, rewrites the files that differ, sets owners and
modes, and with ``clean`` removes what neither the tree nor a required ``file`` state
manages. Every step below the target refuses a symlink in its path (``no_links_below``): a
directory swapped for a link to ``/etc`` meanwhile fails the step instead of writing there.

A file, link or directory in the way of what the tree needs is replaced with ``clean: true``
(as Salt), refused otherwise. Changes are Salt's: one entry per path, a directory's as
``{path: {path: {…}}}`` (file.directory's return), a file's as file.managed's.
"""

from __future__ import annotations

import base64
from pathlib import PurePosixPath
from typing import Annotated, Any

from pydantic import AfterValidator, Field, field_validator, model_validator

from saline.states.engine import safetree
from saline.states.engine.base import (
    MkdirStep,
    Plan,
    Refuse,
    SetAttrsStep,
    StateArgs,
    StateContext,
    Step,
    TreeRemoveStep,
    WriteFileStep,
    state_function,
)
from saline.states.engine.modes import Mode, format_mode
from saline.states.engine.paths import NodePath
from saline.states.engine.textdiff import decode_text
from saline.states.modules.file import FileFacts, _refuse_unknown_owners, observe
from saline.states.modules.file_block import salt_diff
from saline.states.modules.file_tree import MAX_LISTED, Pattern, _listed, removals

READ_LIMIT = 64 * 1024 * 1024  # a node file bigger than this is rewritten without a diff


def _relative(value: str) -> str:
    p = PurePosixPath(value)
    if not value or p.is_absolute() or any(part in ("..", ".") for part in p.parts) or p.as_posix() != value:
        raise ValueError(f"{value!r} is not a plain path below the target")
    return value


Rel = Annotated[str, AfterValidator(_relative)]


def _no_mode(value: object) -> object:
    if value is not None:
        raise ValueError("'mode' is not allowed in 'file.recurse'. Please use 'file_mode' and 'dir_mode'.")
    return value


class RecurseArgs(StateArgs):
    name: NodePath
    # Filled by the master from source: (path below the target → text); see recurse_sources.
    files: dict[Rel, str] = Field(default_factory=dict)
    # Files that are not UTF-8 text, base64 (never rendered), from the master the same way.
    binary_files: dict[Rel, str] = Field(default_factory=dict)
    dirs: list[Rel] = Field(default_factory=list)  # include_empty: directories with nothing selected in them
    user: str | None = None
    group: str | None = None
    dir_mode: Mode | None = None
    file_mode: Mode | None = None
    clean: bool = False
    exclude_pat: Pattern | None = None
    replace: bool = True
    keep: list[NodePath] = Field(default_factory=list)  # from the compiler, as file.directory's
    mode: Annotated[Any, AfterValidator(_no_mode)] = None

    @field_validator("binary_files")
    @classmethod
    def _base64(cls, value: dict[str, str]) -> dict[str, str]:
        for rel, data in value.items():
            try:
                base64.b64decode(data, validate=True)
            except ValueError:
                raise ValueError(f"binary_files: {rel!r} is not base64") from None
        return value

    @model_validator(mode="after")
    def _files_from_the_master(self) -> "RecurseArgs":
        both = set(self.files) & set(self.binary_files)
        if both:
            raise ValueError(f"{sorted(both)[0]!r} is both a text and a binary file")
        names = set(self.files) | set(self.binary_files)
        for rel in names:
            parts = rel.split("/")
            clash = next(("/".join(parts[:n]) for n in range(1, len(parts)) if "/".join(parts[:n]) in names), None)
            if clash:
                raise ValueError(f"{clash!r} is both a file and the directory of {rel!r}")
        return self

    def contents(self) -> dict[str, bytes]:
        """Every file of the tree and its bytes."""
        return {**{rel: text.encode() for rel, text in self.files.items()},
                **{rel: base64.b64decode(data) for rel, data in self.binary_files.items()}}

    def path(self, rel: str) -> str:
        return self.name if not rel else f"{self.name.rstrip('/')}/{rel}"

    def managed_dirs(self) -> list[str]:
        """Every directory the tree needs below the target, parents first ("" is the target)."""
        out = {""}
        for rel in [*self.files, *self.binary_files, *(d + "/x" for d in self.dirs)]:
            parts = rel.split("/")[:-1]
            out.update("/".join(parts[:n]) for n in range(1, len(parts) + 1))
        return sorted(out, key=lambda r: (r.count("/") if r else -1, r))


class RecurseFacts(FileFacts):
    entries: list[tuple[str, str, int, str, str]] = Field(default_factory=list)
    contents: dict[str, bytes | None] = Field(default_factory=dict)
    too_large: str | None = None


def recurse_facts(args: RecurseArgs, ctx: StateContext) -> RecurseFacts:
    base = observe(ctx.runner, args.name, user=args.user, group=args.group)
    facts = RecurseFacts(**base.model_dump())
    if base.kind != "directory":
        return facts
    names = [*args.files, *args.binary_files]
    depth = None if args.clean else 1 + max((rel.count("/") for rel in [*names, *args.dirs]), default=0)
    try:
        facts.entries = [(e.rel, e.kind, e.mode, safetree.user_name(e.uid), safetree.group_name(e.gid))
                         for e in safetree.entries(ctx.runner.root, args.name, max_depth=depth)]
    except safetree.TreeTooLarge as exc:
        facts.too_large = str(exc)
        return facts
    files = [rel for rel, kind, *_ in facts.entries if kind == "file" and (rel in args.files or rel in args.binary_files)]
    facts.contents = safetree.read_files(ctx.runner.root, args.name, files, READ_LIMIT)
    return facts


def _attrs(args: RecurseArgs, mode: int | None, kind: str, have: tuple | None) -> dict[str, str]:
    """What differs of the owner and mode asked for; ``have`` is (mode, user, group) or None for new."""
    cur_mode, cur_user, cur_group = have if have is not None else (None, "root", "root")
    if have is None and mode is not None:
        cur_mode = 0o755 if kind == "directory" else 0o644  # what the agent's umask gives
    out = {}
    if args.user is not None and args.user != cur_user:
        out["user"] = args.user
    if args.group is not None and args.group != cur_group:
        out["group"] = args.group
    if mode is not None and mode != cur_mode:
        out["mode"] = format_mode(mode)
    return out


@state_function("file.recurse", RecurseArgs, facts=recurse_facts)
def recurse(args: RecurseArgs, facts: RecurseFacts) -> Plan:
    """The files of a directory in the master's state roots, under ``name``."""
    _refuse_unknown_owners(facts)
    if facts.kind not in ("missing", "directory"):
        raise Refuse(f"The path {args.name} exists and is not a directory")
    if facts.too_large:
        raise Refuse(f"{args.name}: {facts.too_large}; file.recurse refuses a target that size")
    have = {rel: (kind, mode, user, group) for rel, kind, mode, user, group in facts.entries}
    steps: list[Step] = []
    changes: dict[str, Any] = {}
    test_changes: dict[str, Any] = {}
    in_the_way: list[str] = []

    def replace(rel: str, what: str) -> None:
        if not args.clean:
            raise Refuse(f"{args.path(rel)} is a {have[rel][0]} where the tree has a {what} "
                         "(clean: true replaces it, as Salt)")
        in_the_way.append(rel)

    below = {"no_links_below": args.name}
    for rel in args.managed_dirs():
        path = args.path(rel)
        if rel and rel in have and have[rel][0] != "directory":
            replace(rel, "directory")
        if (not rel and facts.kind == "missing") or (rel and (rel not in have or rel in in_the_way)):
            steps.append(MkdirStep(description=f"Create directory {path}", path=path, mode=args.dir_mode,
                                   user=args.user, group=args.group, parents=not rel, **(below if rel else {})))
            test_changes[path] = changes[path] = {path: {"directory": "new"}}
            continue
        current = (facts.mode, facts.user, facts.group) if not rel else have[rel][1:]
        diff = _attrs(args, args.dir_mode, "directory", current)
        if diff:
            steps.append(SetAttrsStep(description=f"Set {', '.join(diff)} of {path}", path=path, mode=args.dir_mode,
                                      user=args.user, group=args.group, **below))
            test_changes[path] = {path: diff}
            changes[path] = {path: diff, **diff}
    for rel, wanted in args.contents().items():
        path = args.path(rel)
        if rel in have and have[rel][0] != "file":
            replace(rel, "file")
        if rel not in have or rel in in_the_way:
            steps.append(WriteFileStep(description=f"Create {path}", path=path, content=wanted, mode=args.file_mode,
                                       user=args.user, group=args.group, **below))
            test_changes[path] = {"newfile": path}
            changes[path] = {"diff": "New file", **_attrs(args, args.file_mode, "file", None)}
            continue
        diff: dict[str, Any] = _attrs(args, args.file_mode, "file", have[rel][1:])
        old = facts.contents.get(rel)
        if args.replace and old != wanted:
            try:
                diff["diff"] = salt_diff(decode_text(old, path), decode_text(wanted, path)) if old is not None else "Replace file"
            except ValueError:
                diff["diff"] = "Replace binary file"
            _, _, cur_user, cur_group = have[rel]
            steps.append(WriteFileStep(description=f"Write {path}", path=path, content=wanted, mode=args.file_mode,
                                       user=args.user or cur_user, group=args.group or cur_group, **below))
        elif diff:
            steps.append(SetAttrsStep(description=f"Set {', '.join(diff)} of {path}", path=path, mode=args.file_mode,
                                      user=args.user, group=args.group, **below))
        if diff:
            test_changes[path] = changes[path] = diff
    own = [args.path(rel) for rel in [*args.files, *args.binary_files, *args.managed_dirs()] if rel]
    _, top = removals(args.name, own, args.keep, args.exclude_pat, facts.entries) if args.clean else ([], [])
    gone = sorted(set(top) | set(in_the_way))
    if gone:
        steps.insert(0, TreeRemoveStep(description=f"Remove {len(gone)} entries from {args.name}", path=args.name,
                                       entries=gone))
        removed = [args.path(rel) for rel in gone if rel not in in_the_way]
        if removed:
            test_changes["removed"] = changes["removed"] = removed[:MAX_LISTED]
    if not steps:
        return Plan(comment=f"The directory {args.name} is in the correct state")
    return Plan(steps=steps, changes=_listed(changes), test_changes=_listed(test_changes))
