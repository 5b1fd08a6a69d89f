"""Watch resource availability while something changes the cluster: a thread polls
``crm_mon`` (from whichever node answers) and records, per resource, every stretch of
time it was not running anywhere. The demo, the maintenance tests and the bench use it.
"""

from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from saline.states.system.crm_mon import parse_status

from .lab import Lab


@dataclass
class Gaps:
    samples: int = 0
    unanswered: int = 0
    longest: dict[str, float] = field(default_factory=dict)   # resource → seconds
    down_since: dict[str, float] = field(default_factory=dict)
    intervals: list[tuple[str, float, float]] = field(default_factory=list)  # (resource, from, to), wall clock

    def close(self, rid: str, now: float) -> None:
        since = self.down_since.pop(rid, None)
        if since is not None:
            self.longest[rid] = max(self.longest[rid], now - since)
            self.intervals.append((rid, since, now))

    def longest_between(self, start: float, end: float) -> tuple[str | None, float]:
        """The longest gap (resource, seconds) that overlaps [start, end]."""
        best: tuple[str | None, float] = (None, 0.0)
        for rid, a, b in self.intervals:
            if a <= end and b >= start and b - a > best[1]:
                best = (rid, b - a)
        return best


class AvailabilityWatcher:
    def __init__(self, lab: Lab, resources: list[str], interval: float = 0.2):
        self.lab, self.resources, self.interval = lab, resources, interval
        self.gaps = Gaps(longest={r: 0.0 for r in resources})
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="availability-watcher", daemon=True)

    def __enter__(self) -> "AvailabilityWatcher":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(30)
        now = time.time()
        for rid in list(self.gaps.down_since):
            self.gaps.close(rid, now)

    def running(self) -> set[str] | None:
        for node in self.lab.nodes:
            res = self.lab.exec(node, ["crm_mon", "-1", "--output-as=xml"], timeout=10.0)
            if res.rc != 0:
                continue
            try:
                view = parse_status(ET.fromstring(res.stdout))
            except ET.ParseError:
                continue
            if view.dc is None:
                continue
            active = set()
            for r in view.resources:
                if r.active:
                    active |= {r.id, view.top_level(r)}
            return active
        return None

    def _loop(self) -> None:
        while not self._stop.is_set():
            active = self.running()
            now = time.time()
            self.gaps.samples += 1
            if active is None:
                self.gaps.unanswered += 1
            else:
                for rid in self.resources:
                    if rid in active:
                        self.gaps.close(rid, now)
                    else:
                        self.gaps.down_since.setdefault(rid, now)
            self._stop.wait(self.interval)
