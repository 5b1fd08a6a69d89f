"""md array health as events: ``saline/md/degraded`` when an array stops being healthy,
``saline/md/healthy`` when it is again (and the state at agent start for arrays that are
not healthy then). /proc/mdstat is read every ``interval`` seconds in a thread; nothing
is emitted while nothing changes.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Callable

from saline.states.system.mdadm import health, parse_mdstat

log = logging.getLogger("saline.agent.md")

MDSTAT = Path("/proc/mdstat")


def md_health(text: str) -> dict[str, tuple[bool, str]]:
    """array → (healthy, summary), from /proc/mdstat's text."""
    return {name: (h.healthy, h.summary) for name, a in parse_mdstat(text).items()
            for h in [health(name, a, None)]}


def changes(before: dict[str, tuple[bool, str]], now: dict[str, tuple[bool, str]]) -> list[tuple[str, dict[str, Any]]]:
    """The events for what changed: a new unhealthy array or one that turned unhealthy →
    degraded; a known unhealthy array healthy again (or gone) → healthy."""
    out = []
    for name, (ok, summary) in sorted(now.items()):
        was = before.get(name)
        if not ok and (was is None or was[0]):
            out.append(("saline/md/degraded", {"array": name, "summary": summary[:1000]}))
        elif ok and was is not None and not was[0]:
            out.append(("saline/md/healthy", {"array": name, "summary": summary[:1000]}))
    for name in sorted(set(before) - set(now)):
        if not before[name][0]:
            out.append(("saline/md/healthy", {"array": name, "summary": "no longer assembled"}))
    return out


class MdWatch:
    def __init__(self, emit: Callable[[str, dict], Any], interval: float = 30.0, path: Path = MDSTAT):
        self.emit, self.interval, self.path = emit, interval, path
        self.state: dict[str, tuple[bool, str]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="md-watch", daemon=True)

    def check(self) -> None:
        try:
            now = md_health(self.path.read_text())
        except OSError:
            return  # no md driver: nothing to watch
        for tag, data in changes(self.state, now):
            self.emit(tag, data)
        self.state = now

    def start(self) -> None:
        if self.path.exists():
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception:
                log.exception("md check failed; trying again later")
            self._stop.wait(self.interval)
