"""file.*: managed, absent, keyvalue, line, comment, uncomment (Salt's names and arguments; file.directory
and file.recurse are in :mod:`file_tree`).

Facts are an ``lstat`` of the node path (under the runner's root) plus the file's
bytes; plans are file writes (atomic, :class:`WriteFileStep`), attribute changes and
removals. ``changes`` carries a unified diff and mode/owner changes as ``{old, new}``.

Differences from Salt, on purpose: the master renders ``source``/``template`` into
``contents`` before the job leaves it (the agent never fetches files by path), so
``file.managed`` has no ``source``/``template`` here; the last path component is never
followed when it is a symlink (a managed path that is a symlink is refused rather
than replaced), and no backup files are written.
"""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import shlex
import stat
import sys
from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator


from saline.states.engine.base import (
    BackupStep,
    CommandStep,
    Facts,
    Plan,
    Refuse,
    Report,
    RemoveStep,
    SetAttrsStep,
    StateArgs,
    StateContext,
    Step,
    WriteFileStep,
    state_function,
)
from saline.states.system.lineedit import EditError, LineMode, check_regex, comment as comment_text, keyvalue as keyvalue_text
from saline.states.system.lineedit import line as line_text, render_value, uncomment as uncomment_text
from saline.states.engine.modes import Mode, format_mode
from saline.states.engine.paths import NodePath
from saline.states.engine.runner import CommandResult, Runner
from saline.states.engine.textdiff import decode_text, unified_diff
from saline.states.engine.safefs import UnsafeLink, follow_root_links, read_as_seen
from saline.states.engine.safetree import group_name, user_name

Regex = Annotated[str, AfterValidator(check_regex)]
Scalar = str | bool | int | float

# ---- facts --------------------------------------------------------------------------------


class FileFacts(Facts):
    path: str
    kind: Literal["missing", "file", "directory", "symlink", "other"]
    content: bytes | None = None
    mode: int | None = None
    user: str | None = None
    group: str | None = None
    link_target: str | None = None  # what a symlink points to
    parent_exists: bool = True
    # Requested user/group names the node does not know (refused before anything runs).
    unknown_owners: list[str] = Field(default_factory=list)
    # file.managed with follow_symlinks: the link these facts were read through (path is its
    # target), or why it is not followed.
    followed_from: str | None = None
    link_refused: str | None = None
    # file.managed with backup: minion: where the agent keeps old files (None: nowhere).
    backup_dir: str | None = None


def _unknown_owners(user: str | None, group: str | None) -> list[str]:
    unknown = []
    for name, lookup, what in ((user, pwd.getpwnam, "user"), (group, grp.getgrnam, "group")):
        if name is None:
            continue
        try:
            lookup(name)
        except KeyError:
            unknown.append(f"{what} {name!r}")
    return unknown


def observe(runner: Runner, path: str, *, user: str | None = None, group: str | None = None) -> FileFacts:
    target = runner.path(path)
    unknown = _unknown_owners(user, group)
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return FileFacts(path=path, kind="missing", parent_exists=target.parent.is_dir(), unknown_owners=unknown)
    if stat.S_ISLNK(st.st_mode):
        kind = "symlink"
    elif stat.S_ISDIR(st.st_mode):
        kind = "directory"
    elif stat.S_ISREG(st.st_mode):
        kind = "file"
    else:
        kind = "other"
    return FileFacts(
        path=path,
        kind=kind,
        link_target=os.readlink(target) if kind == "symlink" else None,
        content=read_as_seen(target, st) if kind == "file" else None,  # not what a swapped-in link points to
        mode=stat.S_IMODE(st.st_mode),
        user=user_name(st.st_uid),
        group=group_name(st.st_gid),
        unknown_owners=unknown,
    )


def file_facts(args: StateArgs, ctx: StateContext) -> FileFacts:
    return observe(ctx.runner, args.name, user=getattr(args, "user", None), group=getattr(args, "group", None))


# ---- shared planning pieces ----------------------------------------------------------------


def _refuse_unknown_owners(facts: FileFacts, assuming: dict | None = None) -> None:
    if facts.unknown_owners:
        raise Refuse(f"unknown {', '.join(facts.unknown_owners)} on this node",
                     assuming if facts.kind == "missing" else None)


def _refuse_missing_parent(facts: FileFacts, makedirs: bool, assuming: dict | None = None) -> None:
    if not facts.parent_exists and not makedirs:
        raise Refuse(f"parent directory of {facts.path} does not exist (set makedirs: true to create it)", assuming)


def _check_target(facts: FileFacts, kind: str, makedirs: bool, assuming: dict | None = None) -> None:
    """Refuse before anything runs: unknown owners, a path of another kind, a missing parent.
    ``assuming``: what a dry run shows for a path to be created once an earlier state made
    its parent or owner (``Refuse.assuming``)."""
    _refuse_unknown_owners(facts, assuming)
    if facts.kind not in ("missing", kind):
        raise Refuse(f"{facts.path} exists and is a {facts.kind}, not a {kind}")
    if facts.kind == "missing":
        _refuse_missing_parent(facts, makedirs, assuming)


class FileAttrsArgs(StateArgs):
    """Arguments shared by file.managed and file.directory (Salt's names)."""

    name: NodePath
    mode: Mode | None = None
    user: str | None = None
    group: str | None = None
    makedirs: bool = False


def attr_changes(facts: FileFacts, mode: int | None, user: str | None, group: str | None) -> dict:
    """Salt's shape: {"mode": "0600", "user": "nobody"} for every requested attribute that differs."""
    changes = {}
    if user is not None and user != facts.user:
        changes["user"] = user
    if group is not None and group != facts.group:
        changes["group"] = group
    if mode is not None and mode != facts.mode:
        changes["mode"] = format_mode(mode)
    return changes


def _text_of(facts: FileFacts) -> str:
    try:
        return decode_text(facts.content or b"", facts.path)
    except ValueError as exc:
        raise Refuse(str(exc)) from None


def _suffix(value: str) -> str:
    if not value or "/" in value:
        raise ValueError(f"backup {value!r} must be a file name suffix like '.bak'")
    return value


# Salt's ``backup`` of the editing functions (file.replace, blockreplace, comment, uncomment):
# a suffix, the old file kept next to it as NAME + suffix, or false for none.
Backup = Annotated[str, AfterValidator(_suffix)] | bool


def backup_steps(facts: FileFacts, backup: str | bool) -> list[Step]:
    """The step keeping the file as it was before an edit as ``NAME.bak`` (none for false or a new file)."""
    if not isinstance(backup, str) or facts.kind != "file":
        return []
    return [WriteFileStep(description=f"Keep the old {facts.path} as {facts.path}{backup}", path=facts.path + backup,
                          content=facts.content or b"", mode=facts.mode, user=facts.user, group=facts.group)]


def edit_plan(facts: FileFacts, edit: Callable[[str], str], *, create: bool = False, makedirs: bool = False,
              backup: str | bool = False) -> Plan:
    """Plan for the line-editing functions: read the text, edit it, write it back if it differs
    (after keeping the old file as NAME + ``backup``, when one is given)."""
    if facts.kind == "missing":
        if not create:
            raise Refuse(f"{facts.path} does not exist")
        _refuse_missing_parent(facts, makedirs=makedirs)
        old: str | None = None
    elif facts.kind != "file":
        raise Refuse(f"{facts.path} is a {facts.kind}, not a regular file")
    else:
        old = _text_of(facts)
    try:
        new = edit(old or "")
    except EditError as exc:
        raise Refuse(str(exc)) from None
    if old is not None and new == old:
        return Plan(comment=f"File {facts.path} is in the correct state")
    verb = "Create" if old is None else "Edit"
    return Plan(
        steps=[*backup_steps(facts, backup), WriteFileStep(description=f"{verb} {facts.path}", path=facts.path, content=new.encode(), makedirs=makedirs)],
        changes={"diff": unified_diff(facts.path, old, new)},
    )


# ---- file.managed -------------------------------------------------------------------------


def parent_dir_mode(mode: int | None) -> int | None:
    """Salt's default ``dir_mode`` for the parents makedirs creates: the file's mode with an
    execute bit on every non-zero digit (0640 → 0750), so the directories can be entered."""
    if mode is None:
        return None
    digits = [(mode >> shift) & 7 for shift in (6, 3, 0)]
    return sum(((d | 1) if d else 0) << shift for d, shift in zip(digits, (6, 3, 0)))


def _contents_text(value: object) -> object:
    """Salt accepts ``contents`` as a list of lines, joined with newlines."""
    if isinstance(value, list):
        if not all(isinstance(item, str) for item in value):
            raise ValueError("contents: a list of contents must hold only strings")
        return "\n".join(value)
    return value


def _check_command(value: object) -> object:
    """check_cmd: a command string (split into words; shell syntax refused, as cmd.run's) or argv."""
    from saline.states.modules.cmd import split_command

    if value is None:
        return None
    if not isinstance(value, (str, list)):
        raise ValueError("check_cmd: expected a command string or an argv list")
    return split_command(value)


def managed_facts(args: "ManagedArgs", ctx: StateContext) -> FileFacts:
    facts = observe(ctx.runner, args.name, user=args.user, group=args.group)
    if facts.kind == "symlink" and args.follow_symlinks:
        try:
            target = follow_root_links(ctx.runner.root, args.name)
        except UnsafeLink as exc:
            facts.link_refused = str(exc)
        else:
            facts = observe(ctx.runner, target, user=args.user, group=args.group)
            facts.followed_from = args.name
    if args.backup == "minion" and ctx.backup_dir is not None:
        facts.backup_dir = str(ctx.backup_dir)
    return facts


class ManagedArgs(FileAttrsArgs):
    contents: Annotated[str | None, BeforeValidator(_contents_text)] = None
    # Salt: a final newline is added to contents (and contents_pillar) that lack one.
    contents_newline: bool = True
    # Mode of the parent directories makedirs creates (default: mode plus x bits, as Salt).
    dir_mode: Mode | None = None
    # Salt: false keeps the diff (a secret's old and new text) out of the return.
    show_changes: bool = True
    # Salt: with replace false an existing file's content is left alone (attributes still managed).
    replace: bool = True
    # Salt: with create false a missing file is left missing (the state succeeds, nothing changes).
    create: bool = True
    # "sha256=HEX" of the contents: set by the master when it inlines a source file.
    source_hash: str | None = Field(default=None, pattern=r"^sha256=[0-9a-f]{64}$")
    # Salt: a symlink at name is followed and its target managed (saline: only a root-owned
    # link in a root-only directory, see safefs.follow_root_links).
    follow_symlinks: bool = True
    # Salt: "minion" keeps the old file in the agent's backup directory before replacing it.
    backup: Literal["", "minion"] = ""
    # Salt: run COMMAND TMPFILE on the new content first; the file is written only if it exits 0.
    check_cmd: Annotated[list[str] | None, BeforeValidator(_check_command)] = None
    tmp_ext: str = Field(default="", pattern=r"^[A-Za-z0-9._-]*$")

    @model_validator(mode="after")
    def _contents_match_hash(self) -> "ManagedArgs":
        if self.source_hash is not None:
            if self.contents is None:
                raise ValueError("source_hash given without contents")
            actual = "sha256=" + hashlib.sha256(self.contents.encode()).hexdigest()
            if actual != self.source_hash:
                raise ValueError(f"contents do not match source_hash ({actual} != {self.source_hash})")
        elif self.contents_newline and self.contents is not None and not self.contents.endswith("\n"):
            # Not for a source file (it has a source_hash): Salt writes those byte for byte.
            self.contents += "\n"
        return self

    def parents_mode(self) -> int | None:
        return self.dir_mode if self.dir_mode is not None else parent_dir_mode(self.mode)


def _checked_and_kept(args: ManagedArgs, facts: FileFacts, wanted: bytes) -> list[Step]:
    """The steps before a write: check_cmd on the new content, the old file kept (backup: minion)."""
    steps: list[Step] = []
    if args.check_cmd is not None:
        steps.append(CommandStep(
            description=f"Check the new {facts.path} with {shlex.join(args.check_cmd)}",
            argv=[sys.executable, "-m", "saline.states.system.checkcmd", "--suffix", args.tmp_ext, "--",
                  *args.check_cmd],
            stdin=wanted.decode()))
    if args.backup == "minion" and facts.kind == "file":
        if facts.backup_dir is None:
            raise Refuse("backup: minion needs the agent's backup directory, and none is set here")
        steps.append(BackupStep(description=f"Keep the old {facts.path} in {facts.backup_dir}", path=facts.path,
                                backup_dir=facts.backup_dir, content=facts.content or b"", mode=facts.mode or 0o600,
                                user=facts.user or "root", group=facts.group or "root"))
    return steps


def managed_report(args: ManagedArgs, outputs: list[CommandResult]) -> Report | None:
    """Salt's return when check_cmd failed: no changes, "check_cmd execution failed" and the
    checker's output (each stream cut to 4 KiB); otherwise the plan's changes say it."""
    failed = [r for r in outputs if r.rc != 0]
    if not failed:
        return None
    comment = "check_cmd execution failed"
    for text in (failed[-1].stdout.strip(), failed[-1].stderr.strip()):
        if text:
            comment += "\n" + (text if len(text) <= 4096 else text[:4096] + " …(cut)")
    return Report(changes={}, comment=comment, result=False)


@state_function("file.managed", ManagedArgs, facts=managed_facts, report=managed_report)
def managed(args: ManagedArgs, facts: FileFacts) -> Plan:
    """A regular file with the given contents, mode and owner."""
    if facts.link_refused:
        raise Refuse(facts.link_refused)
    if facts.kind == "symlink":
        raise Refuse(f"{facts.path} is a symlink and follow_symlinks is false; saline does not replace it "
                     "(remove it first, or manage it with file.symlink)")
    if facts.kind == "missing" and not args.create:
        return Plan(comment=f"File {args.name} is not present and is not set for creation")
    _check_target(facts, "file", args.makedirs, assuming={"newfile": args.name})
    path = facts.path  # the link's target when one was followed
    if facts.kind == "missing":
        # Salt's shapes: {"newfile": path} in a dry run, {"diff": "New file", "mode": "0640"} applied.
        changes: dict = {"diff": "New file", **({"mode": format_mode(args.mode)} if args.mode is not None else {})}
        content = (args.contents or "").encode()
        step = WriteFileStep(
            description=f"Create {path}", path=path, content=content,
            mode=args.mode, user=args.user, group=args.group, makedirs=args.makedirs, dir_mode=args.parents_mode(),
        )
        return Plan(steps=[*_checked_and_kept(args, facts, content), step], changes=changes,
                    test_changes={"newfile": args.name})

    changes = attr_changes(facts, args.mode, args.user, args.group)
    wanted = None if args.contents is None or not args.replace else args.contents.encode()
    steps: list[Step] = []
    if wanted is not None and wanted != facts.content:
        try:
            changes["diff"] = (unified_diff(args.name, decode_text(facts.content or b"", args.name), args.contents)
                               if args.show_changes else "<show_changes=False>")  # Salt's placeholder
        except ValueError:
            changes["diff"] = "Replace binary file"
        # A write sets every owner field; fill the unrequested one from the file so it is kept.
        user = args.user or (facts.user if args.group else None)
        group = args.group or (facts.group if args.user else None)
        steps += _checked_and_kept(args, facts, wanted)
        steps.append(WriteFileStep(description=f"Write {path}", path=path, content=wanted,
                                   mode=args.mode, user=user, group=group))
    elif changes:
        steps.append(SetAttrsStep(description=f"Set {', '.join(changes)} of {path}", path=path,
                                  mode=args.mode, user=args.user, group=args.group))
    return Plan(steps=steps, changes=changes, comment=f"File {args.name} is in the correct state")


# ---- file.absent --------------------------------------------------------------------------


def _not_root(path: str) -> str:
    if path == "/":
        raise ValueError("refusing to make '/' absent")
    return path


class AbsentArgs(StateArgs):
    name: Annotated[NodePath, AfterValidator(_not_root)]


@state_function("file.absent", AbsentArgs, facts=file_facts)
def absent(args: AbsentArgs, facts: FileFacts) -> Plan:
    """No file, symlink or directory (removed recursively, like Salt) at the path."""
    if facts.kind == "missing":
        return Plan(comment=f"File {args.name} is not present")
    what = "directory" if facts.kind == "directory" else facts.kind
    return Plan(
        steps=[RemoveStep(description=f"Remove {what} {args.name}", path=args.name, recursive=True)],
        changes={"removed": args.name},
    )


# ---- file.keyvalue ------------------------------------------------------------------------


class KeyValueArgs(StateArgs):
    name: NodePath
    key: str | None = None
    value: Scalar | None = None
    key_values: dict[str, Scalar] | None = None
    separator: str = Field(default="=", min_length=1)
    # Salt: a comment prefix ("#") to remove from lines holding a wanted key.
    uncomment: str | None = None
    append_if_not_found: bool = False
    create_if_missing: bool = False

    @model_validator(mode="after")
    def _one_way_to_name_keys(self) -> KeyValueArgs:
        if self.key_values is not None and (self.key is not None or self.value is not None):
            raise ValueError("give either key_values or key and value, not both")
        if self.key_values is None and (self.key is None or self.value is None):
            raise ValueError("key_values (or key and value) is required")
        if self.key_values == {}:
            raise ValueError("key_values is empty")
        for key, value in self.rendered().items():
            if "\n" in key + value or not key.strip():
                raise ValueError(f"key {key!r} / value {value!r}: keys must be non-empty and neither may span lines")
        return self

    def rendered(self) -> dict[str, str]:
        pairs = self.key_values if self.key_values is not None else {self.key: self.value}
        return {str(k): render_value(v) for k, v in pairs.items()}


@state_function("file.keyvalue", KeyValueArgs, facts=file_facts)
def keyvalue(args: KeyValueArgs, facts: FileFacts) -> Plan:
    """``KEY<separator>VALUE`` lines in a shell-style config (``/etc/default/grub``)."""
    wanted = args.rendered()
    return edit_plan(
        facts,
        lambda text: keyvalue_text(text, wanted, args.separator, uncomment=args.uncomment,
                                   append_if_not_found=args.append_if_not_found or facts.kind == "missing"),
        create=args.create_if_missing,
    )


# ---- file.line ------------------------------------------------------------------------------


class LineArgs(StateArgs):
    name: NodePath
    mode: LineMode
    content: str | None = None
    match: Regex | None = None
    before: Regex | None = None
    after: Regex | None = None
    location: Literal["start", "end"] | None = None
    indent: bool = True
    create: bool = False

    @model_validator(mode="after")
    def _arguments_fit_the_mode(self) -> LineArgs:
        if self.mode in ("ensure", "insert", "replace") and self.content is None:
            raise ValueError(f"mode {self.mode} needs content")
        if self.content is not None and "\n" in self.content:
            raise ValueError("content must be a single line")
        if self.mode == "delete" and self.content is None and self.match is None:
            raise ValueError("mode delete needs match or content")
        if self.mode == "ensure" and self.before is None and self.after is None:
            raise ValueError("mode ensure needs before and/or after")
        if self.location is not None and (self.mode != "insert" or self.before or self.after):
            raise ValueError("location is only for mode insert without before/after")
        return self


@state_function("file.line", LineArgs, facts=file_facts)
def line(args: LineArgs, facts: FileFacts) -> Plan:
    """One line ensured, inserted, replaced or deleted (Salt's file.line modes)."""
    return edit_plan(
        facts,
        lambda text: line_text(text, args.mode, content=args.content, match=args.match, before=args.before,
                               after=args.after, location=args.location, indent=args.indent),
        create=args.create,
    )


# ---- file.comment / file.uncomment ---------------------------------------------------------------


class CommentArgs(StateArgs):
    name: NodePath
    regex: Regex
    char: str = Field(default="#", min_length=1)
    ignore_missing: bool = False
    backup: Backup = ".bak"


class UncommentArgs(StateArgs):
    name: NodePath
    regex: Regex
    char: str = Field(default="#", min_length=1)
    backup: Backup = ".bak"


@state_function("file.comment", CommentArgs, facts=file_facts)
def comment(args: CommentArgs, facts: FileFacts) -> Plan:
    """Comment out every logical line (backslash continuations included) matching ``regex``."""
    if facts.kind == "missing" and args.ignore_missing:
        return Plan(comment=f"{args.name} does not exist; ignore_missing is set")
    return edit_plan(facts, lambda text: comment_text(text, args.regex, args.char, ignore_missing=args.ignore_missing),
                     backup=args.backup)


@state_function("file.uncomment", UncommentArgs, facts=file_facts)
def uncomment(args: UncommentArgs, facts: FileFacts) -> Plan:
    """Uncomment every logical line matching ``regex`` (the regex does not include ``char``)."""
    return edit_plan(facts, lambda text: uncomment_text(text, args.regex, args.char), backup=args.backup)
