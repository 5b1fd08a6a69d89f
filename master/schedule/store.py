"""Schedules (what to check, where, with which policy) and the latest drift per agent and state.

Only the latest drift is kept here (``saline drift``); every run is also recorded as a
``saline/drift/*`` event, which is the history. A state that stops drifting leaves the
table; ``since`` is when it was first seen drifting without a break.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import msgpack

SCHEMA = """
CREATE TABLE IF NOT EXISTS schedules (
    name       TEXT PRIMARY KEY,
    target     TEXT NOT NULL,
    states     BLOB NOT NULL,
    policy     TEXT NOT NULL CHECK (policy IN ('report', 'fix')),
    trigger    TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS drift (
    agent_id   TEXT NOT NULL,
    item       TEXT NOT NULL,
    schedule   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    sls        TEXT NOT NULL,
    fun        TEXT NOT NULL,
    changes    BLOB NOT NULL,
    comment    TEXT NOT NULL,
    status     TEXT NOT NULL,
    since      REAL NOT NULL,
    last_seen  REAL NOT NULL,
    jid        TEXT,
    fix_jid    TEXT,
    PRIMARY KEY (agent_id, item)
);
"""


def _pack(obj: Any) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def _unpack(raw: bytes) -> Any:
    return msgpack.unpackb(raw, raw=False, strict_map_key=False)


class ScheduleStore:
    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        conn.executescript(SCHEMA)

    # ---- schedules ----------------------------------------------------------------------
    def add(self, name: str, target: str, states: list[str], policy: str, trigger: str) -> None:
        self.conn.execute("INSERT INTO schedules VALUES (?,?,?,?,?,?)",
                          (name, target, _pack(states), policy, trigger, time.time()))

    def remove(self, name: str) -> bool:
        self.conn.execute("DELETE FROM drift WHERE schedule=?", (name,))
        return self.conn.execute("DELETE FROM schedules WHERE name=?", (name,)).rowcount > 0

    def get(self, name: str) -> dict | None:
        row = self.conn.execute("SELECT name, target, states, policy, trigger, created_at FROM schedules WHERE name=?",
                                (name,)).fetchone()
        return self._row(row) if row else None

    def all(self) -> list[dict]:
        rows = self.conn.execute("SELECT name, target, states, policy, trigger, created_at FROM schedules ORDER BY name")
        return [self._row(r) for r in rows]

    @staticmethod
    def _row(r) -> dict:
        return {"name": r[0], "target": r[1], "states": _unpack(r[2]), "policy": r[3], "trigger": r[4],
                "created_at": r[5]}

    # ---- drift ------------------------------------------------------------------------------
    def observe(self, schedule: str, agent_id: str, jid: str, found: list[dict]) -> None:
        """This run's findings for one agent: each {item, kind, sls, fun, changes, comment}.
        What this schedule found before and not now has stopped drifting: removed."""
        now = time.time()
        items = {f["item"] for f in found}
        with self.conn:
            self.conn.execute("BEGIN")
            old = {r[0]: r[1] for r in self.conn.execute(
                "SELECT item, since FROM drift WHERE agent_id=? AND schedule=?", (agent_id, schedule))}
            for gone in set(old) - items:
                self.conn.execute("DELETE FROM drift WHERE agent_id=? AND item=?", (agent_id, gone))
            for f in found:
                self.conn.execute(
                    "INSERT OR REPLACE INTO drift VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (agent_id, f["item"], schedule, f["kind"], f.get("sls", ""), f.get("fun", ""),
                     _pack(f.get("changes", {})), f.get("comment", ""), f.get("status", "drifted"),
                     old.get(f["item"], now), now, jid, None))

    def fixed(self, agent_id: str, items: list[str], fix_jid: str, ok: bool) -> None:
        self.conn.executemany("UPDATE drift SET status=?, fix_jid=? WHERE agent_id=? AND item=?",
                              [("fixed" if ok else "fix failed", fix_jid, agent_id, i) for i in items])

    def latest(self) -> list[dict]:
        rows = self.conn.execute(
            "SELECT agent_id, item, schedule, kind, sls, fun, changes, comment, status, since, last_seen, jid, fix_jid"
            " FROM drift ORDER BY agent_id, item")
        keys = ("agent_id", "item", "schedule", "kind", "sls", "fun", "changes", "comment", "status", "since",
                "last_seen", "jid", "fix_jid")
        out = []
        for r in rows:
            d = dict(zip(keys, r))
            d["changes"] = _unpack(d["changes"])
            out.append(d)
        return out
