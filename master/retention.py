"""How long the master keeps jobs and events, so no agent can fill its disk.

Each stored row is bounded in size by the per-kind frame limits (master/intake.py); this
bounds how many rows there are and for how long: jobs (with their returns) and events
(with their reactions) older than ``*_days`` go, and past ``max_*`` rows the oldest go.
Age is the master's own clock (``created_at``, ``received_at``), never a time an agent
wrote into its message. Runs every ``interval`` seconds in the master loop, and on
demand with ``saline jobs prune``. Tables that do not exist are skipped.
"""

from __future__ import annotations

import logging
import sqlite3
import time

from pydantic import BaseModel, ConfigDict, Field

log = logging.getLogger("saline.master.retention")

DAY = 86400.0


class Retention(BaseModel):
    model_config = ConfigDict(extra="forbid")

    jobs_days: float = Field(default=30.0, gt=0)
    max_jobs: int = Field(default=50_000, ge=1)
    events_days: float = Field(default=30.0, gt=0)
    max_events: int = Field(default=200_000, ge=1)
    interval: float = Field(default=600.0, gt=0)  # seconds between automatic prunes


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _cutoff_by_count(conn: sqlite3.Connection, sql: str, keep: int) -> float | None:
    """The time of the newest row beyond the ``keep`` newest (rows at or before it go)."""
    row = conn.execute(sql, (keep,)).fetchone()
    return None if row is None else row[0]


def prune(conn: sqlite3.Connection, policy: Retention, now: float | None = None, *,
          jobs_days: float | None = None, events_days: float | None = None) -> dict[str, int]:
    """Delete what the policy (or the given ages) no longer keeps; counts per table."""
    now = time.time() if now is None else now
    tables = _tables(conn)
    done = {"jobs": 0, "returns": 0, "events": 0, "reactions": 0}
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        if {"jobs", "returns"} <= tables:
            cutoff = now - (jobs_days if jobs_days is not None else policy.jobs_days) * DAY
            by_count = _cutoff_by_count(conn, "SELECT created_at FROM jobs ORDER BY created_at DESC LIMIT 1 OFFSET ?",
                                        policy.max_jobs)
            if by_count is not None:
                cutoff = max(cutoff, by_count + 1e-6)
            # A job still inside its timeout is never pruned (its returns are on their way).
            doomed = "SELECT jid FROM jobs WHERE created_at < ? AND created_at + timeout < ?"
            done["returns"] = conn.execute(f"DELETE FROM returns WHERE jid IN ({doomed})", (cutoff, now)).rowcount
            done["jobs"] = conn.execute("DELETE FROM jobs WHERE created_at < ? AND created_at + timeout < ?",
                                        (cutoff, now)).rowcount
        if "node_events" in tables:
            cutoff = now - (events_days if events_days is not None else policy.events_days) * DAY
            by_count = _cutoff_by_count(conn, "SELECT id FROM node_events ORDER BY id DESC LIMIT 1 OFFSET ?",
                                        policy.max_events)
            id_cut = by_count if by_count is not None else 0
            doomed = "SELECT id FROM node_events WHERE received_at < ? OR id <= ?"
            if "reactions" in tables:
                done["reactions"] = conn.execute(f"DELETE FROM reactions WHERE event_id IN ({doomed})",
                                                 (cutoff, id_cut)).rowcount
            done["events"] = conn.execute("DELETE FROM node_events WHERE received_at < ? OR id <= ?",
                                          (cutoff, id_cut)).rowcount
    if any(done.values()):
        log.info("pruned %d job(s) with %d return(s), %d event(s) with %d reaction(s)",
                 done["jobs"], done["returns"], done["events"], done["reactions"])
    return done
