"""The agent's outgoing events: numbered, signed, spooled, then sent.

Any thread may ``emit`` (the alert listener, the DRBD/md followers, job workers); the
event is on disk before ``emit`` returns. The agent's poll loop wakes on ``wake_r`` and
sends what is due; the master's EventAck removes it from the spool. Until then it is
re-sent, so a master that is down or restarting loses nothing, and the master drops
the duplicates by (agent, seq).
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from saline.protocol.codec import decode_message, decode_model, pack
from saline.protocol.keys import KeySet
from saline.protocol.messages import EventBody
from saline.protocol.signing import sign_event

from .eventsize import DEFAULT_MAX_EVENT_FRAME, bound_event
from .store import AgentStore

log = logging.getLogger("saline.agent.events")


class EventOutbox:
    def __init__(self, agent_id: str, keyset: KeySet, store: AgentStore):
        self.agent_id, self.keyset, self.store = agent_id, keyset, store
        self.max_frame = DEFAULT_MAX_EVENT_FRAME  # the master's max_event_frame, once its welcome says
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)

    def emit(self, tag: str, data: dict[str, Any], at: float | None = None) -> int:
        """Sign and spool one event; returns its sequence number. Thread-safe."""
        at = time.time() if at is None else at

        def frame(seq: int) -> bytes:
            return self._signed(EventBody(agent_id=self.agent_id, seq=seq, tag=tag, data=data, at=at))

        seq = self.store.spool_event(frame)
        log.info("event %d %s", seq, tag)
        try:
            os.write(self.wake_w, b"e")
        except BlockingIOError:
            pass  # the loop has wake-ups pending already
        return seq

    def drain_wakeups(self) -> None:
        try:
            while os.read(self.wake_r, 4096):
                pass
        except BlockingIOError:
            pass

    def _signed(self, body: EventBody) -> bytes:
        bounded = bound_event(body, self.max_frame)
        if bounded is not body:
            log.warning("event %d %s was over the master's limit of %d bytes: %s", body.seq, body.tag, self.max_frame,
                        "data left out" if "saline_error" in bounded.data else "long strings cut")
        return pack(sign_event(bounded, self.keyset))

    def due(self, older_than: float) -> list[tuple[int, bytes]]:
        """Events to send; one spooled before the master announced a lower limit is bounded
        again (same sequence number) instead of being refused and resent forever."""
        rows = self.store.events_due(older_than)
        for i, (seq, frame) in enumerate(rows):
            if len(frame) > self.max_frame:
                body = decode_model(EventBody, decode_message(frame).body)  # our own spool: trusted
                rows[i] = (seq, self._signed(body))
                self.store.replace_event(seq, rows[i][1])
        return rows

    def acked(self, seq: int) -> None:
        self.store.unspool_event(seq)

    def close(self) -> None:
        for fd in (self.wake_r, self.wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
