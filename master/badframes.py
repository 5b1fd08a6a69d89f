"""Rate limit on bad frames per connection, so one hostile peer cannot drown the master.

Each connection (ROUTER routing id) may send ``limit`` bad frames per minute; past that
its frames are dropped unread, with one log line, until the minute is over (Salt's
CVE-2023-20897 class: a flood from one connection starving the good agents). Entries
for quiet connections are forgotten, so reconnect churn cannot grow the table forever.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from saline.protocol.ratelog import RateLimitedLog

log = logging.getLogger("saline.master")

WINDOW = 60.0
MAX_TRACKED = 10_000


@dataclass
class _Budget:
    window_start: float
    count: int = 0
    muted_logged: bool = False


class BadFrameLimiter:
    def __init__(self, limit: int, window: float = WINDOW, max_tracked: int = MAX_TRACKED,
                 ratelog: RateLimitedLog | None = None):
        self.limit, self.window, self.max_tracked = limit, window, max_tracked
        self._budgets: dict[bytes, _Budget] = {}
        # Many connections from one source (fresh keys, reconnects) share one log budget.
        self.ratelog = ratelog or RateLimitedLog(log, burst=10, window=10.0)

    def _budget(self, peer: bytes, now: float) -> _Budget:
        b = self._budgets.get(peer)
        if b is None or now - b.window_start > self.window:
            if len(self._budgets) >= self.max_tracked:
                self._forget_quiet(now)
            b = self._budgets[peer] = _Budget(now)
        return b

    def _forget_quiet(self, now: float) -> None:
        stale = [p for p, b in self._budgets.items() if now - b.window_start > self.window]
        for p in stale or list(self._budgets)[: len(self._budgets) // 2]:
            del self._budgets[p]

    def muted(self, peer: bytes, now: float | None = None) -> bool:
        """True while this connection's bad frames are over the limit: drop its frames unread."""
        return self._budget(peer, time.time() if now is None else now).count >= self.limit

    def bad_frame(self, peer: bytes, who: str, reason: str, now: float | None = None, kind: str = "bad-frame") -> None:
        b = self._budget(peer, time.time() if now is None else now)
        b.count += 1
        if b.count < self.limit:
            self.ratelog.warning(who, kind, "bad frame from %s: %s", who, reason, now=now)
        elif not b.muted_logged:
            b.muted_logged = True
            self.ratelog.warning(who, "muted", "too many bad frames from %s; dropping its frames unread for up to a "
                                 "minute", who, now=now)

    def __len__(self) -> int:
        return len(self._budgets)
