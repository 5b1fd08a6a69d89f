"""Returns of one batch of agent frames: stored in one transaction, then acked.

At 10,000 agents a ``test.ping`` brings 10,000 returns in a few seconds; one SQLite
transaction each was a commit per return. ``server.py`` adds each verified return here
and, after each batch of frames from the agent socket (at most 1,000 frames or 20 ms),
calls ``flush``: one ``executemany`` in one transaction, then the acks — an ack still
means "stored", so the agent drops its spooled copy only after the commit — then the
waiting clients are told.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from saline.protocol.codec import pack
from saline.protocol.messages import Ack, ReturnBody

from .jobstore import JobStore


@dataclass
class Flushed:
    acks: list[tuple[bytes, bytes]] = field(default_factory=list)  # (routing id, packed Ack)
    stored: list[tuple[str, bool]] = field(default_factory=list)  # (jid, was it pending)


class ReturnBatch:
    def __init__(self, jobs: JobStore):
        self.jobs = jobs
        self._bodies: dict[tuple[str, str], tuple[ReturnBody, bool]] = {}
        self._acks: list[tuple[bytes, str]] = []

    def status(self, jid: str, agent_id: str) -> str | None:
        """The return row's status, counting this batch (None: the job was never sent to the agent)."""
        if (jid, agent_id) in self._bodies:
            return "returned"
        return self.jobs.return_status(jid, agent_id)

    def add(self, rid: bytes, body: ReturnBody, was_pending: bool) -> None:
        self._bodies[(body.jid, body.agent_id)] = (body, was_pending)
        self._acks.append((rid, body.jid))

    def ack_again(self, rid: bytes, jid: str) -> None:
        """A resent duplicate of a stored return: acked again, stored once."""
        self._acks.append((rid, jid))

    def flush(self) -> Flushed:
        if not self._acks:
            return Flushed()
        bodies, acks = self._bodies, self._acks
        self._bodies, self._acks = {}, []
        if bodies:
            self.jobs.store_returns([b for b, _ in bodies.values()])
        frames: dict[str, bytes] = {}  # the acks of one job are the same bytes for every agent
        out = Flushed()
        for rid, jid in acks:
            frame = frames.get(jid)
            if frame is None:
                frame = frames[jid] = pack(Ack(jid=jid))
            out.acks.append((rid, frame))
        out.stored = [(b.jid, pending) for b, pending in bodies.values()]
        return out
