"""Salt's path patterns (``include_pat``/``exclude_pat`` of file.recurse and file.directory):
``E@regex`` is searched in the path below the directory, anything else is a glob matched
against the whole of it (Salt's ``stringutils.check_include_exclude``)."""

from __future__ import annotations

import fnmatch
import re


def check_pattern(value: str | None) -> str | None:
    """Validator: a bad ``E@`` regex is an argument error, found at compile time."""
    if value is not None and value.startswith("E@"):
        try:
            re.compile(value[2:])
        except re.error as exc:
            raise ValueError(f"{value!r} is not a valid regular expression: {exc}") from None
    return value


def pattern_matches(pattern: str, rel: str) -> bool:
    if pattern.startswith("E@"):
        return re.search(pattern[2:], rel) is not None
    return fnmatch.fnmatchcase(rel, pattern)
