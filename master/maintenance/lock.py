"""The cluster-wide maintenance lock: one run at a time, with an owner, a start and a TTL.

Other master subsystems (drift correction, a scheduler) must not act on a cluster under
maintenance: they call :func:`held` and stay away while it returns a lock. The running
run refreshes the expiry; a master that dies leaves the lock until it expires, and an
interrupted run keeps the cluster reserved until it is resumed or aborted.
"""

from __future__ import annotations

import sqlite3
import time

from pydantic import BaseModel

SCHEMA = """
CREATE TABLE IF NOT EXISTS maintenance_lock (
    name    TEXT PRIMARY KEY,
    run_id  TEXT NOT NULL,
    owner   TEXT NOT NULL,
    started REAL NOT NULL,
    expires REAL NOT NULL
);
"""
NAME = "cluster"


class LockInfo(BaseModel):
    run_id: str
    owner: str
    started: float
    expires: float

    def describe(self) -> str:
        left = max(0.0, self.expires - time.time())
        return f"held by run {self.run_id} ({self.owner}) since {time.strftime('%H:%M:%S', time.localtime(self.started))}, expires in {left:.0f}s"


def ensure(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)


def held(conn: sqlite3.Connection, now: float | None = None) -> LockInfo | None:
    """The lock while it is held and not expired, else None."""
    ensure(conn)
    row = conn.execute("SELECT run_id, owner, started, expires FROM maintenance_lock WHERE name=?", (NAME,)).fetchone()
    if row is None or row[3] <= (time.time() if now is None else now):
        return None
    return LockInfo(run_id=row[0], owner=row[1], started=row[2], expires=row[3])


def acquire(conn: sqlite3.Connection, run_id: str, owner: str, ttl: float) -> LockInfo | None:
    """Take the lock for ``run_id`` (or renew it if that run holds it). Returns the lock
    that stands in the way, or None when it is ours now."""
    ensure(conn)
    now = time.time()
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        current = held(conn, now)
        if current is not None and current.run_id != run_id:
            return current
        started = current.started if current is not None else now
        conn.execute("INSERT OR REPLACE INTO maintenance_lock VALUES (?,?,?,?,?)",
                     (NAME, run_id, owner, started, now + ttl))
    return None


def refresh(conn: sqlite3.Connection, run_id: str, ttl: float) -> None:
    conn.execute("UPDATE maintenance_lock SET expires=? WHERE name=? AND run_id=?", (time.time() + ttl, NAME, run_id))


def release(conn: sqlite3.Connection, run_id: str) -> None:
    conn.execute("DELETE FROM maintenance_lock WHERE name=? AND run_id=?", (NAME, run_id))
