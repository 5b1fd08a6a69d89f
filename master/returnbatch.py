"""Returns of one batch of agent frames: stored in one transaction, then acked.

At 10,000 agents a ``test.ping`` brings 10,000 returns in a few seconds; one SQLite
transaction each was a commit per return. ``server.py`` adds each verified return here
and, after each batch of frames from the agent socket (at most 1,000 frames or 20 ms),
calls ``flush``: one ``executemany`` in one transaction, then the acks — an ack still
means "stored", so the agent drops its spooled copy only after the commit — then the
waiting clients are told. The statuses of the jobs this master published are kept in
memory until their timeout (plus grace), so a return costs no lookup either; a late
return, or one for a job from before a restart, is looked up in the database.
"""

from __future__ import annotations

import time
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
        # jid → (until, agent → status): the return rows of jobs published here, while they run.
        self._open: dict[str, tuple[float, dict[str, str]]] = {}
        self._funs: dict[str, str] = {}  # jid → the function it runs, for the jobs in _open

    def opened(self, jid: str, statuses: dict[str, str], until: float, fun: str | None = None) -> None:
        """A job was just published with these return rows; keep them in memory until ``until``."""
        now = time.time()
        for old in [j for j, (end, _) in self._open.items() if end <= now]:
            del self._open[old]
            self._funs.pop(old, None)
        self._open[jid] = (until, dict(statuses))
        if fun is not None:
            self._funs[jid] = fun

    def job_fun(self, jid: str) -> str | None:
        """The function the job runs (a return is checked as that function's, whatever it says)."""
        return self._funs.get(jid) or self.jobs.job_fun(jid)

    def mark(self, jid: str, agent_id: str, status: str) -> None:
        """A return row of a published job changed (the agent was not reachable after all)."""
        entry = self._open.get(jid)
        if entry is not None and agent_id in entry[1]:
            entry[1][agent_id] = status

    def status(self, jid: str, agent_id: str) -> str | None:
        """The return row's status, counting this batch (None: the job was never sent to the agent)."""
        if (jid, agent_id) in self._bodies:
            return "returned"
        entry = self._open.get(jid)
        if entry is not None and time.time() < entry[0]:
            return entry[1].get(agent_id)
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
            for jid, agent_id in bodies:
                self.mark(jid, agent_id, "returned")
        frames: dict[str, bytes] = {}  # the acks of one job are the same bytes for every agent
        out = Flushed()
        for rid, jid in acks:
            frame = frames.get(jid)
            if frame is None:
                frame = frames[jid] = pack(Ack(jid=jid))
            out.acks.append((rid, frame))
        out.stored = [(b.jid, pending) for b, pending in bodies.values()]
        return out
