"""Pending keys under a flood: per-source limits, oldest-first eviction, and a record of it.

Anyone who can reach the agent port can make CURVE keys and say hello, and each new key
becomes *pending*. A single global limit let a stranger fill it in ~2 s, after which no
real agent could enrol. Now each source (the peer's address) may hold only
``per_source`` pending keys (past it, its new keys are refused); and when the total
reaches ``max_total``, the oldest pending key is evicted to make room — an agent that
is really there says hello again every few seconds and is filed again, while a flood
only ever churns through itself. What was refused and evicted, per source, is kept
(bounded) for ``saline keys list``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

MAX_SOURCES = 256


@dataclass
class FloodRecord:
    source: str
    refused: int = 0
    evicted: int = 0
    first: float = 0.0
    last: float = 0.0


class PendingKeys:
    """The pending keys in filing order (oldest first), each with its source."""

    def __init__(self, max_total: int, per_source: int):
        self.max_total, self.per_source = max_total, per_source
        self._order: OrderedDict[str, str] = OrderedDict()  # curve_pub → source
        self._per_source: dict[str, int] = {}
        self.flood: OrderedDict[str, FloodRecord] = OrderedDict()

    def __len__(self) -> int:
        return len(self._order)

    def add(self, curve_pub: str, source: str) -> None:
        self._order[curve_pub] = source
        self._per_source[source] = self._per_source.get(source, 0) + 1

    def discard(self, curve_pub: str) -> None:
        source = self._order.pop(curve_pub, None)
        if source is not None:
            n = self._per_source.get(source, 1) - 1
            if n:
                self._per_source[source] = n
            else:
                self._per_source.pop(source, None)

    def source_full(self, source: str) -> bool:
        return bool(source) and self._per_source.get(source, 0) >= self.per_source

    def oldest(self) -> str | None:
        return next(iter(self._order), None)

    def source_of(self, curve_pub: str) -> str:
        return self._order.get(curve_pub, "")

    def note(self, source: str, what: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        rec = self.flood.get(source)
        if rec is None:
            if len(self.flood) >= MAX_SOURCES:
                self.flood.popitem(last=False)
            rec = self.flood[source] = FloodRecord(source, first=now)
        setattr(rec, what, getattr(rec, what) + 1)
        rec.last = now
        self.flood.move_to_end(source)

    def report(self, since: float) -> list[dict]:
        return [{"source": r.source or "local socket", "refused": r.refused, "evicted": r.evicted,
                 "first": r.first, "last": r.last}
                for r in sorted(self.flood.values(), key=lambda r: -(r.refused + r.evicted)) if r.last >= since]
