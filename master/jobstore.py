"""Jobs and per-agent returns, kept in SQLite so a master restart loses nothing.

A return row is written as ``pending`` (or ``not_connected``) when the job is
published; a signed return replaces it, also when it arrives after the job's timeout
(a late return is still recorded). ``no_return`` is derived at read time from the
job's timeout, so it is never stored wrong.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import msgpack

from saline.protocol.control import JobRecord
from saline.protocol.messages import ReturnBody

# The agent enforces the job's timeout itself and then sends a failed return; the
# master waits this much longer before calling a missing return "no return", so that
# return is not lost in a race.
RETURN_GRACE = 2.0


def _pack(obj: Any) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def _unpack(raw: bytes | None) -> Any:
    return None if raw is None else msgpack.unpackb(raw, raw=False, strict_map_key=False)


class JobStore:
    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def create(self, jid: str, fun: str, args: list, kwargs: dict, target: str, timeout: float,
               agents: dict[str, str]) -> None:
        """``agents`` maps agent id → initial status (pending / not_connected)."""
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.execute(
                "INSERT INTO jobs VALUES (?,?,?,?,?,?,?)",
                (jid, fun, _pack(args), _pack(kwargs), target, time.time(), timeout),
            )
            self.conn.executemany(
                "INSERT INTO returns (jid, agent_id, status) VALUES (?,?,?)",
                [(jid, aid, status) for aid, status in agents.items()],
            )

    def return_status(self, jid: str, agent_id: str) -> str | None:
        """One lookup answers "was it sent to this agent" (None if not), "is it stored already"
        and "was it pending"."""
        row = self.conn.execute("SELECT status FROM returns WHERE jid=? AND agent_id=?", (jid, agent_id)).fetchone()
        return None if row is None else row[0]

    def job_fun(self, jid: str) -> str | None:
        row = self.conn.execute("SELECT fun FROM jobs WHERE jid=?", (jid,)).fetchone()
        return None if row is None else row[0]

    def store_returns(self, bodies: list[ReturnBody]) -> None:
        """Many returns in one transaction (one commit per batch of frames, not per return)."""
        now = time.time()
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.executemany(
                "UPDATE returns SET status='returned', success=?, retcode=?, data=?, error=?, started_at=?,"
                " finished_at=?, received_at=? WHERE jid=? AND agent_id=?",
                [(int(b.success), b.retcode, _pack(b.data), b.error, b.started_at, b.finished_at, now, b.jid,
                  b.agent_id) for b in bodies],
            )

    def get(self, jid: str, now: float | None = None) -> JobRecord | None:
        plain = self.get_plain(jid, now)
        return None if plain is None else JobRecord.model_validate(plain)

    def get_plain(self, jid: str, now: float | None = None) -> dict | None:
        """The job and every agent's return as plain data: JobRecord's fields, as
        ``JobRecord.model_dump()`` would give them. A control reply sends this as it is (rows
        this store wrote from checked returns): at 10,000 agents, building and dumping
        10,000 models was most of the time between the last return and the reply."""
        row = self.conn.execute(
            "SELECT jid, fun, args, kwargs, target, created_at, timeout FROM jobs WHERE jid=?", (jid,)
        ).fetchone()
        if row is None:
            return None
        now = time.time() if now is None else now
        expired = now > row[5] + row[6] + RETURN_GRACE
        deadline = row[5] + row[6] + RETURN_GRACE
        returns = []
        for r in self.conn.execute(
            "SELECT agent_id, status, success, retcode, data, error, started_at, finished_at, received_at"
            " FROM returns WHERE jid=? ORDER BY agent_id", (jid,)
        ):
            status = r[1]
            if status == "pending" and expired:
                status = "no_return"
            returns.append({
                "agent_id": r[0], "status": status, "success": None if r[2] is None else bool(r[2]), "retcode": r[3],
                "data": _unpack(r[4]), "error": r[5], "started_at": r[6], "finished_at": r[7], "received_at": r[8],
                "late": r[8] is not None and r[8] > deadline,
            })
        return {"jid": row[0], "fun": row[1], "args": _unpack(row[2]), "kwargs": _unpack(row[3]), "target": row[4],
                "created_at": row[5], "timeout": row[6], "returns": returns}

    def unfinished(self, jids: set[str] | None = None) -> list[dict]:
        """(jid, agent, fun, …) for every return not in yet: of jobs still within their
        timeout, or of ``jids`` (the jobs agents say they are running) whatever their age."""
        now = time.time()
        rows = self.conn.execute(
            "SELECT r.jid, r.agent_id, j.fun, j.target, j.created_at, j.timeout FROM returns r"
            " JOIN jobs j ON j.jid=r.jid WHERE r.status='pending' AND j.created_at + j.timeout + ? > ?"
            " ORDER BY j.created_at", (RETURN_GRACE, now),
        ).fetchall()
        for jid in sorted(jids or ()):
            rows += self.conn.execute(
                "SELECT r.jid, r.agent_id, j.fun, j.target, j.created_at, j.timeout FROM returns r"
                " JOIN jobs j ON j.jid=r.jid WHERE r.jid=? AND r.status='pending'", (jid,)
            ).fetchall()
        seen, out = set(), []
        for r in rows:
            if (r[0], r[1]) not in seen:
                seen.add((r[0], r[1]))
                out.append({"jid": r[0], "agent_id": r[1], "fun": r[2], "target": r[3], "created_at": r[4],
                            "timeout": r[5], "overdue": now > r[4] + r[5]})
        return out

    def recent(self, limit: int) -> list[dict]:
        """One summary row per job. ``failed`` counts every agent that did not succeed:
        failed returns, agents that were down, and no return after the timeout; returns
        still to come within the timeout are ``running``, not failed."""
        now = time.time()
        rows = self.conn.execute(
            "SELECT j.jid, j.fun, j.target, j.created_at, j.timeout, j.kwargs,"
            " COUNT(r.agent_id), SUM(r.status='returned'), SUM(r.success=0), SUM(r.status='not_connected'),"
            " SUM(r.status='pending')"
            " FROM jobs j LEFT JOIN returns r ON r.jid=j.jid GROUP BY j.jid ORDER BY j.created_at DESC LIMIT ?",
            (limit,),
        ).fetchall()
        out = []
        for r in rows:
            pending = r[10] or 0
            expired = now > r[3] + r[4] + RETURN_GRACE
            kwargs = _unpack(r[5]) if r[1] == "state.apply" else {}
            out.append({
                "jid": r[0], "fun": r[1], "target": r[2], "created_at": r[3], "timeout": r[4],
                "test": bool(isinstance(kwargs, dict) and kwargs.get("test")),
                "targeted": r[6], "returned": r[7] or 0,
                "failed": (r[8] or 0) + (r[9] or 0) + (pending if expired else 0),
                "running": 0 if expired else pending,
            })
        return out
