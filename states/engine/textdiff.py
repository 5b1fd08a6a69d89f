"""Unified diffs for ``changes["diff"]``, the way Salt shows a changed file."""

from __future__ import annotations

import difflib


def unified_diff(path: str, old: str | None, new: str | None) -> str:
    """Diff of a text file's old and new content; ``None`` means the file does not exist."""
    old_lines = (old or "").splitlines(keepends=True)
    new_lines = (new or "").splitlines(keepends=True)
    lines = []
    for line in difflib.unified_diff(
        old_lines,
        new_lines,
        fromfile="/dev/null" if old is None else path,
        tofile="/dev/null" if new is None else path,
    ):
        # A last line without a newline would glue onto the next diff line.
        lines.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(lines)


def decode_text(data: bytes, path: str) -> str:
    """A file's bytes as text for line editing; binary files are refused by the caller."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
