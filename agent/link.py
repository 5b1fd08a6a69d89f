"""Watching the connection to the master, and redialling when libzmq gives up.

libzmq reconnects a DEALER by itself after a network error, but not after a protocol
error: a frame over ``maxmsgsize`` ends the session for good, and the agent would stay
cut off until restarted. So every disconnect starts a clock; if no handshake succeeds
within ``grace`` seconds (longer than libzmq's own reconnect interval) the agent
disconnects and connects the endpoint again, backing off while it keeps failing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Link:
    grace: float          # how long libzmq gets to reconnect on its own
    max_backoff: float = 300.0
    lost_at: float | None = None
    backoff: float = 0.0
    redials: int = 0

    def lost(self, now: float) -> None:
        if self.lost_at is None:
            self.lost_at = now
            self.backoff = self.backoff or self.grace

    def up(self) -> None:
        """The handshake succeeded; the backoff is kept until the master answers (``healthy``)."""
        self.lost_at = None

    def healthy(self) -> None:
        self.backoff = 0.0

    def reset(self) -> None:
        """Stop watching (the agent left this endpoint on purpose)."""
        self.lost_at = None
        self.backoff = 0.0

    def due_at(self) -> float | None:
        return None if self.lost_at is None else self.lost_at + self.backoff

    def due(self, now: float) -> bool:
        """True when the agent should redial now; the next try is then ``backoff`` later (doubling)."""
        at = self.due_at()
        if at is None or now < at:
            return False
        self.redials += 1
        self.lost_at = now
        self.backoff = min(self.max_backoff, self.backoff * 2)
        return True
