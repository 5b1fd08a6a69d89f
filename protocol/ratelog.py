"""Log lines rate-limited per source, with a summary of what was left out.

A peer that sends 20,000 junk frames must not write 20,000 log lines. Each (source,
kind of line) may log ``burst`` lines per ``window`` seconds; the rest are counted, and
once the window is over one line says "suppressed N similar …". The table is bounded:
sources quiet for a window are summarised and forgotten, and past ``max_sources`` the
oldest are, so churn through fresh keys or addresses cannot grow it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

MAX_SOURCES = 4096


@dataclass
class _Window:
    start: float
    logged: int = 0
    suppressed: int = 0
    level: int = logging.WARNING


class RateLimitedLog:
    def __init__(self, logger: logging.Logger, burst: int = 5, window: float = 10.0, max_sources: int = MAX_SOURCES):
        self.log, self.burst, self.window, self.max_sources = logger, burst, window, max_sources
        self._windows: dict[tuple[str, str], _Window] = {}

    def __call__(self, level: int, source: str, kind: str, msg: str, *args: object, now: float | None = None) -> bool:
        """Log ``msg % args`` unless ``source`` already logged ``burst`` ``kind`` lines this window.
        Returns whether the line was written."""
        now = time.monotonic() if now is None else now
        key = (source, kind)
        w = self._windows.get(key)
        if w is not None and now - w.start >= self.window:
            self._summarise(key, w)
            w = None
        if w is None:
            if len(self._windows) >= self.max_sources:
                self.flush(now, force_oldest=True)
            w = self._windows[key] = _Window(now)
        if w.logged < self.burst:
            w.logged += 1
            self.log.log(level, msg, *args)
            return True
        w.suppressed += 1
        w.level = level
        return False

    def warning(self, source: str, kind: str, msg: str, *args: object, now: float | None = None) -> bool:
        return self(logging.WARNING, source, kind, msg, *args, now=now)

    def info(self, source: str, kind: str, msg: str, *args: object, now: float | None = None) -> bool:
        return self(logging.INFO, source, kind, msg, *args, now=now)

    def flush(self, now: float | None = None, force_oldest: bool = False) -> None:
        """Summarise and forget every finished window (call it now and then from a loop)."""
        now = time.monotonic() if now is None else now
        done = [k for k, w in self._windows.items() if now - w.start >= self.window]
        if force_oldest and not done:
            done = sorted(self._windows, key=lambda k: self._windows[k].start)[: max(1, len(self._windows) // 4)]
        for key in done:
            self._summarise(key, self._windows.pop(key))

    def _summarise(self, key: tuple[str, str], w: _Window) -> None:
        self._windows.pop(key, None)
        if w.suppressed:
            self.log.log(w.level, "suppressed %d similar %s lines from %s in %.0fs", w.suppressed, key[1], key[0],
                         self.window)

    def __len__(self) -> int:
        return len(self._windows)
