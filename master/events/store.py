"""Every event the master received, once, in SQLite, with the outcome of each reaction.

An agent re-sends an event until it is acked, so the same (agent, seq) can arrive twice
(a lost ack, a master restart): the UNIQUE key stores it once, and the caller acks
either way. Events the master raises itself (``agent_id`` "master") have no seq.
"""

from __future__ import annotations

import fnmatch
import sqlite3
import time
from typing import Any

import msgpack

SCHEMA = """
CREATE TABLE IF NOT EXISTS node_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id    TEXT NOT NULL,
    seq         INTEGER,
    tag         TEXT NOT NULL,
    data        BLOB NOT NULL,
    at          REAL NOT NULL,
    received_at REAL NOT NULL,
    UNIQUE (agent_id, seq)
);
CREATE INDEX IF NOT EXISTS node_events_at ON node_events(at);
CREATE TABLE IF NOT EXISTS reactions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id    INTEGER NOT NULL REFERENCES node_events(id),
    name        TEXT NOT NULL,
    status      TEXT NOT NULL,
    jid         TEXT,
    result      INTEGER,
    detail      TEXT,
    started_at  REAL NOT NULL,
    finished_at REAL,
    latency     REAL
);
CREATE INDEX IF NOT EXISTS reactions_event ON reactions(event_id);
"""

MASTER = "master"


def _pack(obj: Any) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def _unpack(raw: bytes) -> Any:
    return msgpack.unpackb(raw, raw=False, strict_map_key=False)


def glob_to_like(pattern: str) -> str:
    """A tag glob as a LIKE prefix for the index-free pre-filter (fnmatch decides)."""
    return pattern.split("*")[0].split("?")[0].split("[")[0].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class EventStore:
    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        conn.executescript(SCHEMA)

    def add(self, agent_id: str, seq: int | None, tag: str, data: dict, at: float) -> int | None:
        """Store one event; its id, or None if (agent_id, seq) was stored before."""
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO node_events (agent_id, seq, tag, data, at, received_at) VALUES (?,?,?,?,?,?)",
            (agent_id, seq, tag, _pack(data), at, time.time()),
        )
        return cur.lastrowid if cur.rowcount else None

    def record(self, tag: str, data: dict) -> int:
        """An event the master raises itself (a reaction's or schedule's outcome, maintenance steps)."""
        event_id = self.add(MASTER, None, tag, data, time.time())
        assert event_id is not None
        return event_id

    def query(self, tag: str | None = None, since: float | None = None, after_id: int = 0,
              limit: int = 50) -> list[dict]:
        """Matching events, oldest first: the last ``limit`` of them (or the first ``limit``
        after ``after_id``, for --follow), each with its reactions."""
        where, params = ["id > ?"], [after_id]
        if tag:
            where.append("tag LIKE ? ESCAPE '\\'")
            params.append(glob_to_like(tag))
        if since is not None:
            where.append("at >= ?")
            params.append(since)
        order = "ASC" if after_id else "DESC"
        rows = self.conn.execute(
            f"SELECT id, agent_id, seq, tag, data, at, received_at FROM node_events WHERE {' AND '.join(where)}"
            f" ORDER BY id {order} LIMIT ?", (*params, limit * 4 if tag else limit),
        ).fetchall()
        rows = [r for r in rows if not tag or fnmatch.fnmatchcase(r[3], tag)][:limit]
        if order == "DESC":
            rows.reverse()
        events = [{"id": r[0], "agent_id": r[1], "seq": r[2], "tag": r[3], "data": _unpack(r[4]), "at": r[5],
                   "received_at": r[6], "reactions": []} for r in rows]
        by_id = {e["id"]: e for e in events}
        if by_id:
            marks = ",".join("?" * len(by_id))
            for r in self.conn.execute(
                f"SELECT event_id, name, status, jid, result, detail, started_at, finished_at, latency FROM reactions"
                f" WHERE event_id IN ({marks}) ORDER BY id", tuple(by_id),
            ):
                by_id[r[0]]["reactions"].append({
                    "name": r[1], "status": r[2], "jid": r[3], "result": None if r[4] is None else bool(r[4]),
                    "detail": r[5], "started_at": r[6], "finished_at": r[7], "latency": r[8]})
        return events

    def last_seq(self, agent_id: str) -> int:
        return self.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM node_events WHERE agent_id=?",
                                 (agent_id,)).fetchone()[0]

    def last_id(self) -> int:
        return self.conn.execute("SELECT COALESCE(MAX(id), 0) FROM node_events").fetchone()[0]

    # ---- reactions --------------------------------------------------------------------
    def reaction_started(self, event_id: int, name: str, status: str, jid: str | None = None,
                         detail: str | None = None) -> int:
        return self.conn.execute(
            "INSERT INTO reactions (event_id, name, status, jid, detail, started_at) VALUES (?,?,?,?,?,?)",
            (event_id, name, status, jid, detail, time.time()),
        ).lastrowid

    def reaction_finished(self, reaction_id: int, status: str, result: bool | None, detail: str | None,
                          latency: float | None) -> None:
        self.conn.execute(
            "UPDATE reactions SET status=?, result=?, detail=?, finished_at=?, latency=? WHERE id=?",
            (status, None if result is None else int(result), detail, time.time(), latency, reaction_id),
        )
