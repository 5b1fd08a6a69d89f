"""Node paths under the state root, resolved and changed without following links out of it.

A state's facts are read a moment before its steps run, and a local user who can write
a parent directory can swap a file for a symlink in between. So the steps never act on a
path string: :func:`open_parent` walks the path one component at a time with
``O_NOFOLLOW`` from an fd of the root, resolving a symlink it meets in a *parent* the way
``openat2(RESOLVE_IN_ROOT)`` does (an absolute target starts again at the root, ``..``
stops there), and the step then works on the last component relative to the parent's fd:
written through a fresh ``O_EXCL`` temp file and renamed, its mode and owner set with
``fchmod``/``fchown`` on an fd opened with ``O_NOFOLLOW``. A last component that is a
symlink is never followed: a mode or owner change on it is refused.

With ``state_root: /`` the walk changes nothing for parents (every link is in the root);
with a container's rootfs as the root, ``/etc -> /srv/other`` means ``ROOT/srv/other``.
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat
from collections.abc import Callable
from pathlib import Path, PurePosixPath

MAX_LINKS = 40  # as the kernel's ELOOP limit


class PathOutsideRoot(ValueError):
    pass


def node_parts(node_path: str | PurePosixPath) -> tuple[str, ...]:
    """The components of an absolute node path without ``..`` (refused otherwise)."""
    p = PurePosixPath(node_path)
    if not p.is_absolute():
        raise PathOutsideRoot(f"{node_path!r} is not an absolute path")
    if ".." in p.parts:
        raise PathOutsideRoot(f"{node_path!r} contains '..'")
    return p.parts[1:]


def _open_nofollow(name: str, dir_fd: int) -> int:
    # O_PATH without O_DIRECTORY opens a symlink itself, so we can tell one from a directory.
    return os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)


def open_parent(
    root: Path, node_path: str | PurePosixPath, *, create: bool = False, made: Callable[[int], None] | None = None,
    no_links_below: str | None = None,
) -> tuple[int, str | None, PurePosixPath]:
    """(fd of the directory holding the last component, that component, the resolved node path).

    The component is None for the root itself. ``create`` makes missing parents (mode 0777
    minus the umask, as ``mkdir -p``) and calls ``made`` with an fd of each one it made (to
    set its owner and mode). ``no_links_below``: a directory above ``node_path`` (file.recurse's
    target) from which on a symlink is refused, not resolved. The caller closes the returned fd.
    """
    parts = node_parts(node_path)
    strict_from = len(parts)
    if no_links_below is not None:
        below = node_parts(no_links_below)
        if parts[:len(below)] != below:
            raise PathOutsideRoot(f"{node_path} is not below {no_links_below}")
        strict_from = len(below) - 1  # that directory itself must not be a link either
    # Each component with its index in node_path (-1: from a link's target), to know where
    # symlinks stop being resolved.
    todo = list(reversed(list(zip(parts[:-1], range(len(parts) - 1)))))
    stack = [os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)]
    names: list[str] = []
    links = 0
    try:
        while todo:
            name, index = todo.pop()
            if name in ("", "."):
                continue
            if name == "..":
                if len(stack) > 1:
                    os.close(stack.pop())
                    names.pop()
                continue
            try:
                fd = _open_nofollow(name, stack[-1])
            except FileNotFoundError:
                if not create:
                    raise
                try:
                    os.mkdir(name, 0o777, dir_fd=stack[-1])
                except FileExistsError:
                    pass  # made by someone else meanwhile: not ours to chmod
                else:
                    if made is not None:
                        new_fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=stack[-1])
                        try:
                            made(new_fd)
                        finally:
                            os.close(new_fd)
                todo.append((name, index))
                continue
            mode = os.fstat(fd).st_mode
            if stat.S_ISLNK(mode):
                os.close(fd)
                if index >= strict_from:
                    raise OSError(errno.ELOOP, f"{'/' + '/'.join([*names, name])} is a symbolic link below "
                                               f"{no_links_below}; refusing to follow it")
                links += 1
                if links > MAX_LINKS:
                    raise OSError(errno.ELOOP, f"too many levels of symbolic links in {node_path}")
                target = os.readlink(name, dir_fd=stack[-1])
                if target.startswith("/"):
                    while len(stack) > 1:
                        os.close(stack.pop())
                    names.clear()
                todo.extend((part, -1) for part in reversed(PurePosixPath(target).parts[1 if target.startswith("/") else 0:]))
                continue
            if not stat.S_ISDIR(mode):
                os.close(fd)
                raise NotADirectoryError(errno.ENOTDIR, f"{'/' + '/'.join([*names, name])} is not a directory (in {node_path})")
            stack.append(fd)
            names.append(name)
    except BaseException:
        for fd in stack:
            os.close(fd)
        raise
    for fd in stack[:-1]:
        os.close(fd)
    last = parts[-1] if parts else None
    return stack[-1], last, PurePosixPath("/", *names, *([last] if last else []))


def resolve(root: Path, node_path: str | PurePosixPath) -> Path:
    """The host path of ``node_path`` under ``root``, parents resolved in the root (the last
    component as it is, so ``lstat`` still sees a symlink there). Missing parents are kept as
    written."""
    parts = node_parts(node_path)
    for n in range(len(parts), -1, -1):  # the longest prefix whose parents exist
        try:
            fd, _, resolved = open_parent(root, PurePosixPath("/", *parts[:n]) if n else "/")
        except (FileNotFoundError, NotADirectoryError):
            continue
        os.close(fd)
        return root.joinpath(*resolved.parts[1:], *parts[n:])
    return root.joinpath(*parts)


def open_last(dir_fd: int, name: str | None, node_path: str, flags: int = os.O_RDONLY) -> int:
    """Open the last component itself, refusing a symlink (it may have been swapped in since
    the facts were read: following it would change the link's target)."""
    if name is None:
        return os.open(".", flags | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        return os.open(name, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OSError(errno.ELOOP, f"{node_path} is a symbolic link; refusing to change what it points to") from None
        raise


def read_as_seen(path: Path, seen: os.stat_result) -> bytes:
    """The content of the regular file an ``lstat`` just saw at ``path``; an OSError when it has
    been swapped since (for a symlink to a secret, its content would land in a diff)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if (st.st_dev, st.st_ino) != (seen.st_dev, seen.st_ino):
            raise OSError(errno.ESTALE, f"{path} was replaced while it was being read; apply again")
        return f.read()


class UnsafeLink(ValueError):
    """A symlink saline will not follow for a state (see :func:`follow_root_links`)."""


def follow_root_links(root: Path, node_path: str) -> str:
    """The node path a symlink at ``node_path`` leads to (file.managed's ``follow_symlinks``),
    resolved in the root, hop by hop. Followed only when every link on the way is owned by
    root and sits in a directory owned by root that no one else can write to: anyone else could
    point it (or swap it) at a file they may not write, such as ``/etc/shadow``. The result is
    where the state then writes; a link changed afterwards cannot redirect that write."""
    path = node_path
    for _ in range(MAX_LINKS):
        dir_fd, name, resolved = open_parent(root, path)
        try:
            if name is None:
                return "/"
            try:
                st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                return str(resolved)  # a dangling link: its target is created
            if not stat.S_ISLNK(st.st_mode):
                return str(resolved)
            if st.st_uid != 0:
                raise UnsafeLink(f"{resolved} is a symlink owned by uid {st.st_uid}, not root; saline follows only "
                                 "links root owns (set follow_symlinks: false to refuse it, or make the link root's)")
            holder = os.fstat(dir_fd)
            if holder.st_uid != 0 or holder.st_mode & 0o022:
                raise UnsafeLink(f"the symlink {resolved} is in {resolved.parent}, which "
                                 f"{'is not owned by root' if holder.st_uid else 'others can write to'}; "
                                 "saline does not follow it (another user could swap it)")
            target = os.readlink(name, dir_fd=dir_fd)
        finally:
            os.close(dir_fd)
        base = "/" if target.startswith("/") else str(resolved.parent)
        path = posixpath.normpath(posixpath.join(base, target))  # ".." stops at the root, as open_parent's
        if path.startswith("//"):
            path = "/" + path.lstrip("/")
    raise OSError(errno.ELOOP, f"too many levels of symbolic links in {node_path}")
