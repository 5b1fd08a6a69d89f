"""What each peer may cost the master: bytes per second and decode seconds per second.

The bad-frame limiter counts frames; a frame's cost is its size and the time it takes to
decode and validate. Every source (an agent's CURVE key, and for keys that are not
accepted also their network address) gets a token bucket of each; a source out of
tokens has its frames dropped unread until the bucket refills. For an accepted agent a
dropped return is not lost: it stays in the agent's spool and is resent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field


class Rate(BaseModel):
    """Per source: ``bytes_per_s`` / ``decode_per_s`` refill rates, up to a burst of ``burst_s`` seconds' worth."""

    model_config = ConfigDict(extra="forbid")

    bytes_per_s: float = Field(gt=0)
    decode_per_s: float = Field(gt=0, le=1)  # seconds of master CPU per second
    burst_s: float = Field(default=4.0, gt=0)


@dataclass
class _Bucket:
    at: float
    bytes: float
    decode: float


class CostBudget:
    def __init__(self, rate: Rate, max_tracked: int = 20_000):
        self.rate, self.max_tracked = rate, max_tracked
        self._buckets: dict[str, _Bucket] = {}

    def _bucket(self, source: str, now: float) -> _Bucket:
        r = self.rate
        b = self._buckets.get(source)
        if b is None:
            if len(self._buckets) >= self.max_tracked:
                self._forget_full(now)
            b = self._buckets[source] = _Bucket(now, r.bytes_per_s * r.burst_s, r.decode_per_s * r.burst_s)
        else:
            dt = max(0.0, now - b.at)
            b.at = now
            b.bytes = min(r.bytes_per_s * r.burst_s, b.bytes + dt * r.bytes_per_s)
            b.decode = min(r.decode_per_s * r.burst_s, b.decode + dt * r.decode_per_s)
        return b

    def _forget_full(self, now: float) -> None:
        """Buckets that have refilled carry no state worth keeping; else drop the oldest half."""
        r = self.rate
        full = [s for s, b in self._buckets.items() if now - b.at >= r.burst_s]
        for s in full or sorted(self._buckets, key=lambda s: self._buckets[s].at)[: len(self._buckets) // 2]:
            del self._buckets[s]

    def allow(self, source: str, nbytes: int, now: float | None = None) -> bool:
        """Take ``nbytes`` from the source's budget; False (nothing taken) when it is spent.
        A frame larger than what is left still passes and leaves a debt, so a budget never
        has to be configured against the frame limit."""
        b = self._bucket(source, time.monotonic() if now is None else now)
        if b.decode <= 0 or b.bytes <= 0:
            return False
        b.bytes -= nbytes
        return True

    def charge_decode(self, source: str, seconds: float, now: float | None = None) -> None:
        self._bucket(source, time.monotonic() if now is None else now).decode -= seconds

    def __len__(self) -> int:
        return len(self._buckets)
