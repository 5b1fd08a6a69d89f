"""The contract every state module follows: facts → plan → apply.

A state function is declared once with :func:`state_function` and consists of

* ``Args``: a pydantic model (extra fields forbidden) — validated at compile time on
  the master, so a typo is an error naming the file, the state id and the bad key;
* ``facts(args, ctx)``: read-only commands whose real output is parsed into a model;
* ``plan(args, facts)``: a *pure* function returning a :class:`Plan` (ordered steps,
  each a command argv or a file operation, with a human description, plus the
  ``changes`` a Salt user expects to see). Raise :class:`Refuse` to refuse with a
  reason (nothing runs; the state fails with that comment);
* optionally ``mod_watch(args, facts)`` returning steps to run when a watched state
  changed (restart a service when its config changed);
* optionally ``report(args, results)`` turning the results of the commands that ran into
  the state's :class:`Report` (``cmd.run``: Salt's ``{pid, retcode, stdout, stderr}``),
  also when a command failed; ``None`` keeps the plan's changes (``user.present`` reports
  the uid the tool picked only when it created the user).

The engine applies the plan, gathers facts again and plans again: a non-empty second
plan fails the state as "not idempotent" (unless the function declares
``converges=False``, like ``cmd.run`` without guards, which is honestly a change
every time).
"""

from __future__ import annotations

import errno
import grp
import logging
import os
import pwd
import secrets
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, TypeVar, Union

from pydantic import BaseModel, ConfigDict, Field

from saline.states.engine import backups, safefs, safetree
from saline.states.engine.runner import CommandError, CommandResult, Runner

log = logging.getLogger("saline.states")


class StateArgs(BaseModel):
    """Base for every state function's argument model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")

    name: str


class Facts(BaseModel):
    """Base for the observed facts of a state function."""

    model_config = ConfigDict(extra="forbid")


# ---- steps: what a plan asks to be done, as data ---------------------------------------


class CommandStep(BaseModel):
    kind: Literal["cmd"] = "cmd"
    description: str
    argv: list[str] = Field(min_length=1)
    stdin: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    timeout: float | None = None
    ok_rc: list[int] = Field(default_factory=lambda: [0])


class WriteFileStep(BaseModel):
    """Write ``content`` to ``path`` atomically (temp file + rename), then set mode/owner."""

    kind: Literal["write"] = "write"
    description: str
    path: str  # node path; mapped under the runner's root
    content: bytes
    mode: int | None = None
    user: str | None = None
    group: str | None = None
    makedirs: bool = False
    # Mode of the parent directories makedirs creates (Salt: dir_mode, else mode plus x bits).
    dir_mode: int | None = None
    # file.recurse: from this directory down, a symlink in the path is refused, not resolved.
    no_links_below: str | None = None


class SetAttrsStep(BaseModel):
    kind: Literal["attrs"] = "attrs"
    description: str
    path: str
    mode: int | None = None
    user: str | None = None
    group: str | None = None
    # file.recurse: from this directory down, a symlink in the path is refused, not resolved.
    no_links_below: str | None = None


class MkdirStep(BaseModel):
    kind: Literal["mkdir"] = "mkdir"
    description: str
    path: str
    mode: int | None = None
    user: str | None = None
    group: str | None = None
    parents: bool = True
    # file.recurse: from this directory down, a symlink in the path is refused, not resolved.
    no_links_below: str | None = None


class SymlinkStep(BaseModel):
    """``path`` becomes a symlink to ``target`` (made under a temp name, renamed over ``path``)."""

    kind: Literal["symlink"] = "symlink"
    description: str
    path: str
    target: str
    makedirs: bool = False


class RemoveStep(BaseModel):
    kind: Literal["remove"] = "remove"
    description: str
    path: str
    recursive: bool = False


class TreeAttrsStep(BaseModel):
    """Owner and modes of every entry below the directory ``path`` (not ``path`` itself), walked
    and changed through fds without following a link (:mod:`safetree`)."""

    kind: Literal["tree_attrs"] = "tree_attrs"
    description: str
    path: str
    user: str | None = None
    group: str | None = None
    file_mode: int | None = None
    dir_mode: int | None = None
    files: bool = True
    dirs: bool = True
    max_depth: int | None = None


class TreeRemoveStep(BaseModel):
    """Remove these entries (``a/b``, relative to the directory ``path``), reached through real
    directories only (:mod:`safetree`)."""

    kind: Literal["tree_remove"] = "tree_remove"
    description: str
    path: str
    entries: list[str]


class BackupStep(BaseModel):
    """Keep ``content`` (the file at ``path`` before a write) in the agent's backup directory
    (file.managed's ``backup: minion``, :mod:`backups`)."""

    kind: Literal["backup"] = "backup"
    description: str
    backup_dir: str  # a host path of the agent's, not under the state root
    path: str
    content: bytes
    mode: int
    user: str
    group: str


Step = Annotated[
    Union[CommandStep, WriteFileStep, SetAttrsStep, MkdirStep, RemoveStep, SymlinkStep, TreeAttrsStep, TreeRemoveStep,
          BackupStep],
    Field(discriminator="kind"),
]


class Plan(BaseModel):
    steps: list[Step] = Field(default_factory=list)
    # What will change, as Salt shows it in ``changes`` (e.g. {"diff": "...", "mode": {"old": "0644", "new": "0600"}}).
    changes: dict[str, Any] = Field(default_factory=dict)
    # What a dry run shows instead, where Salt shows it differently ({"newfile": path}).
    test_changes: dict[str, Any] | None = None
    # Comment when nothing needs doing (e.g. "File /etc/x is in the correct state").
    comment: str = ""
    # Steps that run after ``steps`` whether or not those succeeded, to undo something
    # temporary (unmount a staging mount). They never make a plan non-empty on their own.
    cleanup: list[Step] = Field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.steps


class Refuse(Exception):
    """Raised by ``plan`` (or ``facts``) to refuse: the state fails with this reason and nothing runs.

    ``assuming``: the dry-run changes the state would show if what it lacks (a parent
    directory, a user or group) is made by a state it requires that would change first; a
    dry run shows those (None, "would change") instead of "cannot be planned", as Salt does.
    """

    def __init__(self, message: str, assuming: dict[str, Any] | None = None):
        super().__init__(message)
        self.assuming = assuming


# ---- context ----------------------------------------------------------------------------


@dataclass
class StateContext:
    runner: Runner
    test: bool = False
    # The node's facts as gathered by the agent (hostname, os, ...), for modules that
    # choose by OS (e.g. fstab nofail vs nobootwait).
    node: dict[str, Any] = field(default_factory=dict)
    # Where file.managed's backup: minion keeps old files (the agent's state_dir/file_backup).
    backup_dir: Path | None = None


@dataclass(frozen=True)
class Report:
    """What a state reports from the commands it ran, instead of its plan's changes."""

    changes: dict[str, Any]
    comment: str
    result: bool = True


# ---- the declaration ------------------------------------------------------------------

A = TypeVar("A", bound=StateArgs)
F = TypeVar("F", bound=BaseModel)


@dataclass(frozen=True)
class StateFunction(Generic[A, F]):
    name: str  # "module.function", e.g. "file.managed"
    args_model: type[A]
    facts: Callable[[A, StateContext], F]
    plan: Callable[[A, F], Plan]
    mod_watch: Callable[[A, F], list[Any]] | None = None
    converges: bool = True
    doc: str = ""
    report: Callable[[A, list[CommandResult]], Report | None] | None = None


REGISTRY: dict[str, StateFunction] = {}


def state_function(
    name: str,
    args_model: type[A],
    *,
    facts: Callable[[A, StateContext], F],
    mod_watch: Callable[[A, F], list[Any]] | None = None,
    converges: bool = True,
    report: Callable[[A, list[CommandResult]], Report | None] | None = None,
) -> Callable[[Callable[[A, F], Plan]], Callable[[A, F], Plan]]:
    """Decorator on the ``plan`` function that registers the state function.

    ::

        @state_function("file.managed", ManagedArgs, facts=file_facts)
        def managed(args: ManagedArgs, facts: FileFacts) -> Plan: ...
    """

    def register(plan: Callable[[A, F], Plan]) -> Callable[[A, F], Plan]:
        if name in REGISTRY:
            raise RuntimeError(f"state function {name} registered twice")
        REGISTRY[name] = StateFunction(name, args_model, facts, plan, mod_watch, converges, plan.__doc__ or "", report)
        return plan

    return register


# ---- executing steps -------------------------------------------------------------------


def _ids(user: str | None, group: str | None) -> tuple[int, int]:
    # A number is an id: the owner of a home in a container's rootfs is not a host user.
    # (No user or group name is all digits: the shadow tools refuse such names.)
    return (-1 if user is None else int(user) if user.isdigit() else pwd.getpwnam(user).pw_uid,
            -1 if group is None else int(group) if group.isdigit() else grp.getgrnam(group).gr_gid)


def _set_attrs(fd: int, mode: int | None, user: str | None, group: str | None) -> None:
    """On an open fd, never a path: what we change is what we opened."""
    if user is not None or group is not None:
        os.fchown(fd, *_ids(user, group))
    if mode is not None:
        os.fchmod(fd, mode)


def _write(dir_fd: int, name: str, step: WriteFileStep) -> None:
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        existing = st if stat.S_ISREG(st.st_mode) else None
    except FileNotFoundError:
        existing = None
    mode = step.mode if step.mode is not None else (stat.S_IMODE(existing.st_mode) if existing else 0o644)
    # A fresh random name opened O_EXCL|O_NOFOLLOW in the parent we hold: a planted file or
    # symlink cannot redirect the write; the rename then replaces whatever is at ``name``.
    tmp = f".{name}.saline-{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dir_fd)
    try:
        try:
            view = memoryview(step.content)
            written = 0
            while written < len(view):
                written += os.write(fd, view[written:])
            os.fsync(fd)
            if existing is not None and step.user is None and step.group is None:
                os.fchown(fd, existing.st_uid, existing.st_gid)
            _set_attrs(fd, mode, step.user, step.group)
        finally:
            os.close(fd)
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        try:
            os.unlink(tmp, dir_fd=dir_fd)
        except FileNotFoundError:
            pass
        raise


def _remove(dir_fd: int, name: str, recursive: bool) -> None:
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(name, dir_fd=dir_fd)
    elif recursive:
        shutil.rmtree(name, dir_fd=dir_fd)
    else:
        os.rmdir(name, dir_fd=dir_fd)


def _link(dir_fd: int, name: str, target: str) -> None:
    """A new symlink under a random name, renamed over ``name``: the path is the old entry or
    the new link, never missing, and an existing link is replaced, not followed."""
    tmp = f".{name}.saline-link-{secrets.token_hex(6)}"
    os.symlink(target, tmp, dir_fd=dir_fd)
    try:
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        os.unlink(tmp, dir_fd=dir_fd)
        raise


def execute_step(step: Step, runner: Runner) -> CommandResult | None:
    """Run one step for real. Raises CommandError / OSError on failure.

    File steps work through :mod:`safefs`: the parent directory is opened component by
    component without leaving the root, and the file itself through fds (see there why).
    """
    if isinstance(step, CommandStep):
        result = runner.run(step.argv, input=step.stdin, env=step.env, timeout=step.timeout)
        if result.rc not in step.ok_rc:
            raise CommandError(result)
        return result
    if isinstance(step, TreeAttrsStep):
        uid, gid = _ids(step.user, step.group)
        wanted = safetree.Wanted(None if uid == -1 else uid, None if gid == -1 else gid, step.file_mode,
                                 step.dir_mode, step.files, step.dirs)
        safetree.set_attrs(runner.root, step.path, wanted, max_depth=step.max_depth)
        return None
    if isinstance(step, BackupStep):
        uid, gid = _ids(step.user, step.group)
        backups.keep_copy(Path(step.backup_dir), step.path, step.content, step.mode, uid, gid)
        return None
    if isinstance(step, TreeRemoveStep):
        safetree.remove(runner.root, step.path, step.entries)
        return None
    # Salt's makedirs: the parents it creates get the state's user, group and dir_mode.
    parents: tuple[int | None, str | None, str | None] | None = None
    if isinstance(step, WriteFileStep) and step.makedirs:
        parents = (step.dir_mode, step.user, step.group)
    elif isinstance(step, MkdirStep) and step.parents:
        parents = (step.mode, step.user, step.group)
    elif isinstance(step, SymlinkStep) and step.makedirs:
        parents = (None, None, None)
    dir_fd, name, _ = safefs.open_parent(
        runner.root, step.path, create=parents is not None,
        made=(lambda fd: _set_attrs(fd, *parents)) if parents is not None else None,
        no_links_below=getattr(step, "no_links_below", None),
    )
    try:
        if isinstance(step, WriteFileStep):
            if name is None:
                raise IsADirectoryError(errno.EISDIR, f"{step.path} is the state root")
            _write(dir_fd, name, step)
        elif isinstance(step, (SetAttrsStep, MkdirStep)):
            if isinstance(step, MkdirStep) and name is not None:
                try:
                    os.mkdir(name, 0o777, dir_fd=dir_fd)
                except FileExistsError:
                    pass
            fd = safefs.open_last(dir_fd, name, step.path)
            try:
                if isinstance(step, MkdirStep) and not stat.S_ISDIR(os.fstat(fd).st_mode):
                    raise FileExistsError(errno.EEXIST, f"{step.path} exists and is not a directory")
                _set_attrs(fd, step.mode, step.user, step.group)
            finally:
                os.close(fd)
        elif isinstance(step, SymlinkStep):
            if name is None:
                raise IsADirectoryError(errno.EISDIR, f"{step.path} is the state root")
            _link(dir_fd, name, step.target)
        elif isinstance(step, RemoveStep):
            if name is None:
                raise PermissionError(errno.EPERM, "refusing to remove the state root")
            _remove(dir_fd, name, step.recursive)
    finally:
        os.close(dir_fd)
    return None
