"""file.managed's ``check_cmd``: run a checker on the new content before it replaces the file.

``python -m saline.states.system.checkcmd [--suffix .conf] -- ARGV...`` reads the new content
on stdin, writes it to a private temp file (``mkstemp``: mode 0600, ``O_EXCL``), runs ARGV
with that file's path appended (no shell, as Salt's ``cmd TMPFILE``), passes its output
through, removes the file and exits with the checker's code. It is one command step of the
plan, run before the write step: when the checker fails the state fails and the target is
never touched.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="saline.states.system.checkcmd")
    parser.add_argument("--suffix", default="")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no check command given")
    fd, path = tempfile.mkstemp(suffix=args.suffix, prefix="saline-check-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(sys.stdin.buffer.read())
        try:
            return subprocess.run([*command, path], stdin=subprocess.DEVNULL).returncode
        except OSError as exc:
            print(f"check_cmd: cannot run {command[0]!r}: {exc.strerror}", file=sys.stderr)
            return 127
    finally:
        os.unlink(path)


if __name__ == "__main__":
    raise SystemExit(main())
