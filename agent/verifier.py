"""Deciding whether a job may run on this agent.

Order matters: the signature is checked before anything in the body is trusted or
even decoded; the replay cache is written last, only for jobs that passed everything
else (so a forged job cannot burn a legitimate jid).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from saline.protocol.errors import ProtocolError
from saline.protocol.messages import Job, JobBody
from saline.protocol.signing import open_job

from .store import AgentStore


@dataclass
class JobRefused(Exception):
    code: str
    reason: str
    jid: str | None = None

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}"


class JobVerifier:
    def __init__(self, agent_id: str, master_key: Ed25519PublicKey, store: AgentStore, max_skew: float, max_frame: int):
        self.agent_id = agent_id
        self.master_key = master_key
        self.store = store
        self.max_skew = max_skew
        self.max_frame = max_frame

    def verify(self, job: Job, now: float | None = None) -> JobBody:
        try:
            body = open_job(job, self.master_key, self.max_frame)
        except ProtocolError as exc:
            raise JobRefused("bad_signature" if "signature" in str(exc) else "bad_job", str(exc)) from None
        now = time.time() if now is None else now
        if self.agent_id not in body.targets:
            raise JobRefused("not_for_me", f"job targets {body.targets}, not {self.agent_id}", body.jid)
        if now > body.not_after + self.max_skew:
            raise JobRefused("expired", f"job expired {now - body.not_after:.1f}s ago", body.jid)
        if body.issued_at > now + self.max_skew:
            raise JobRefused("from_future", f"job issued {body.issued_at - now:.1f}s in the future", body.jid)
        if not self.store.remember_jid(body.jid, body.not_after, body.issued_at):
            raise JobRefused("replay", "job id was seen before", body.jid)
        return body
