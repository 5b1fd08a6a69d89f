"""The control socket's lifecycle: one master per socket, no stale socket left behind.

A second master must not take over a live master's socket (that leaves the first one
running but unreachable), so at start the path is probed: if a master answers, this
one refuses to start; a socket nobody listens on (a master that was killed) is
removed. At exit a master removes its own socket, and only its own (same inode), so the
CLI says "master is not running" at once instead of waiting for an answer.
"""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path


class ControlSocketError(RuntimeError):
    pass


def probe(path: Path) -> str:
    """``listening``, ``stale`` (a socket file nobody accepts on), ``absent`` or ``denied``."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(str(path))
        return "listening"
    except FileNotFoundError:
        return "absent"
    except PermissionError:
        return "denied"
    except OSError as exc:
        if exc.errno in (errno.ECONNREFUSED, errno.ENOTSOCK):
            return "stale"
        raise
    finally:
        s.close()


def claim(path: Path) -> None:
    """Before binding: refuse if a master answers on ``path``; remove a stale socket."""
    state = probe(path)
    if state == "listening":
        raise ControlSocketError(
            f"another saline-master is already running on control socket {path}; stop it first "
            f"(or give this one another control_socket)")
    if state == "stale":
        path.unlink()
    elif state == "denied":
        raise ControlSocketError(f"cannot probe control socket {path}: permission denied")
    elif path.exists() or path.is_symlink():
        raise ControlSocketError(f"{path} exists and is not a socket; refusing to replace it")


def group_id(name: str) -> int:
    import grp

    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        raise ControlSocketError(
            f"control_group {name!r} does not exist on this machine; create it (groupadd {name}) "
            f"or remove control_group from the master config") from None


def identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def release(path: Path, ours: tuple[int, int] | None) -> None:
    """At exit: remove the socket if it is still the one this master bound."""
    if ours is not None and identity(path) == ours:
        path.unlink(missing_ok=True)
