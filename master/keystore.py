"""Agent keys and their acceptance state, like salt-key's pending/accepted/rejected.

An agent id is bound to its CURVE public key once filed; the master only ever learns
who is talking from the authenticated CURVE key (the ZAP user id), never from a field
in a message. The in-memory maps are read by the ZAP thread, hence the lock.
"""

from __future__ import annotations

import fnmatch
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass

from saline.protocol.keys import fingerprint
from saline.protocol.ratelog import RateLimitedLog
from saline.protocol.sodium import Verifier

from .enrolment import PendingKeys

log = logging.getLogger("saline.master.keys")

MAX_PENDING = 1000  # a flood of new keys must not grow the store without bound
MAX_PENDING_PER_SOURCE = 16


@dataclass(frozen=True)
class KeyRecord:
    agent_id: str
    curve_pub: str
    sign_pub: bytes
    fingerprint: str
    state: str
    first_seen: float
    changed_at: float


class KeyStore:
    def __init__(self, conn: sqlite3.Connection, max_pending: int = MAX_PENDING,
                 pending_per_source: int = MAX_PENDING_PER_SOURCE, ratelog: RateLimitedLog | None = None):
        self.conn = conn
        self._lock = threading.Lock()
        self._by_curve: dict[str, KeyRecord] = {}
        self._by_id: dict[str, KeyRecord] = {}
        self.pending = PendingKeys(max_pending, pending_per_source)
        # The master passes its own, which its loop flushes (so "suppressed N" lines come out on time).
        self.ratelog = ratelog or RateLimitedLog(log)
        self._load()

    def _load(self) -> None:
        rows = self.conn.execute(
            "SELECT agent_id, curve_pub, sign_pub, fingerprint, state, first_seen, changed_at FROM keys"
        ).fetchall()
        with self._lock:
            self._by_curve = {r[1]: KeyRecord(*r) for r in rows}
            self._by_id = {r.agent_id: r for r in self._by_curve.values()}
        for r in sorted(self._by_curve.values(), key=lambda r: r.first_seen):
            if r.state == "pending":
                self.pending.add(r.curve_pub, "")  # the source of a key filed before a restart is unknown

    # ---- lookups (any thread) ----------------------------------------------------
    def by_curve(self, curve_pub: str) -> KeyRecord | None:
        with self._lock:
            return self._by_curve.get(curve_pub)

    def by_id(self, agent_id: str) -> KeyRecord | None:
        with self._lock:
            return self._by_id.get(agent_id)

    @staticmethod
    def verifier(rec: KeyRecord) -> Verifier:
        """The agent's signature checker (libsodium: every return and event is checked with it).
        It only holds the 32 key bytes, so nothing is cached (an LRU of 4,096 keys missed on
        every return of a 10,000-agent round)."""
        return Verifier(rec.sign_pub)

    def zap_allows(self, curve_pub: str, enrolment: bool = False) -> bool:
        """The agent port admits accepted keys only. The enrolment port admits unknown and
        pending keys too (to say hello and be filed); rejected keys connect to neither."""
        rec = self.by_curve(curve_pub)
        if enrolment:
            return rec is None or rec.state != "rejected"
        return rec is not None and rec.state == "accepted"

    def all(self) -> list[KeyRecord]:
        with self._lock:
            return sorted(self._by_curve.values(), key=lambda r: r.agent_id)

    def accepted_ids(self) -> list[str]:
        return [r.agent_id for r in self.all() if r.state == "accepted"]

    # ---- changes (master thread) ---------------------------------------------------
    def file_hello(self, agent_id: str, curve_pub: str, sign_pub: bytes, auto_accept: bool,
                   source: str = "") -> tuple[str, str]:
        """File a hello from ``source`` (the peer's address). Returns (key_state, message) for the Welcome."""
        known = self.by_curve(curve_pub)
        if known is not None:
            if known.agent_id != agent_id:
                # Rate-limited like every line a peer can repeat at will: an accepted key may say hello
                # as often as its budget allows.
                self.ratelog.warning(
                    known.agent_id, "id-claim", "key of agent %s says hello as %r; the id is bound to the key, "
                    "ignoring the claim", known.agent_id, agent_id,
                )
            if known.sign_pub != sign_pub:
                self.ratelog.warning(known.agent_id, "signing-key", "agent %s presents a different signing key than "
                                     "the one filed; refused", known.agent_id)
                return "denied", "signing key differs from the filed one; delete the key on the master to re-register"
            return known.state, ""
        holder = self.by_id(agent_id)
        if holder is not None:
            self.ratelog.warning(
                source, "id-claimed", "agent id %r claimed by a new key %s while filed with key %s (%s); refused",
                agent_id, fingerprint(curve_pub, sign_pub), holder.fingerprint, holder.state,
            )
            return "denied", f"agent id {agent_id} is already registered with another key"
        if not auto_accept:
            if self.pending.source_full(source):
                self.pending.note(source, "refused")
                self.ratelog.warning(source, "pending-flood", "%s already has %d pending keys; new key for %r refused",
                                     source, self.pending.per_source, agent_id)
                return "denied", "too many pending keys from this address on the master"
            while len(self.pending) >= self.pending.max_total:
                self._evict_oldest_pending()
        state = "accepted" if auto_accept else "pending"
        now = time.time()
        rec = KeyRecord(agent_id, curve_pub, sign_pub, fingerprint(curve_pub, sign_pub), state, now, now)
        self.conn.execute(
            "INSERT INTO keys VALUES (?,?,?,?,?,?,?)",
            (rec.agent_id, rec.curve_pub, rec.sign_pub, rec.fingerprint, rec.state, rec.first_seen, rec.changed_at),
        )
        with self._lock:
            self._by_curve[curve_pub] = rec
            self._by_id[agent_id] = rec
        if auto_accept:
            self.ratelog.warning(source, "auto-accept", "auto_accept is on: accepted key of %s (%s) without an "
                                 "operator", agent_id, rec.fingerprint)
        else:
            self.pending.add(curve_pub, source)
            self.ratelog.info(source, "pending", "new key for %s filed as pending (fingerprint %s) from %s",
                              agent_id, rec.fingerprint, source or "a local socket")
        return state, ""

    def _evict_oldest_pending(self) -> None:
        curve_pub = self.pending.oldest()
        rec = self.by_curve(curve_pub) if curve_pub else None
        if rec is None:  # not in the store any more: just forget it
            self.pending.discard(curve_pub)
            return
        source = self.pending.source_of(curve_pub)
        self.pending.note(source, "evicted")
        self.ratelog.warning(source, "evicted", "pending key limit (%d) reached: evicted the oldest pending key, "
                             "%s (%s)", self.pending.max_total, rec.agent_id, rec.fingerprint)
        self._forget(rec)

    def flood_report(self, since: float) -> list[dict]:
        return self.pending.report(since)

    def select(self, match: str | None, states: set[str]) -> list[KeyRecord]:
        return [r for r in self.all() if r.state in states and (match is None or fnmatch.fnmatchcase(r.agent_id, match))]

    def set_state(self, rec: KeyRecord, state: str) -> KeyRecord:
        now = time.time()
        self.conn.execute("UPDATE keys SET state=?, changed_at=? WHERE curve_pub=?", (state, now, rec.curve_pub))
        new = KeyRecord(rec.agent_id, rec.curve_pub, rec.sign_pub, rec.fingerprint, state, rec.first_seen, now)
        with self._lock:
            self._by_curve[rec.curve_pub] = new
            self._by_id[rec.agent_id] = new
        if state != "pending":
            self.pending.discard(rec.curve_pub)
        log.info("key of %s (%s) is now %s", rec.agent_id, rec.fingerprint, state)
        return new

    def delete(self, rec: KeyRecord) -> None:
        self._forget(rec)
        log.info("key of %s (%s) deleted", rec.agent_id, rec.fingerprint)

    def _forget(self, rec: KeyRecord) -> None:
        self.conn.execute("DELETE FROM keys WHERE curve_pub=?", (rec.curve_pub,))
        with self._lock:
            self._by_curve.pop(rec.curve_pub, None)
            current = self._by_id.get(rec.agent_id)
            if current is not None and current.curve_pub == rec.curve_pub:
                del self._by_id[rec.agent_id]
        self.pending.discard(rec.curve_pub)
