"""The one command runner every state module uses.

argv lists only (never a shell string), a timeout on every command, captured rc,
stdout and stderr, the caller's environment passed through (tests point LVM at an
isolated config with LVM_SYSTEM_DIR, Pacemaker tools at a CIB_file), and a root
prefix that maps node paths (``/etc/default/grub``) into a temp root for tests.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

from pydantic import BaseModel

from saline.states.engine.safefs import node_parts, resolve

log = logging.getLogger("saline.runner")

STDERR_TAIL = 800


class CommandResult(BaseModel):
    argv: list[str]
    pid: int | None = None  # None when the command could not be started
    rc: int
    stdout: str
    stderr: str
    duration_ms: float

    @property
    def ok(self) -> bool:
        return self.rc == 0

    def describe(self) -> str:
        """The command, its rc and the tail of stderr: what a failed state's comment shows."""
        tail = (self.stderr or self.stdout).strip()[-STDERR_TAIL:]
        return f"command {' '.join(self.argv)!r} failed with rc={self.rc}" + (f": {tail}" if tail else "")


class CommandError(RuntimeError):
    def __init__(self, result: CommandResult):
        super().__init__(result.describe())
        self.result = result




class Runner:
    def __init__(
        self,
        root: str | Path = "/",
        env: Mapping[str, str] | None = None,
        timeout: float = 300.0,
        cancel: threading.Event | None = None,
    ):
        self.root = Path(root)
        self.env = dict(os.environ if env is None else env)
        self.timeout = timeout
        # Set by `saline jobs kill`: the command in flight is terminated.
        self.cancel = cancel

    def path(self, node_path: str | PurePosixPath) -> Path:
        """Map an absolute node path under the root; refuse relative paths and ``..``. Under a
        root other than ``/``, symlinks in the parents resolve inside the root (safefs)."""
        if str(self.root) == "/":
            return Path("/", *node_parts(node_path))
        return resolve(self.root, node_path)

    def which(self, name: str) -> str | None:
        return shutil.which(name, path=self.env.get("PATH"))

    def run(
        self,
        argv: Sequence[str],
        *,
        check: bool = False,
        timeout: float | None = None,
        input: str | bytes | None = None,
        env: Mapping[str, str] | None = None,
    ) -> CommandResult:
        argv = [str(a) for a in argv]
        if not argv:
            raise ValueError("empty argv")
        full_env = {**self.env, **(env or {})}
        started = time.monotonic()
        pid: int | None = None
        limit = timeout or self.timeout
        try:
            # Popen rather than subprocess.run: cmd.run reports the pid, as Salt does.
            with subprocess.Popen(argv, stdin=subprocess.PIPE if input is not None else None,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env) as proc:
                pid = proc.pid
                rc, out, err = _communicate(proc, input.encode() if isinstance(input, str) else input, limit,
                                            self.cancel)
        except FileNotFoundError:
            rc, out, err = 127, b"", f"{argv[0]}: command not found".encode()
        result = CommandResult(
            argv=argv,
            pid=pid,
            rc=rc,
            stdout=out.decode(errors="replace"),
            stderr=err.decode(errors="replace"),
            duration_ms=round((time.monotonic() - started) * 1000, 3),
        )
        log.debug("ran %s rc=%s in %.1f ms", argv, rc, result.duration_ms)
        if check and rc != 0:
            raise CommandError(result)
        return result


CANCEL_POLL = 0.1


def _communicate(proc: subprocess.Popen, data: bytes | None, limit: float,
                 cancel: threading.Event | None) -> tuple[int, bytes, bytes]:
    """Wait for ``proc`` up to ``limit`` seconds (then kill it: rc 124). With ``cancel``,
    the wait is sliced and the command is terminated (SIGTERM, SIGKILL after 2 s) as
    soon as the job is killed (``saline jobs kill``)."""
    deadline = time.monotonic() + limit
    while True:
        slice_ = limit if cancel is None else max(0.0, min(CANCEL_POLL, deadline - time.monotonic()))
        try:
            # communicate() may be called again after a timeout without losing output.
            out, err = proc.communicate(data, timeout=slice_)
            return proc.returncode, out, err
        except subprocess.TimeoutExpired:
            data = None
        if cancel is not None and cancel.is_set():
            proc.terminate()
            try:
                out, err = proc.communicate(timeout=2)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
            return proc.returncode, out, err + b"\nstopped: the job was killed (saline jobs kill)"
        if time.monotonic() >= deadline:
            proc.kill()
            out, err = proc.communicate()
            return 124, out, err + f"\ntimed out after {limit}s".encode()
