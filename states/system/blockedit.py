"""The pure text edit behind file.blockreplace: a block between two marker lines, as Salt 3008's
``file.blockreplace`` execution function writes it (so a file Salt managed is left as it is).

Salt's rules, kept on purpose: the line holding ``marker_start`` stays as it is; the lines
after it are dropped up to the line holding ``marker_end``, of which only the text from the
marker on is kept; the content goes in between, each line ending with the file's line
separator (that of its first line); content without a final newline gets one
(``append_newline``); every marked block in the file gets the content; a start marker
without an end is an error, as are markers not found unless the block may be added.
"""

from __future__ import annotations

import re
from typing import Literal

from saline.states.system.lineedit import EditError

Where = Literal["append", "prepend", "before", "after"] | None


def _content_lines(content: str, marker_start: str, end_line: str, linesep: str, append_newline: bool,
                   with_start: bool) -> list[str]:
    """The block's lines: the start marker (when asked), the content, the end line."""
    end_line = end_line.rstrip("\r\n") + linesep
    split = [part for chunk in content.split("\r\n") for part in chunk.split("\n")]
    lines = [marker_start + linesep] if with_start else []
    for n, text in enumerate(split, 1):
        if n < len(split):
            lines.append(text + linesep)
        elif append_newline:
            lines += [text + linesep, end_line]
        else:
            lines.append(text + end_line)
    return lines


def replace_block(text: str, marker_start: str, marker_end: str, content: str, *, where: Where = None,
                  match: str | None = None, append_newline: bool | None = None) -> str:
    """``text`` with every marked block holding ``content``; ``where`` adds the block when no
    marker is found (``append``, ``prepend``, or ``before``/``after`` the first line matching
    ``match``)."""
    if append_newline is None and not content.endswith("\n"):
        append_newline = True
    lines = text.splitlines(keepends=True)
    linesep = "\n"
    if lines:
        linesep = "\r\n" if lines[0].endswith("\r\n") else "\n"
    new: list[str] = []
    in_block = found = False
    for line in lines:
        if marker_start in line:
            in_block = True
            new.append(line)
        elif in_block:
            pos = line.find(marker_end)
            if pos != -1:
                in_block, found = False, True
                new += _content_lines(content, marker_start, line[pos:], linesep, bool(append_newline), False)
        else:
            new.append(line)
    if in_block:
        raise EditError("Unterminated marked block. End of file reached before marker_end.")
    if found:
        return "".join(new)
    block = _content_lines(content, marker_start, marker_end, linesep, bool(append_newline), True)
    if where == "prepend":
        return "".join(block + new)
    if where == "append":
        if new and not new[-1].endswith(linesep):
            new[-1] += linesep
        return "".join(new + block)
    if where in ("before", "after") and match is not None:
        pattern = re.compile(match)
        at = next((n for n, line in enumerate(lines) if pattern.search(line)), None)
        if at is not None:
            at += 1 if where == "after" else 0
            return "".join(new[:at] + block + new[at:])
    raise EditError("Cannot edit marked block. Markers were not found in file.")
