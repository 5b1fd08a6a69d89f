"""Agent-supplied text made safe for terminals and log files.

Returns, versions and error messages come from agents, which are not trusted: an escape
sequence in them must not reach the operator's terminal (cursor moves, title changes,
hidden text), and a newline in them must not forge a line in the master's log. Control
characters are shown as ``\\xNN`` / ``\\u00NN`` escapes instead.
"""

from __future__ import annotations

import re

# C0 controls except tab and newline, DEL, C1 controls, and the Unicode bidi overrides
# and isolates that reorder what a terminal shows ("Trojan Source").
_TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LOG_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match) -> str:
    c = ord(match.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def terminal_safe(text: object) -> str:
    """For a terminal: newlines and tabs stay (multi-line output), other controls are escaped."""
    return _TERMINAL_UNSAFE.sub(_escape, str(text))


def log_safe(text: object) -> str:
    """For a one-line-per-event log: every control character is escaped, newlines included."""
    return _LOG_UNSAFE.sub(_escape, str(text))
