"""file.directory (with Salt's ``recurse``, ``max_depth``, ``clean``, ``exclude_pat``) over whole trees.

Facts are file.managed's ``lstat`` of the directory plus, when the state recurses or
cleans, every entry below it read through :mod:`saline.states.engine.safetree` (fds only,
never through a symlink, bounded). The plan is one step per kind of work: the directory's
own attributes, the removals ``clean`` makes, the owners and modes ``recurse`` sets; the
steps walk again through fds, so an entry swapped for a symlink meanwhile is not followed.

Changes are Salt's: a dry run lists every path that would change (``{path: {"user": …,
"mode": …}}``, ``{path: {"removed": "Removed due to clean"}}``); an applied run adds the
directory's own changes at the top and ``removed`` (the paths removed, a directory once).
A huge tree lists at most :data:`MAX_LISTED` paths and says how many more there were.

``clean`` keeps what the state's required ``file`` states manage: the compiler passes their
names as ``keep`` (saline's addition: Salt reads its own lowstate at run time). Where Salt
would remove the directory holding a file ``exclude_pat`` spares, saline keeps it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from saline.states.engine import safetree
from saline.states.engine.base import (
    MkdirStep,
    Plan,
    Refuse,
    SetAttrsStep,
    StateContext,
    Step,
    TreeAttrsStep,
    TreeRemoveStep,
    state_function,
)
from saline.states.engine.modes import Mode, format_mode
from saline.states.engine.paths import NodePath
from saline.states.system.pathpattern import check_pattern, pattern_matches
from saline.states.modules.file import FileAttrsArgs, FileFacts, _check_target, attr_changes, observe

MAX_LISTED = 500
RecurseWhat = Literal["user", "group", "mode", "ignore_files", "ignore_dirs", "silent"]


Pattern = Annotated[str, AfterValidator(check_pattern)]


class TreeFacts(FileFacts):
    # (path below the directory, kind, mode, user, group) of every entry, parents first.
    entries: list[tuple[str, str, int, str, str]] = Field(default_factory=list)
    too_large: str | None = None


def tree_facts(args: "DirectoryArgs", ctx: StateContext) -> TreeFacts:
    base = observe(ctx.runner, args.name, user=args.user, group=args.group)
    facts = TreeFacts(**base.model_dump())
    if base.kind == "directory" and (args.recurse or args.clean):
        users: dict[int, str] = {}  # one lookup per owner of a big tree, for this walk only
        groups: dict[int, str] = {}
        try:
            facts.entries = [(e.rel, e.kind, e.mode, users.get(e.uid) or users.setdefault(e.uid, safetree.user_name(e.uid)),
                              groups.get(e.gid) or groups.setdefault(e.gid, safetree.group_name(e.gid)))
                             for e in safetree.entries(ctx.runner.root, args.name, max_depth=args.max_depth)]
        except safetree.TreeTooLarge as exc:
            facts.too_large = str(exc)
    return facts


class DirectoryArgs(FileAttrsArgs):
    # Salt's name for a directory's mode; ``mode`` is its alias.
    dir_mode: Mode | None = None
    # The mode of files below, when recurse has "mode" (Salt: defaults to dir_mode).
    file_mode: Mode | None = None
    recurse: list[RecurseWhat] | None = None
    max_depth: int | None = Field(default=None, ge=0)
    clean: bool = False
    exclude_pat: Pattern | None = None
    children_only: bool = False
    # Filled by the compiler from the state's require: the paths of the file states it requires,
    # which clean keeps (with their parents, and everything below a kept directory).
    keep: list[NodePath] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> "DirectoryArgs":
        if self.dir_mode is not None:
            if self.mode is not None and self.mode != self.dir_mode:
                raise ValueError("mode and dir_mode disagree (mode is an alias of dir_mode for a directory)")
            self.mode = self.dir_mode
        if self.file_mode is None:
            self.file_mode = self.mode
        if self.max_depth is not None and self.clean:
            raise ValueError("Cannot specify both max_depth and clean")
        recurse = set(self.recurse or ())
        if {"ignore_files", "ignore_dirs"} <= recurse:
            raise ValueError('Must not specify "recurse" options "ignore_files" and "ignore_dirs" at the same time.')
        for what in ("user", "group"):
            if what in recurse and getattr(self, what) is None:
                raise ValueError(f"{what} not specified, but configured as a target for recursive ownership management")
        return self

    def wanted(self) -> safetree.Wanted:
        recurse = set(self.recurse or ())
        mode = "mode" in recurse
        return safetree.Wanted(self.user if "user" in recurse else None, self.group if "group" in recurse else None,
                               self.file_mode if mode else None, self.mode if mode else None,
                               files="ignore_files" not in recurse, dirs="ignore_dirs" not in recurse)


def _kept(name: str, exact: list[str], trees: list[str], exclude_pat: str | None, entries: list) -> set[str]:
    """Entries clean leaves: those exclude_pat matches, the ``exact`` paths, everything at or
    below one of ``trees`` (a required file state's path), and the directories holding them."""
    top = name.rstrip("/") + "/"
    wanted = {k[len(top):] for k in exact if k.startswith(top)}
    below = {k[len(top):] for k in trees if k.startswith(top)}
    kept: set[str] = set()
    for rel, *_ in entries:
        spared = (rel in wanted or rel in below or any(rel.startswith(k + "/") for k in below)
                  or (exclude_pat is not None and pattern_matches(exclude_pat, rel)))
        if spared:
            kept.add(rel)
            parts = rel.split("/")
            kept.update("/".join(parts[:n]) for n in range(1, len(parts)))  # what holds it stays too
    kept.update("/".join(k.split("/")[:n]) for k in wanted | below for n in range(1, k.count("/") + 1))
    return kept


def removals(name: str, exact: list[str], trees: list[str], exclude_pat: str | None,
             entries: list) -> tuple[list[str], list[str]]:
    """(every entry clean removes, the topmost of them: a removed directory goes with its content)."""
    kept = _kept(name, exact, trees, exclude_pat, entries)
    gone = [rel for rel, *_ in entries if rel not in kept]
    gone_set = set(gone)
    top = [rel for rel in gone if not any("/".join(rel.split("/")[:n]) in gone_set for n in range(1, rel.count("/") + 1))]
    return gone, top


def _listed(per_path: dict[str, dict]) -> dict[str, dict | str]:
    """At most MAX_LISTED paths of a huge tree in the return; the rest counted."""
    if len(per_path) <= MAX_LISTED:
        return dict(per_path)
    shown = dict(list(per_path.items())[:MAX_LISTED])
    return {**shown, "truncated": f"{len(per_path) - MAX_LISTED} more paths not listed"}


def _salt_top_level(own: dict, per_path: dict[str, dict], facts: TreeFacts, prefix: str) -> dict:
    """Salt's applied return also has ``user``/``group``/``mode`` at the top: each entry's check
    writes them there, so they hold the last value set in its walk (the directory, then for each
    directory top-down its files, then its subdirectories)."""
    top = dict(own)
    by_parent: dict[str, list[tuple[str, str]]] = {}
    for rel, kind, *_ in facts.entries:
        by_parent.setdefault(rel.rpartition("/")[0], []).append((rel, kind))
    for parent in ["", *(rel for rel, kind, *_ in facts.entries if kind == "directory")]:
        children = by_parent.get(parent, [])
        for rel, _ in sorted(children, key=lambda c: c[1] == "directory"):  # files first, as os.walk lists them
            top.update(per_path.get(prefix + rel, {}))
    return top


@state_function("file.directory", DirectoryArgs, facts=tree_facts)
def directory(args: DirectoryArgs, facts: TreeFacts) -> Plan:
    """A directory with the given mode and owner (parents made by makedirs get the same, as
    Salt); with ``recurse`` the entries below it too, with ``clean`` nothing else below it."""
    _check_target(facts, "directory", args.makedirs, assuming={args.name: {"directory": "new"}})
    if facts.kind == "missing":
        step = MkdirStep(description=f"Create directory {args.name}", path=args.name, mode=args.mode,
                         user=args.user, group=args.group, parents=args.makedirs)
        return Plan(steps=[step], changes={args.name: {"directory": "new"}})  # Salt's shape
    if facts.too_large:
        raise Refuse(f"{args.name}: {facts.too_large}; recurse and clean are refused for a tree that size "
                     "(limit the walk with max_depth, or manage the subdirectories as states of their own)")
    steps: list[Step] = []
    own = {} if args.children_only else attr_changes(facts, args.mode, args.user, args.group)
    per_path: dict[str, dict] = {args.name: own} if own else {}
    if own:
        steps.append(SetAttrsStep(description=f"Set {', '.join(own)} of {args.name}", path=args.name,
                                  mode=args.mode, user=args.user, group=args.group))
    gone, top = removals(args.name, [], args.keep, args.exclude_pat, facts.entries) if args.clean else ([], [])
    prefix = args.name.rstrip("/") + "/"
    if gone:
        steps.append(TreeRemoveStep(description=f"Remove {len(top)} entries not managed from {args.name}",
                                    path=args.name, entries=top))
    if args.recurse:
        wanted, gone_set = args.wanted(), set(gone)
        changed = 0
        for rel, kind, mode, user, group in facts.entries:
            diff = wanted.differences(kind, mode, user, group) if rel not in gone_set else {}
            if diff:
                changed += 1
                per_path[prefix + rel] = {k: format_mode(v) if k == "mode" else v for k, v in diff.items()}  # type: ignore[arg-type]
        if changed:
            steps.append(TreeAttrsStep(description=f"Set the owner and mode of {changed} entries below {args.name}",
                                       path=args.name, user=wanted.user, group=wanted.group,  # type: ignore[arg-type]
                                       file_mode=wanted.file_mode, dir_mode=wanted.dir_mode, files=wanted.files,
                                       dirs=wanted.dirs, max_depth=args.max_depth))
    if not steps:
        return Plan(comment=f"Directory {args.name} is in the correct state")
    top_level = _salt_top_level(own, per_path, facts, prefix)
    per_path.update({prefix + rel: {"removed": "Removed due to clean"} for rel in gone})
    listed = ({"recursion": "Changes silenced"} if "silent" in (args.recurse or ())
              else _listed(per_path))
    changes: dict = {**listed, **top_level}
    if top:
        changes["removed"] = [prefix + rel for rel in top[:MAX_LISTED]]
    return Plan(steps=steps, changes=changes, test_changes=listed)
