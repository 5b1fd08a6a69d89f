"""Which agents are connected, from their heartbeats (``saline agents``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Presence:
    agent_id: str
    routing_id: bytes
    last_seen: float
    version: str = ""
    address: str = ""
    facts: dict[str, Any] = field(default_factory=dict)
    # Job ids the agent said were running in its last heartbeat.
    running: list[str] = field(default_factory=list)
    # The largest frame the agent accepts (from its hello); None: it did not say.
    max_frame: int | None = None


class PresenceTable:
    def __init__(self, timeout: float):
        self.timeout = timeout
        self._by_id: dict[str, Presence] = {}

    def seen(self, agent_id: str, routing_id: bytes, address: str, version: str | None = None,
             facts: dict | None = None, running: list[str] | None = None) -> Presence:
        p = self._by_id.get(agent_id)
        if p is None:
            p = self._by_id[agent_id] = Presence(agent_id, routing_id, time.time())
        p.routing_id, p.last_seen, p.address = routing_id, time.time(), address or p.address
        if version is not None:
            p.version = version
        if facts is not None:
            p.facts = facts
        if running is not None:
            p.running = running
        return p

    def get(self, agent_id: str) -> Presence | None:
        return self._by_id.get(agent_id)

    def forget(self, agent_id: str) -> None:
        self._by_id.pop(agent_id, None)

    def is_up(self, agent_id: str, now: float | None = None) -> bool:
        p = self._by_id.get(agent_id)
        return p is not None and ((now or time.time()) - p.last_seen) < self.timeout
