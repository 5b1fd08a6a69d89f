"""Maintenance runs in the master's SQLite store: the state machine (which node, which
step), every step's start, end and evidence, and the context a resumed run needs
(resources that were on the node, its agent session before the reboot …).

Every step and gate result is also written to the master's event store (agent id
``master``, tag ``maintenance/RUN/NODE/STEP``; ``saline events``).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from typing import Any, Literal

from pydantic import BaseModel, Field

from .spec import Spec

SCHEMA = """
CREATE TABLE IF NOT EXISTS maintenance_runs (
    id       TEXT PRIMARY KEY,
    created  REAL NOT NULL,
    owner    TEXT NOT NULL,
    spec     TEXT NOT NULL,
    status   TEXT NOT NULL,
    node     TEXT,
    step     TEXT,
    context  TEXT NOT NULL DEFAULT '{}',
    error    TEXT,
    safe_state TEXT,
    abort_requested INTEGER NOT NULL DEFAULT 0,
    updated  REAL NOT NULL,
    finished REAL
);
CREATE TABLE IF NOT EXISTS maintenance_steps (
    run_id   TEXT NOT NULL REFERENCES maintenance_runs(id),
    node     TEXT NOT NULL,
    step     TEXT NOT NULL,
    status   TEXT NOT NULL,
    started  REAL NOT NULL,
    finished REAL,
    evidence TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, node, step)
);
"""

RunStatus = Literal["running", "interrupted", "failed", "aborted", "done"]
# Evidence is what the agents said; bounded so one huge output cannot bloat the store.
MAX_EVIDENCE = 64 * 1024


class StepRecord(BaseModel):
    node: str
    step: str
    status: str
    started: float
    finished: float | None = None
    evidence: Any = None


class RunRecord(BaseModel):
    id: str
    created: float
    owner: str
    spec: Spec
    status: RunStatus
    node: str | None = None
    step: str | None = None
    context: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    safe_state: str | None = None
    abort_requested: bool = False
    updated: float
    finished: float | None = None
    steps: list[StepRecord] = Field(default_factory=list)


def _bounded(value: Any) -> str:
    text = json.dumps(value, default=str)
    if len(text) > MAX_EVIDENCE:
        text = json.dumps({"truncated": text[:MAX_EVIDENCE]})
    return text


class RunStore:
    def __init__(self, conn: sqlite3.Connection, record_event=None):
        self.conn = conn
        conn.executescript(SCHEMA)
        self._record_event = record_event  # the master's EventStore.record(tag, data)

    def create(self, spec: Spec, owner: str) -> str:
        run_id = time.strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(3)
        now = time.time()
        self.conn.execute(
            "INSERT INTO maintenance_runs (id, created, owner, spec, status, updated) VALUES (?,?,?,?,?,?)",
            (run_id, now, owner, spec.model_dump_json(), "running", now))
        self.event(run_id, None, "run", {"status": "running", "owner": owner, "spec": spec.model_dump()})
        return run_id

    def get(self, run_id: str) -> RunRecord | None:
        row = self.conn.execute(
            "SELECT id, created, owner, spec, status, node, step, context, error, safe_state, abort_requested,"
            " updated, finished FROM maintenance_runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            return None
        steps = [StepRecord(node=r[0], step=r[1], status=r[2], started=r[3], finished=r[4], evidence=json.loads(r[5]))
                 for r in self.conn.execute(
                     "SELECT node, step, status, started, finished, evidence FROM maintenance_steps WHERE run_id=?"
                     " ORDER BY started", (run_id,))]
        return RunRecord(id=row[0], created=row[1], owner=row[2], spec=Spec.model_validate_json(row[3]), status=row[4],
                         node=row[5], step=row[6], context=json.loads(row[7]), error=row[8], safe_state=row[9],
                         abort_requested=bool(row[10]), updated=row[11], finished=row[12], steps=steps)

    def latest(self, statuses: tuple[str, ...] | None = None) -> RunRecord | None:
        sql = "SELECT id FROM maintenance_runs"
        params: tuple = ()
        if statuses:
            sql += f" WHERE status IN ({','.join('?' * len(statuses))})"
            params = statuses
        row = self.conn.execute(sql + " ORDER BY created DESC LIMIT 1", params).fetchone()
        return self.get(row[0]) if row else None

    def recent(self, limit: int) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT id, created, owner, status, node, step, error, finished FROM maintenance_runs"
                                 " ORDER BY created DESC LIMIT ?", (limit,)).fetchall()
        keys = ("id", "created", "owner", "status", "node", "step", "error", "finished")
        return [dict(zip(keys, r)) for r in rows]

    def with_status(self, status: str) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT id FROM maintenance_runs WHERE status=?", (status,))]

    # ---- the state machine --------------------------------------------------------------
    def set_status(self, run_id: str, status: RunStatus, error: str | None = None, safe_state: str | None = None) -> None:
        now = time.time()
        done = now if status in ("failed", "aborted", "done") else None
        self.conn.execute("UPDATE maintenance_runs SET status=?, error=?, safe_state=?, updated=?, finished=?,"
                          " abort_requested=CASE WHEN ?='running' THEN 0 ELSE abort_requested END WHERE id=?",
                          (status, error, safe_state, now, done, status, run_id))
        self.event(run_id, None, "run", {"status": status, "error": error, "safe_state": safe_state})

    def request_abort(self, run_id: str) -> None:
        self.conn.execute("UPDATE maintenance_runs SET abort_requested=1 WHERE id=?", (run_id,))

    def abort_requested(self, run_id: str) -> bool:
        row = self.conn.execute("SELECT abort_requested FROM maintenance_runs WHERE id=?", (run_id,)).fetchone()
        return bool(row and row[0])

    def set_context(self, run_id: str, context: dict[str, Any]) -> None:
        self.conn.execute("UPDATE maintenance_runs SET context=?, updated=? WHERE id=?",
                          (_bounded(context), time.time(), run_id))

    def step_started(self, run_id: str, node: str, step: str) -> None:
        now = time.time()
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.execute("UPDATE maintenance_runs SET node=?, step=?, updated=? WHERE id=?", (node, step, now, run_id))
            self.conn.execute("INSERT OR REPLACE INTO maintenance_steps (run_id, node, step, status, started)"
                              " VALUES (?,?,?,?,?)", (run_id, node, step, "running", now))
        self.event(run_id, node, step, {"status": "running"})

    def step_finished(self, run_id: str, node: str, step: str, status: str, evidence: Any) -> None:
        self.conn.execute("UPDATE maintenance_steps SET status=?, finished=?, evidence=? WHERE run_id=? AND node=? AND step=?",
                          (status, time.time(), _bounded(evidence), run_id, node, step))
        self.event(run_id, node, step, {"status": status, "evidence": evidence})

    def event(self, run_id: str, node: str | None, what: str, data: dict[str, Any]) -> None:
        if self._record_event is not None:
            tag = "/".join(["maintenance", run_id, *([node] if node else []), what])
            self._record_event(tag, json.loads(_bounded(data)))
