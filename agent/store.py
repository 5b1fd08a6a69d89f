"""The agent's durable state in one SQLite file: the replay cache and the return spool.

* replay cache: every accepted jid with its ``not_after``. A job whose jid is here is a
  replay and is refused, also after an agent restart. An entry is pruned only when its
  ``not_after`` lies more than ``PRUNE_MARGIN`` before both the local clock and the newest
  ``issued_at`` the master ever signed (a high-water mark kept here): a local clock that
  jumps ahead, or both clocks ahead together by less than the margin, cannot make the
  agent forget a jid that is still valid once the clock is right again.
* spool: every signed return frame, written before it is sent and deleted only when the
  master acks it, so neither a master restart nor a network cut loses a result.
* event spool: the same for events; its AUTOINCREMENT key is the event's ``seq``, so a
  sequence number is never handed out twice, also across agent restarts.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from saline.protocol.safedirs import ensure_private_dir

SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (jid TEXT PRIMARY KEY, not_after REAL NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value REAL NOT NULL);
CREATE TABLE IF NOT EXISTS spool (jid TEXT PRIMARY KEY, frame BLOB NOT NULL, created REAL NOT NULL, last_sent REAL);
CREATE TABLE IF NOT EXISTS event_spool (seq INTEGER PRIMARY KEY AUTOINCREMENT, frame BLOB, created REAL NOT NULL,
                                        last_sent REAL);
"""

# Larger than any clock jump we expect to survive (a node booted with a dead RTC battery is
# corrected by NTP within minutes); the cost is a day of jids (~50 bytes each) kept on disk.
PRUNE_MARGIN = 86400.0


class AgentStore:
    def __init__(self, state_dir: Path):
        ensure_private_dir(state_dir, "state directory")
        path = Path(state_dir) / "agent.sqlite"
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        path.chmod(0o600)
        self.conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a return acknowledged to nobody yet must survive even an OS crash.
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.executescript(SCHEMA)
        self._lock = threading.Lock()

    def remember_jid(self, jid: str, not_after: float, issued_at: float | None = None) -> bool:
        """Record a jid (and raise the high-water mark of job time); False if it was seen before (a replay)."""
        with self._lock:
            try:
                self.conn.execute("INSERT INTO seen VALUES (?, ?)", (jid, not_after))
            except sqlite3.IntegrityError:
                return False
            if issued_at is not None:
                self.conn.execute(
                    "INSERT INTO meta VALUES ('newest_issued', ?) ON CONFLICT(key) DO UPDATE SET value=max(value, excluded.value)",
                    (issued_at,),
                )
            return True

    def prune_seen(self, skew: float) -> int:
        """Forget jids whose jobs are expired by every clock we know, with a day to spare."""
        with self._lock:
            row = self.conn.execute("SELECT value FROM meta WHERE key='newest_issued'").fetchone()
            if row is None:
                return 0  # no signed job time yet: nothing tells us the local clock is right
            cutoff = min(time.time(), row[0]) - skew - PRUNE_MARGIN
            return self.conn.execute("DELETE FROM seen WHERE not_after < ?", (cutoff,)).rowcount

    def spool(self, jid: str, frame: bytes) -> None:
        with self._lock:
            self.conn.execute("INSERT OR REPLACE INTO spool VALUES (?, ?, ?, ?)", (jid, frame, time.time(), time.time()))

    def unspool(self, jid: str) -> bool:
        with self._lock:
            return self.conn.execute("DELETE FROM spool WHERE jid=?", (jid,)).rowcount > 0

    def due(self, older_than: float) -> list[tuple[str, bytes]]:
        """Spooled returns not (re)sent within ``older_than`` seconds; marks them sent now."""
        now = time.time()
        with self._lock:
            rows = self.conn.execute(
                "SELECT jid, frame FROM spool WHERE last_sent IS NULL OR last_sent < ? ORDER BY created LIMIT 500",
                (now - older_than,),
            ).fetchall()
            self.conn.executemany("UPDATE spool SET last_sent=? WHERE jid=?", [(now, r[0]) for r in rows])
        return rows

    def all_spooled(self) -> list[tuple[str, bytes]]:
        with self._lock:
            return self.conn.execute("SELECT jid, frame FROM spool ORDER BY created").fetchall()

    def spool_event(self, make_frame) -> int:
        """Allocate the next event sequence number and store ``make_frame(seq)`` under it,
        in one transaction: an event is on disk before it can be sent."""
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                seq = self.conn.execute("INSERT INTO event_spool (created) VALUES (?)", (time.time(),)).lastrowid
                self.conn.execute("UPDATE event_spool SET frame=? WHERE seq=?", (make_frame(seq), seq))
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
        return seq

    def replace_event(self, seq: int, frame: bytes) -> None:
        with self._lock:
            self.conn.execute("UPDATE event_spool SET frame=? WHERE seq=?", (frame, seq))

    def unspool_event(self, seq: int) -> bool:
        with self._lock:
            return self.conn.execute("DELETE FROM event_spool WHERE seq=?", (seq,)).rowcount > 0

    def events_due(self, older_than: float, limit: int = 500) -> list[tuple[int, bytes]]:
        """Spooled events not (re)sent within ``older_than`` seconds, oldest first; marks them sent now."""
        now = time.time()
        with self._lock:
            rows = self.conn.execute(
                "SELECT seq, frame FROM event_spool WHERE last_sent IS NULL OR last_sent < ? ORDER BY seq LIMIT ?",
                (now - older_than, limit),
            ).fetchall()
            self.conn.executemany("UPDATE event_spool SET last_sent=? WHERE seq=?", [(now, r[0]) for r in rows])
        return rows

    def spooled_events(self) -> int:
        with self._lock:
            return self.conn.execute("SELECT COUNT(*) FROM event_spool").fetchone()[0]

    def close(self) -> None:
        self.conn.close()
