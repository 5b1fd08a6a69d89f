"""Directories that hold keys, state or the control socket, checked the way ssh's StrictModes
checks ``~/.ssh``: saline sets modes only on what it creates itself, and refuses a directory
or file that another user owns, or that anyone but its owner could write into (every parent
up to ``/`` included, except sticky ones like ``/tmp``): such a user could swap ``master.pub``
or a key file under the daemon.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import KeyFileError


class UnsafePathError(KeyFileError):
    """A key/state/socket path another user could change; the message says what to run."""


def _owner_ok(st: os.stat_result) -> bool:
    return st.st_uid in (0, os.geteuid())


def _owner_name(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def check_dir(path: Path, what: str) -> None:
    """Refuse ``path`` (a directory) when it, or a parent, could be changed by another user."""
    real = Path(os.path.realpath(path))
    if not real.is_dir():
        raise UnsafePathError(f"{what} {path} is not a directory")
    for n, d in enumerate([real, *real.parents]):
        st = os.stat(d)
        mode = stat.S_IMODE(st.st_mode)
        if not _owner_ok(st):
            raise UnsafePathError(
                f"{what} {path}: {d} is owned by {_owner_name(st.st_uid)}, who could replace what is in it; "
                f"run: chown {'root' if os.geteuid() == 0 else _owner_name(os.geteuid())} {d}"
            )
        # The directory itself: nobody else may write, sticky or not. A parent: like /tmp is fine.
        if mode & 0o022 and (n == 0 or not mode & stat.S_ISVTX):
            raise UnsafePathError(
                f"{what} {path}: {d} is writable by {'group and others' if mode & 0o022 == 0o022 else 'group' if mode & 0o020 else 'others'} "
                f"(mode {mode:04o}); run: chmod go-w {d}, or use a directory only its owner can write"
            )


def check_file(path: Path, what: str) -> None:
    """Refuse a key file another user owns or could write."""
    st = os.stat(path)
    if not _owner_ok(st):
        raise UnsafePathError(
            f"{what} {path} is owned by {_owner_name(st.st_uid)}; run: chown {_owner_name(os.geteuid())} {path}"
        )
    if stat.S_IMODE(st.st_mode) & 0o022:
        raise UnsafePathError(f"{what} {path} is writable by group/others (mode {stat.S_IMODE(st.st_mode):04o}); run: chmod go-w {path}")


def ensure_dir(path: Path, mode: int, what: str) -> Path:
    """Create ``path`` (and missing parents) if needed, with ``mode`` on the directory saline
    made; an existing one keeps its mode. Either way it must pass :func:`check_dir`."""
    path = Path(path)
    try:
        os.mkdir(path, mode)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)  # parents: the umask's mode, as mkdir -p
        return ensure_dir(path, mode, what)
    except FileExistsError:
        pass
    else:
        os.chmod(path, mode)  # ours: exactly this mode, whatever the umask
    check_dir(path, what)
    return path


def ensure_private_dir(path: Path, what: str = "key directory") -> Path:
    """A 0700 directory when saline makes it; an existing one must be safe (see module doc)."""
    return ensure_dir(path, 0o700, what)
