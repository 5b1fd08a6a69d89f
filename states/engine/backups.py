"""file.managed's ``backup: minion``: the old file kept in the agent's own state directory.

As Salt's ``file_backup`` cache: ``BACKUP_DIR/<path without the leading />_<timestamp>``
(``/etc/hosts`` → ``file_backup/etc/hosts_Thu_Dec_03_13:33:35_123456_2026``, the stamp in
Salt's format), with the file's mode and owner. Salt keeps every backup forever; saline keeps
the newest :data:`KEEP` per file and removes older ones when it adds one. The backup
directory belongs to the agent (``state_dir/file_backup``, root only), never to the state
root, so a container's files cannot reach it.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path, PurePosixPath

KEEP = 10


def stamp(now: float) -> str:
    """Salt's ``backup_minion`` stamp: ``%a_%b_%d_%H:%M:%S_<microseconds>_%Y``."""
    text = time.strftime("%a_%b_%d_%H:%M:%S_%Y", time.localtime(now))
    return f"{text[:-4]}{str(int(now * 1_000_000))[-6:]}_{text[-4:]}"


def keep_copy(backup_dir: Path, node_path: str, content: bytes, mode: int, uid: int, gid: int,
              now: float | None = None) -> Path:
    """Write the backup of ``node_path`` and prune that file's older ones; returns its path."""
    parts = PurePosixPath(node_path).parts[1:]
    folder = backup_dir.joinpath(*parts[:-1])
    os.makedirs(folder, mode=0o700, exist_ok=True)
    path = folder / f"{parts[-1]}_{stamp(time.time() if now is None else now)}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view):]
        os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
    ours = re.compile(re.escape(parts[-1]) + r"_[A-Z][a-z]{2}_[A-Z][a-z]{2}_\d{2}_\d{2}:\d{2}:\d{2}_\d{6}_\d{4}")
    mine = [e for e in os.scandir(folder) if ours.fullmatch(e.name) and e.is_file(follow_symlinks=False)]
    for old in sorted(mine, key=lambda e: e.stat(follow_symlinks=False).st_mtime_ns)[:-KEEP]:
        os.unlink(old.path)
    return path
