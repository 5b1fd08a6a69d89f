"""Events arriving from agents: verify, store once, react, and answer ``saline events``.

``server.py`` hands each Event frame here (``receive``) and, after each batch of frames
from the agent socket, calls ``flush``: one SQLite transaction per batch, then the
acks (only for what is committed), then the reactions and the waiting ``--follow``
clients. The signature is checked before the body is decoded (like returns), and the
body must name the agent whose CURVE key sent it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from saline.protocol.control import ControlReply, EventsRequest
from saline.protocol.messages import Event
from saline.protocol.signing import open_event

from .config import load_reactor
from .reactor import Reactor, StoredEvent

if TYPE_CHECKING:
    from saline.master.interface import MasterAPI

log = logging.getLogger("saline.master.events")

# An agent numbers its events without gaps, so an event past the next one means one in
# between was dropped on the way (a budget, a full queue) and will be resent: this one
# waits for it (not stored, not acked, resent too), so each node's events are stored in
# the agent's order. After this long the gap is accepted (and logged).
GAP_WAIT = 30.0


@dataclass
class Follower:
    """A ``saline events --follow`` request held until a newer event arrives or ``deadline``."""

    client: bytes
    req: EventsRequest
    deadline: float


class EventIntake:
    def __init__(self, master: "MasterAPI"):
        self.m = master
        # Errors here (a bad reaction file) refuse the master's start, with file and line.
        self.reactor = Reactor(master, load_reactor(master.cfg.reactor_dir, master.cfg.state_roots))
        self.followers: list[Follower] = []
        self._in_batch = False
        self._acks: list[tuple[bytes, int]] = []
        self._new: list[StoredEvent] = []
        self._last_seq: dict[str, int] = {}
        self._gap_since: dict[str, float] = {}

    def start(self) -> None:
        n = len(self.reactor.cfg.reactions)
        if n:
            log.info("reactor: %d reaction(s) from %s (%d enabled)", n, self.m.cfg.reactor_dir,
                     sum(r.enabled for r in self.reactor.cfg.reactions))

    def stop(self) -> None:
        self.followers.clear()
        if self._in_batch:
            self.m.events.conn.execute("COMMIT")
            self._in_batch = False

    def receive(self, rid: bytes, rec, msg: Event) -> None:
        """Store one event in the open batch (acked at ``flush``). ProtocolError if refused."""
        body = open_event(msg, self.m.keys.verifier(rec), self.m.cfg.max_frame)
        if body.agent_id != rec.agent_id:
            log.warning("event refused: key of %s signed an event claiming to be from %s", rec.agent_id, body.agent_id)
            return
        if not self._in_order(rec.agent_id, body.seq):
            return
        if not self._in_batch:
            self.m.events.conn.execute("BEGIN")
            self._in_batch = True
        event_id = self.m.events.add(rec.agent_id, body.seq, body.tag, body.data, body.at)
        self._last_seq[rec.agent_id] = max(self._last_seq[rec.agent_id], body.seq)
        self._acks.append((rid, body.seq))  # a resent duplicate is acked again, stored once
        if event_id is None:
            log.debug("event %d from %s again (stored before)", body.seq, rec.agent_id)
            return
        log.debug("event %d %s from %s", body.seq, body.tag, rec.agent_id)
        self._new.append(StoredEvent(event_id, rec.agent_id, body.seq, body.tag, body.data, body.at))

    def _in_order(self, agent_id: str, seq: int) -> bool:
        last = self._last_seq.get(agent_id)
        if last is None:
            last = self._last_seq[agent_id] = self.m.events.last_seq(agent_id)
        if last == 0 or seq <= last + 1:  # the agent's first we know of, the next one, or a resent one
            self._gap_since.pop(agent_id, None)
            return True
        now = time.time()
        waited = now - self._gap_since.setdefault(agent_id, now)
        if waited < GAP_WAIT:
            return False
        log.warning("events %d..%d from %s never arrived in %.0fs; storing %d", last + 1, seq - 1, agent_id, waited, seq)
        self._gap_since.pop(agent_id, None)
        return True

    def flush(self) -> list[tuple[bytes, int]]:
        """Commit the batch; returns the (routing id, seq) acks to send, then reacts."""
        if self._in_batch:
            self.m.events.conn.execute("COMMIT")
            self._in_batch = False
        acks, new = self._acks, self._new
        self._acks, self._new = [], []
        for ev in new:
            self.reactor.on_event(ev)
        if new:
            log.info("%d event(s) stored: %s", len(new), ", ".join(sorted({e.tag for e in new}))[:300])
            self._wake_followers()
        return acks

    def record(self, tag: str, data: dict) -> int:
        """An event raised by the master itself (reactions can match it too)."""
        event_id = self.m.events.record(tag, data)
        self.reactor.on_event(StoredEvent(event_id, "master", None, tag, data, time.time()))
        self._wake_followers()
        return event_id

    # ---- saline events ------------------------------------------------------------------
    def _query(self, req: EventsRequest) -> list[dict]:
        return self.m.events.query(req.tag, req.since, req.after_id, req.limit)

    def request(self, client: bytes, req: EventsRequest) -> ControlReply | None:
        rows = self._query(req)
        if rows or not req.wait:
            return ControlReply(ok=True, data=rows)
        self.followers.append(Follower(client, req, time.time() + req.wait))
        return None

    def _wake_followers(self) -> None:
        for f in list(self.followers):
            rows = self._query(f.req)
            if rows:
                self.followers.remove(f)
                self.m.reply_control(f.client, ControlReply(ok=True, data=rows))

    def tick(self, now: float) -> None:
        for f in [f for f in self.followers if f.deadline <= now]:
            self.followers.remove(f)
            self.m.reply_control(f.client, ControlReply(ok=True, data=[]))
