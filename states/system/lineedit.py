"""Pure text edits behind file.keyvalue, file.line, file.comment and file.uncomment.

Each function takes a file's text and returns the new text (or raises
:class:`EditError` with a reason). No I/O here, so every rule is unit-testable and
the state modules stay small.

Comments work on *logical* lines: a line ending in a backslash continues on the next
line (udev rules, shell), so commenting a rule comments every physical line of it —
the seed's fix to ``/lib/udev/rules.d/85-lvm2.rules`` is a two-line rule, and
commenting only its first line would leave ``RUN+=...`` live as a rule of its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal


class EditError(ValueError):
    """The edit cannot be made as asked (pattern not found, ambiguous anchor...)."""


@dataclass
class Lines:
    """A text as its lines without newlines, remembering whether it ended in one."""

    bodies: list[str]
    trailing_newline: bool

    @classmethod
    def of(cls, text: str) -> Lines:
        if not text:
            return cls([], True)
        return cls(text.split("\n")[:-1] if text.endswith("\n") else text.split("\n"), text.endswith("\n"))

    def text(self) -> str:
        if not self.bodies:
            return ""
        return "\n".join(self.bodies) + ("\n" if self.trailing_newline else "")


def _compile(pattern: str, what: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise EditError(f"{what} {pattern!r} is not a valid regular expression: {exc}") from None


def check_regex(pattern: str | None) -> str | None:
    """Validator for regex arguments: a bad pattern is an argument error, found at compile time."""
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"{pattern!r} is not a valid regular expression: {exc}") from None
    return pattern


# ---- comments ------------------------------------------------------------------------


def _is_commented(line: str, char: str) -> bool:
    return line.lstrip(" \t").startswith(char)


def _uncommented(line: str, char: str) -> str:
    """The line with its comment char removed (leading whitespace kept)."""
    stripped = line.lstrip(" \t")
    if not stripped.startswith(char):
        return line
    return line[: len(line) - len(stripped)] + stripped[len(char) :]


def _logical_groups(bodies: list[str], char: str) -> Iterator[range]:
    """Index ranges of logical lines, judged on the uncommented text so a commented rule still groups."""
    i = 0
    while i < len(bodies):
        j = i
        while j + 1 < len(bodies) and _uncommented(bodies[j], char).endswith("\\"):
            j += 1
        yield range(i, j + 1)
        i = j + 1


def _edit_matching_groups(text: str, regex: str, char: str, edit: Callable[[str], str]) -> tuple[str, bool]:
    """Apply ``edit`` to every physical line of each logical line where ``regex`` matches the
    uncommented text; also say whether anything matched. As Salt's comment_line, the regex
    matches from the start of the line's text (``re.match``; indentation and the comment
    char skipped), so ``regex: pam_motd`` does not touch ``session optional pam_motd.so``."""
    pattern = _compile(regex, "regex")
    lines = Lines.of(text)
    found = False
    for group in _logical_groups(lines.bodies, char):
        if any(pattern.match(_uncommented(lines.bodies[i], char).lstrip(" \t")) for i in group):
            found = True
            for i in group:
                lines.bodies[i] = edit(lines.bodies[i])
    return lines.text(), found


def comment(text: str, regex: str, char: str = "#", *, ignore_missing: bool = False) -> str:
    """Prefix ``char`` to every line of each logical line where ``regex`` matches."""
    new, found = _edit_matching_groups(text, regex, char, lambda ln: ln if _is_commented(ln, char) else char + ln)
    if not found and not ignore_missing:
        raise EditError(f"pattern {regex!r} not found at the start of any line (as in Salt, the regex "
                        f"matches from a line's start: write '.*{regex}' to match within lines; "
                        f"set ignore_missing: true to accept no match)")
    return new


def uncomment(text: str, regex: str, char: str = "#") -> str:
    """Remove ``char`` from every commented line of each logical line where ``regex`` matches."""
    new, found = _edit_matching_groups(text, regex, char, lambda ln: _uncommented(ln, char))
    if not found:
        raise EditError(f"pattern {regex!r} not found at the start of any line, commented or not (as in Salt, "
                        f"the regex matches from a line's start, after the comment char)")
    return new


# ---- key = value -----------------------------------------------------------------------


def render_value(value: str | int | float | bool) -> str:
    """Shell-style config wants ``true``/``false`` (GRUB_DISABLE_OS_PROBER=true), not Python's True."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def keyvalue(
    text: str,
    key_values: Mapping[str, str],
    separator: str = "=",
    *,
    uncomment: str | None = None,
    append_if_not_found: bool = False,
) -> str:
    """Set every ``key<separator>value``; keys commented with ``uncomment`` count as present."""
    lines = Lines.of(text)
    seen: set[str] = set()
    for i, line in enumerate(lines.bodies):
        candidate, commented = line, False
        if uncomment and line.lstrip(" \t").startswith(uncomment):
            candidate, commented = line.lstrip(" \t").lstrip(uncomment), True
        key, sep, value = candidate.partition(separator)
        key = key.strip()
        if not sep or key not in key_values:
            continue
        seen.add(key)
        wanted = key_values[key]
        if commented or value.rstrip() != wanted:
            lines.bodies[i] = f"{key}{separator}{wanted}"
    missing = [k for k in key_values if k not in seen]
    if missing and not append_if_not_found:
        raise EditError(f"keys not found: {', '.join(missing)} (set append_if_not_found: true to add them)")
    lines.bodies.extend(f"{k}{separator}{key_values[k]}" for k in missing)
    if missing:
        lines.trailing_newline = True
    return lines.text()


# ---- file.line ------------------------------------------------------------------------

LineMode = Literal["ensure", "replace", "delete", "insert"]


def _indent_like(anchor: str, content: str, indent: bool) -> str:
    if not indent:
        return content
    return anchor[: len(anchor) - len(anchor.lstrip(" \t"))] + content.lstrip(" \t")


def _find(bodies: list[str], regex: str, what: str) -> int:
    pattern = _compile(regex, what)
    for i, line in enumerate(bodies):
        if pattern.search(line):
            return i
    raise EditError(f"no line matches {what} {regex!r}")


def line(
    text: str,
    mode: LineMode,
    *,
    content: str | None = None,
    match: str | None = None,
    before: str | None = None,
    after: str | None = None,
    location: Literal["start", "end"] | None = None,
    indent: bool = True,
) -> str:
    """Salt's file.line: ensure/insert ``content``, replace or delete lines matching ``match``."""
    lines = Lines.of(text)
    bodies = lines.bodies
    if mode in ("replace", "delete"):
        pattern = _compile(match if match is not None else re.escape(content or ""), "match")
        if mode == "delete":
            lines.bodies = [b for b in bodies if not pattern.search(b)]
        else:
            assert content is not None
            lines.bodies = [_indent_like(b, content, indent) if pattern.search(b) else b for b in bodies]
        return lines.text()

    assert content is not None
    wanted = content.strip()
    if mode == "insert":
        if any(b.strip() == wanted for b in bodies):
            return text
        if after is not None:
            at = _find(bodies, after, "after")
            bodies.insert(at + 1, _indent_like(bodies[at], content, indent))
        elif before is not None:
            at = _find(bodies, before, "before")
            bodies.insert(at, _indent_like(bodies[at], content, indent))
        elif location == "start":
            bodies.insert(0, content)
        else:
            bodies.append(content)
        if len(bodies) == 1:
            lines.trailing_newline = True
        return lines.text()

    # ensure: the content must sit right after `after` and/or right before `before`.
    if after is None and before is None:
        raise EditError("mode ensure needs before and/or after")
    if after is not None and before is not None:
        start, end = _find(bodies, after, "after"), _find(bodies, before, "before")
        if end <= start:
            raise EditError(f"the line matching before {before!r} is not below the one matching after {after!r}")
        between = bodies[start + 1 : end]
        if any(b.strip() == wanted for b in between):
            return text
        if between:
            raise EditError(f"lines between after and before exist but none is {content!r}")
        bodies.insert(end, _indent_like(bodies[start], content, indent))
    elif after is not None:
        at = _find(bodies, after, "after")
        if at + 1 < len(bodies) and bodies[at + 1].strip() == wanted:
            return text
        bodies.insert(at + 1, _indent_like(bodies[at], content, indent))
    else:
        assert before is not None
        at = _find(bodies, before, "before")
        if at > 0 and bodies[at - 1].strip() == wanted:
            return text
        bodies.insert(at, _indent_like(bodies[at], content, indent))
    return lines.text()


def _squeezed(text: str) -> str:
    return " ".join(text.split())


def append(text: str, chunks: list[str]) -> str:
    """Salt's file.append: each chunk added at the end unless the file already holds it
    (compared with runs of whitespace as one space, as Salt's search does)."""
    out = text
    for chunk in chunks:
        if _squeezed(chunk) and _squeezed(chunk) in _squeezed(out):
            continue
        if out and not out.endswith("\n"):
            out += "\n"
        out += chunk if chunk.endswith("\n") else chunk + "\n"
    return out


def replace(text: str, pattern: str, repl: str, *, count: int = 0, flags: int = re.MULTILINE,
            append_if_not_found: bool = False, prepend_if_not_found: bool = False,
            not_found_content: str | None = None) -> str:
    """Salt's file.replace: ``re.sub`` over the whole text; when nothing matches, optionally
    add ``not_found_content`` (default: ``repl``) at the end or the start, unless it is there."""
    try:
        regex = re.compile(pattern, flags)
    except re.error as exc:
        raise EditError(f"pattern {pattern!r} is not a valid regular expression: {exc}") from None
    if regex.search(text):
        return regex.sub(repl, text, count=count)
    if not (append_if_not_found or prepend_if_not_found):
        return text
    content = repl if not_found_content is None else not_found_content
    if content in text.splitlines():
        return text
    if append_if_not_found:
        return (text if not text or text.endswith("\n") else text + "\n") + content + "\n"
    return content + "\n" + text
