"""Logging a problem that repeats (a changed master key, an unreachable master) with
exponential backoff: the first time at once, then after 2, 4, 8 … seconds (capped),
saying how often it recurred meanwhile, instead of one identical line per retry."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass
class _Entry:
    next_at: float
    delay: float
    suppressed: int = 0


class BackoffLog:
    def __init__(self, first: float = 2.0, cap: float = 300.0):
        self.first, self.cap = first, cap
        self._entries: dict[str, _Entry] = {}

    def due(self, key: str, now: float | None = None) -> int | None:
        """None: stay quiet this time. Otherwise log now; the number is how many times the
        problem recurred since it was last logged."""
        now = time.monotonic() if now is None else now
        e = self._entries.get(key)
        if e is None:
            self._entries[key] = _Entry(now + self.first, self.first)
            return 0
        if now < e.next_at:
            e.suppressed += 1
            return None
        count, e.suppressed = e.suppressed, 0
        e.delay = min(e.delay * 2, self.cap)
        e.next_at = now + e.delay
        return count

    def clear(self, key: str) -> None:
        """The problem went away: the next occurrence is logged at once."""
        self._entries.pop(key, None)


def repeated(count: int) -> str:
    return f" (repeated {count} times since the last message)" if count else ""
