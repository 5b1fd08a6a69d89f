"""Events arriving from agents: verify, store once, react, and answer ``saline events``.

``server.py`` hands each Event frame here and sends the EventAck this returns. The
signature is checked before the body is decoded (like returns), and the body must name
the agent whose CURVE key sent it.
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

    def start(self) -> None:
        n = len(self.reactor.cfg.reactions)
        if n:
            log.info("reactor: %d reaction(s) from %s (%d enabled)", n, self.m.cfg.reactor_dir,
                     sum(r.enabled for r in self.reactor.cfg.reactions))

    def stop(self) -> None:
        self.followers.clear()

    def receive(self, rec, msg: Event) -> int | None:
        """Store one event; the seq to ack, or None (nothing to ack). ProtocolError if refused."""
        body = open_event(msg, self.m.keys.verifier(rec), self.m.cfg.max_frame)
        if body.agent_id != rec.agent_id:
            log.warning("event refused: key of %s signed an event claiming to be from %s", rec.agent_id, body.agent_id)
            return None
        event_id = self.m.events.add(rec.agent_id, body.seq, body.tag, body.data, body.at)
        if event_id is None:
            log.debug("event %d from %s again (stored before)", body.seq, rec.agent_id)
            return body.seq
        log.info("event %d %s from %s", body.seq, body.tag, rec.agent_id)
        self.reactor.on_event(StoredEvent(event_id, rec.agent_id, body.seq, body.tag, body.data, body.at))
        self._wake_followers()
        return body.seq

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
