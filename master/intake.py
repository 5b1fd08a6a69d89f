"""What a frame from the agent socket may cost before the master knows what it is.

Order matters: who is talking (the CURVE key from ZAP) and how big the frame is are
known for free, so they are checked first; a key that is not accepted only ever gets a
``hello`` decoded, from a frame of at most ``max_hello_frame`` bytes; every source
pays for its frames out of a budget of bytes and decode time (budget.py); decoding
itself is bounded by object count, depth and string size (protocol/shape.py); and each
message kind has its own size limit (facts in a hello, event data, returns).
On the enrolment port every frame is treated as a stranger's: hello only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import zmq

from saline.protocol.codec import decode_hello, decode_message
from saline.protocol.errors import ProtocolError
from saline.protocol.ratelog import RateLimitedLog

from .badframes import BadFrameLimiter
from .budget import CostBudget, Rate
from .config import MasterConfig
from .keystore import KeyRecord, KeyStore

# Kinds whose frames are small by nature; anything bigger is refused.
SMALL_FRAME = 16 * 1024


@dataclass
class Admitted:
    rid: bytes
    curve_key: str | None
    address: str
    rec: KeyRecord | None  # None: a key the master has never filed
    msg: Any
    size: int

    @property
    def accepted(self) -> bool:
        return self.rec is not None and self.rec.state == "accepted"


class Intake:
    def __init__(self, cfg: MasterConfig, keys: KeyStore, bad_frames: BadFrameLimiter, ratelog: RateLimitedLog):
        self.cfg, self.keys, self.bad_frames, self.ratelog = cfg, keys, bad_frames, ratelog
        self.agent_budget = CostBudget(cfg.agent_budget)
        self.stranger_budget = CostBudget(cfg.stranger_budget)
        self.kind_limit = {"hello": cfg.max_hello_frame, "event": cfg.max_event_frame,
                           "heartbeat": SMALL_FRAME, "error": SMALL_FRAME, "return": cfg.max_frame}
        self.dropped = 0  # frames dropped unread because their source was over budget
        # Events per agent: the bucket's "bytes" count events here (one each).
        self.event_rate = CostBudget(Rate(bytes_per_s=cfg.events_per_s, decode_per_s=1.0, burst_s=10.0))

    def event_allowed(self, agent_id: str) -> bool:
        """Over its event rate an agent's events are not stored nor acked: its spool resends them."""
        if self.event_rate.allow(agent_id, 1):
            return True
        self.ratelog.warning(agent_id, "event-rate", "%s sends more than %g events/s; events not acked for now "
                             "(the agent resends them)", agent_id, self.cfg.events_per_s)
        return False

    def admit(self, frames: list[zmq.Frame], enrolment: bool = False) -> Admitted | None:
        if len(frames) != 2:
            peer = (b"enrol:" if enrolment else b"") + (frames[0].bytes if frames else b"?")
            if not self.bad_frames.muted(peer):
                self.bad_frames.bad_frame(peer, "a peer", f"expected 2 frames, got {len(frames)}")
            return None
        rid, payload = frames[0].bytes, frames[1]
        # Routing ids are per socket: the enrolment port's could equal an agent's.
        peer = b"enrol:" + rid if enrolment else rid
        if self.bad_frames.muted(peer):
            return None
        curve_key = payload.get("User-Id")
        address = payload.get("Peer-Address") or ""
        rec = self.keys.by_curve(curve_key) if curve_key else None
        accepted = rec is not None and rec.state == "accepted"
        who = f"{rec.agent_id} ({rec.state})" if rec else f"unknown key at {address or 'a local socket'}"
        size = len(payload)
        sources = self._sources(curve_key, address, accepted)
        budget = self.agent_budget if accepted else self.stranger_budget
        if not all(budget.allow(s, size) for s in sources):
            self.dropped += 1
            self.ratelog.warning(who, "over-budget", "%s is over its budget of bytes or decode time; "
                                 "dropping its frames unread for now", who)
            return None
        any_kind = accepted and not enrolment
        limit = self.cfg.max_frame if any_kind else self.cfg.max_hello_frame
        if size > limit:
            self.bad_frames.bad_frame(peer, who, f"frame of {size} bytes exceeds the limit of {limit}"
                                      + ("" if any_kind else " for a key that is not accepted"))
            return None
        started = time.perf_counter()
        try:
            msg = decode_message(payload.bytes, limit) if any_kind else decode_hello(payload.bytes, limit)
        except ProtocolError as exc:
            self.bad_frames.bad_frame(peer, who, str(exc))
            return None
        finally:
            spent = time.perf_counter() - started
            for s in sources:
                budget.charge_decode(s, spent)
        kind_limit = self.kind_limit.get(msg.kind)
        if kind_limit is not None and size > kind_limit:
            self.bad_frames.bad_frame(peer, who, f"{msg.kind} of {size} bytes exceeds the limit of {kind_limit} "
                                      f"for {msg.kind} messages", kind=f"oversize {msg.kind}")
            return None
        return Admitted(rid, curve_key, address, rec, msg, size)

    @staticmethod
    def _sources(curve_key: str | None, address: str, accepted: bool) -> list[str]:
        # A stranger can make a fresh key per connection, so its address pays as well.
        key = f"key:{curve_key}" if curve_key else f"addr:{address}"
        if accepted or not address or not curve_key:
            return [key]
        return [key, f"addr:{address}"]
