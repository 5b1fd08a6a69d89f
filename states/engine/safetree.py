"""Whole directory trees under a managed directory, read and changed without following a link.

``file.directory`` with ``recurse``/``clean`` and ``file.recurse`` work on every entry below a
directory that local users may be able to write to. Between the facts and the steps, or
while a step walks, an entry can be swapped for a symlink to ``/etc``. So below the managed
directory nothing is ever reached through a path string: each directory is opened from its
parent's fd with ``O_DIRECTORY|O_NOFOLLOW`` (a symlink there is not descended into), modes
and owners are changed with ``fchmodat``/``fchownat(AT_SYMLINK_NOFOLLOW)`` relative to the
parent's fd (a symlink's own owner is changed, as Salt's ``lchown``; its mode is never
touched), and removals use ``rmtree`` on a parent fd (fd-based on Linux).

The walk's cost is bounded: at most :data:`MAX_ENTRIES` entries and :data:`MAX_DEPTH` levels
(one fd per level is open at a time); a bigger tree is refused with what to do instead.
"""

from __future__ import annotations

import errno
import grp
import os
import pwd
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from saline.states.engine import safefs

MAX_ENTRIES = 200_000
MAX_DEPTH = 256
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class TreeTooLarge(ValueError):
    pass


@dataclass(frozen=True)
class Entry:
    rel: str  # path below the managed directory, "a/b"
    kind: str  # file, directory, symlink, other
    mode: int
    uid: int
    gid: int


def kind_of(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISDIR(mode):
        return "directory"
    return "file" if stat.S_ISREG(mode) else "other"


def user_name(uid: int) -> str:
    """The name of a uid, or the number when it has none (not cached: a user.present earlier
    in the run may have just named it)."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def open_top(root: Path, node_path: str) -> int:
    """An fd of the managed directory itself (parents resolved in the root as every file step
    does; the directory itself must not be a symlink)."""
    dir_fd, name, _ = safefs.open_parent(root, node_path)
    try:
        return safefs.open_last(dir_fd, name, node_path, os.O_RDONLY | os.O_DIRECTORY)
    finally:
        os.close(dir_fd)


def _open_subdir(parent_fd: int, name: str, seen: os.stat_result | None = None) -> int | None:
    """The subdirectory ``name`` of ``parent_fd``, or None if it is no longer a directory (or
    no longer the one ``seen``): swapped for a symlink, it is not descended into."""
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None
        raise
    if seen is not None:
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != (seen.st_dev, seen.st_ino):
            os.close(fd)
            return None
    return fd


def walk(top_fd: int, *, max_depth: int | None = None, limit: int | None = None) -> Iterator[tuple[int, str, str, os.stat_result]]:
    """(fd of the parent, name, path below the top, lstat) of every entry below ``top_fd``, parents
    before their children, names sorted. ``max_depth`` as Salt's: the entries of directories
    less than that many levels below the top. The parent fd is valid only until the next item."""
    limit = MAX_ENTRIES if limit is None else limit
    count = 0

    def visit(fd: int, prefix: str, depth: int) -> Iterator[tuple[int, str, str, os.stat_result]]:
        nonlocal count
        if max_depth is not None and depth >= max_depth:
            return
        if depth >= MAX_DEPTH:
            raise TreeTooLarge(f"the tree is more than {MAX_DEPTH} directories deep at {prefix!r}")
        for name in sorted(os.listdir(fd)):
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                continue  # removed meanwhile
            count += 1
            if count > limit:
                raise TreeTooLarge(f"the tree has more than {limit} entries")
            rel = f"{prefix}{name}"
            yield fd, name, rel, st
            if stat.S_ISDIR(st.st_mode):
                sub = _open_subdir(fd, name, st)
                if sub is not None:
                    try:
                        yield from visit(sub, rel + "/", depth + 1)
                    finally:
                        os.close(sub)

    yield from visit(top_fd, "", 0)


def entries(root: Path, node_path: str, *, max_depth: int | None = None) -> list[Entry]:
    fd = open_top(root, node_path)
    try:
        return [Entry(rel, kind_of(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
                for _, _, rel, st in walk(fd, max_depth=max_depth)]
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Wanted:
    """Owner and modes for the entries of a tree (None: left as it is). The owner is compared as
    given: names against names (a plan, from facts), ids against ids (a step, from ``lstat``)."""

    user: int | str | None = None
    group: int | str | None = None
    file_mode: int | None = None
    dir_mode: int | None = None
    files: bool = True  # Salt's recurse without ignore_files
    dirs: bool = True  # without ignore_dirs

    def differences(self, kind: str, mode: int, user: int | str, group: int | str) -> dict[str, object]:
        """What differs for one entry: {"user": …, "group": …, "mode": …} (Salt's keys)."""
        if (kind == "directory" and not self.dirs) or (kind != "directory" and not self.files):
            return {}
        out: dict[str, object] = {}
        if self.user is not None and user != self.user:
            out["user"] = self.user
        if self.group is not None and group != self.group:
            out["group"] = self.group
        wanted = self.dir_mode if kind == "directory" else self.file_mode
        if kind != "symlink" and wanted is not None and wanted != mode:  # a link's mode cannot change on Linux
            out["mode"] = wanted
        return out


def set_attrs(root: Path, node_path: str, wanted: Wanted, *, max_depth: int | None = None) -> int:
    """Give every entry below ``node_path`` the wanted owner and mode; returns how many changed."""
    fd = open_top(root, node_path)
    changed = 0
    try:
        for parent, name, _, st in walk(fd, max_depth=max_depth):
            diff = wanted.differences(kind_of(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
            if "user" in diff or "group" in diff:
                os.chown(name, diff.get("user", -1), diff.get("group", -1), dir_fd=parent,  # type: ignore[arg-type]
                         follow_symlinks=False)
            if "mode" in diff:
                try:
                    os.chmod(name, diff["mode"], dir_fd=parent, follow_symlinks=False)  # type: ignore[arg-type]
                except OSError as exc:
                    if exc.errno not in (errno.EOPNOTSUPP, errno.ENOTSUP):
                        raise
                    # swapped for a symlink since the lstat: its mode is not ours to change
            changed += bool(diff)
    finally:
        os.close(fd)
    return changed


def _open_below(top_fd: int, rel: str) -> tuple[int, str] | None:
    """(fd of the directory holding the last component of ``rel``, that component), reached
    through directories only; None when a component is gone or is no longer a directory."""
    parts = rel.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"{rel!r} is not a plain relative path")
    fd = os.dup(top_fd)
    for part in parts[:-1]:
        sub = _open_subdir(fd, part)
        os.close(fd)
        if sub is None:
            return None
        fd = sub
    return fd, parts[-1]


def _each_below(root: Path, node_path: str, rels: list[str]) -> Iterator[tuple[str, int, str]]:
    """(rel, fd of its directory, its name) for each of ``rels`` still reachable below
    ``node_path`` through real directories; the fd is closed when the next one is asked for."""
    fd = open_top(root, node_path)
    try:
        for rel in rels:
            held = _open_below(fd, rel)
            if held is None:
                continue
            parent, name = held
            try:
                yield rel, parent, name
            finally:
                os.close(parent)
    finally:
        os.close(fd)


def remove(root: Path, node_path: str, rels: list[str]) -> list[str]:
    """Remove each of ``rels`` (a directory with its content) below ``node_path``; returns those
    removed. One that has become unreachable through real directories is left alone."""
    removed = []
    for rel, parent, name in _each_below(root, node_path, rels):
        try:
            st = os.stat(name, dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            continue
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(name, dir_fd=parent)
        else:
            os.unlink(name, dir_fd=parent)
        removed.append(rel)
    return removed


def read_files(root: Path, node_path: str, rels: list[str], limit: int) -> dict[str, bytes | None]:
    """The bytes of each regular file ``rels`` names below ``node_path``, reached through real
    directories only and opened with ``O_NOFOLLOW``; None for one over ``limit`` bytes. Paths
    that are not regular files are left out."""
    out: dict[str, bytes | None] = {}
    for rel, parent, name in _each_below(root, node_path, rels):
        try:
            file_fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC,
                              dir_fd=parent)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ELOOP, errno.ENXIO, errno.EISDIR):
                continue
            raise
        with os.fdopen(file_fd, "rb") as f:
            if stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                data = f.read(limit + 1)
                out[rel] = data if len(data) <= limit else None
    return out
