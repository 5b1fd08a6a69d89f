"""The master's SQLite database (WAL): keys, jobs, per-agent returns (events: events/store.py)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from saline.protocol.safedirs import check_file, ensure_private_dir

SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (
    agent_id    TEXT PRIMARY KEY,
    curve_pub   TEXT NOT NULL UNIQUE,
    sign_pub    BLOB NOT NULL,
    fingerprint TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'rejected')),
    first_seen  REAL NOT NULL,
    changed_at  REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    jid        TEXT PRIMARY KEY,
    fun        TEXT NOT NULL,
    args       BLOB NOT NULL,
    kwargs     BLOB NOT NULL,
    target     TEXT NOT NULL,
    created_at REAL NOT NULL,
    timeout    REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS returns (
    jid         TEXT NOT NULL REFERENCES jobs(jid),
    agent_id    TEXT NOT NULL,
    status      TEXT NOT NULL,
    success     INTEGER,
    retcode     INTEGER,
    data        BLOB,
    error       TEXT,
    started_at  REAL,
    finished_at REAL,
    received_at REAL,
    PRIMARY KEY (jid, agent_id)
);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs(created_at);
"""


def open_db(path: Path) -> sqlite3.Connection:
    path = Path(path)
    # It holds the accepted agent keys: whoever can replace it chooses which agents we trust.
    ensure_private_dir(path.parent, "database directory")
    if path.exists():
        check_file(path, "database")
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    os.chmod(path, 0o600)
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode survives a process crash (the case we promise); only an OS
    # crash can lose the last transactions.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(SCHEMA)
    return conn
