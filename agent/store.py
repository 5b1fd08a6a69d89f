"""The agent's durable state in one SQLite file: the replay cache and the return spool.

* replay cache: every accepted jid with its ``not_after``. A job whose jid is here is a
  replay and is refused, also after an agent restart. Entries are pruned once their
  ``not_after`` (plus the allowed clock skew) has passed: such a job is refused as
  expired anyway, so the cache stays small without reopening the window.
* spool: every signed return frame, written before it is sent and deleted only when the
  master acks it, so neither a master restart nor a network cut loses a result.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from saline.protocol.keys import ensure_private_dir

SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (jid TEXT PRIMARY KEY, not_after REAL NOT NULL);
CREATE TABLE IF NOT EXISTS spool (jid TEXT PRIMARY KEY, frame BLOB NOT NULL, created REAL NOT NULL, last_sent REAL);
"""


class AgentStore:
    def __init__(self, state_dir: Path):
        ensure_private_dir(state_dir)
        path = Path(state_dir) / "agent.sqlite"
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        path.chmod(0o600)
        self.conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a return acknowledged to nobody yet must survive even an OS crash.
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.executescript(SCHEMA)
        self._lock = threading.Lock()

    def remember_jid(self, jid: str, not_after: float) -> bool:
        """Record a jid; False if it was seen before (a replay)."""
        with self._lock:
            try:
                self.conn.execute("INSERT INTO seen VALUES (?, ?)", (jid, not_after))
                return True
            except sqlite3.IntegrityError:
                return False

    def prune_seen(self, skew: float) -> int:
        with self._lock:
            return self.conn.execute("DELETE FROM seen WHERE not_after < ?", (time.time() - skew - 1,)).rowcount

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

    def close(self) -> None:
        self.conn.close()
