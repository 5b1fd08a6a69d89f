"""Agent keys and their acceptance state, like salt-key's pending/accepted/rejected.

An agent id is bound to its CURVE public key once filed; the master only ever learns
who is talking from the authenticated CURVE key (the ZAP user id), never from a field
in a message. The in-memory maps are read by the ZAP thread, hence the lock.
"""

from __future__ import annotations

import fnmatch
import functools
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from saline.protocol.keys import fingerprint

log = logging.getLogger("saline.master.keys")

MAX_PENDING = 1000  # a flood of new keys must not grow the store without bound


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
    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self._lock = threading.Lock()
        self._by_curve: dict[str, KeyRecord] = {}
        self._load()

    def _load(self) -> None:
        rows = self.conn.execute(
            "SELECT agent_id, curve_pub, sign_pub, fingerprint, state, first_seen, changed_at FROM keys"
        ).fetchall()
        with self._lock:
            self._by_curve = {r[1]: KeyRecord(*r) for r in rows}

    # ---- lookups (any thread) ----------------------------------------------------
    def by_curve(self, curve_pub: str) -> KeyRecord | None:
        with self._lock:
            return self._by_curve.get(curve_pub)

    def by_id(self, agent_id: str) -> KeyRecord | None:
        with self._lock:
            return next((r for r in self._by_curve.values() if r.agent_id == agent_id), None)

    @functools.lru_cache(maxsize=4096)
    def verifier(self, rec: KeyRecord) -> Ed25519PublicKey:
        """The agent's signature checker, built once per key (it is used for every return)."""
        return Ed25519PublicKey.from_public_bytes(rec.sign_pub)

    def zap_allows(self, curve_pub: str) -> bool:
        """Unknown keys may connect (to say hello and become pending); rejected keys may not."""
        rec = self.by_curve(curve_pub)
        return rec is None or rec.state != "rejected"

    def all(self) -> list[KeyRecord]:
        with self._lock:
            return sorted(self._by_curve.values(), key=lambda r: r.agent_id)

    def accepted_ids(self) -> list[str]:
        return [r.agent_id for r in self.all() if r.state == "accepted"]

    # ---- changes (master thread) ---------------------------------------------------
    def file_hello(self, agent_id: str, curve_pub: str, sign_pub: bytes, auto_accept: bool) -> tuple[str, str]:
        """File a hello. Returns (key_state, message) for the Welcome reply."""
        known = self.by_curve(curve_pub)
        if known is not None:
            if known.agent_id != agent_id:
                log.warning(
                    "key of agent %s says hello as %r; the id is bound to the key, ignoring the claim",
                    known.agent_id, agent_id,
                )
            if known.sign_pub != sign_pub:
                log.warning("agent %s presents a different signing key than the one filed; refused", known.agent_id)
                return "denied", "signing key differs from the filed one; delete the key on the master to re-register"
            return known.state, ""
        holder = self.by_id(agent_id)
        if holder is not None:
            log.warning(
                "agent id %r claimed by a new key %s while filed with key %s (%s); refused",
                agent_id, fingerprint(curve_pub, sign_pub), holder.fingerprint, holder.state,
            )
            return "denied", f"agent id {agent_id} is already registered with another key"
        if sum(1 for r in self.all() if r.state == "pending") >= MAX_PENDING:
            log.warning("pending key limit (%d) reached; hello from %r ignored", MAX_PENDING, agent_id)
            return "denied", "too many pending keys on the master"
        state = "accepted" if auto_accept else "pending"
        now = time.time()
        rec = KeyRecord(agent_id, curve_pub, sign_pub, fingerprint(curve_pub, sign_pub), state, now, now)
        self.conn.execute(
            "INSERT INTO keys VALUES (?,?,?,?,?,?,?)",
            (rec.agent_id, rec.curve_pub, rec.sign_pub, rec.fingerprint, rec.state, rec.first_seen, rec.changed_at),
        )
        with self._lock:
            self._by_curve[curve_pub] = rec
        if auto_accept:
            log.warning("auto_accept is on: accepted key of %s (%s) without an operator", agent_id, rec.fingerprint)
        else:
            log.info("new key for %s filed as pending (fingerprint %s)", agent_id, rec.fingerprint)
        return state, ""

    def select(self, match: str | None, states: set[str]) -> list[KeyRecord]:
        return [r for r in self.all() if r.state in states and (match is None or fnmatch.fnmatchcase(r.agent_id, match))]

    def set_state(self, rec: KeyRecord, state: str) -> KeyRecord:
        now = time.time()
        self.conn.execute("UPDATE keys SET state=?, changed_at=? WHERE curve_pub=?", (state, now, rec.curve_pub))
        new = KeyRecord(rec.agent_id, rec.curve_pub, rec.sign_pub, rec.fingerprint, state, rec.first_seen, now)
        with self._lock:
            self._by_curve[rec.curve_pub] = new
        log.info("key of %s (%s) is now %s", rec.agent_id, rec.fingerprint, state)
        return new

    def delete(self, rec: KeyRecord) -> None:
        self.conn.execute("DELETE FROM keys WHERE curve_pub=?", (rec.curve_pub,))
        with self._lock:
            self._by_curve.pop(rec.curve_pub, None)
        log.info("key of %s (%s) deleted", rec.agent_id, rec.fingerprint)
