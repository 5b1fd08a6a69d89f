"""An APScheduler 3 job store on the master's own SQLite file (no SQLAlchemy).

The same table and format as APScheduler's SQLAlchemyJobStore (id, next_run_time as a
UTC timestamp, the pickled job state), on its own connection: APScheduler calls the
store from its own thread. The file is the master's database (0600, root).
"""

from __future__ import annotations

import pickle
import sqlite3
import threading
from pathlib import Path

from apscheduler.job import Job
from apscheduler.jobstores.base import BaseJobStore, ConflictingIdError, JobLookupError
from apscheduler.util import datetime_to_utc_timestamp, utc_timestamp_to_datetime

SCHEMA = """
CREATE TABLE IF NOT EXISTS apscheduler_jobs (
    id            TEXT PRIMARY KEY,
    next_run_time REAL,
    job_state     BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS apscheduler_next ON apscheduler_jobs(next_run_time);
"""


class SQLiteJobStore(BaseJobStore):
    def __init__(self, path: Path):
        super().__init__()
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.executescript(SCHEMA)
        self._lock = threading.Lock()

    def _rows(self, where: str = "", params: tuple = ()) -> list[Job]:
        with self._lock:
            rows = self.conn.execute(
                f"SELECT id, job_state FROM apscheduler_jobs {where} ORDER BY next_run_time", params).fetchall()
        jobs, broken = [], []
        for job_id, state in rows:
            try:
                jobs.append(self._reconstitute(state))
            except Exception:
                self._logger.exception("cannot restore scheduled job %r; removing it", job_id)
                broken.append(job_id)
        if broken:
            with self._lock:
                self.conn.executemany("DELETE FROM apscheduler_jobs WHERE id=?", [(b,) for b in broken])
        return jobs

    def _reconstitute(self, state: bytes) -> Job:
        job_state = pickle.loads(state)  # noqa: S301 - written by this store into the master's 0600 database
        job_state["jobstore"] = self
        job = Job.__new__(Job)
        job.__setstate__(job_state)
        job._scheduler = self._scheduler
        job._jobstore_alias = self._alias
        return job

    def lookup_job(self, job_id):
        with self._lock:
            row = self.conn.execute("SELECT job_state FROM apscheduler_jobs WHERE id=?", (job_id,)).fetchone()
        return self._reconstitute(row[0]) if row else None

    def get_due_jobs(self, now):
        return self._rows("WHERE next_run_time <= ?", (datetime_to_utc_timestamp(now),))

    def get_next_run_time(self):
        with self._lock:
            row = self.conn.execute("SELECT MIN(next_run_time) FROM apscheduler_jobs WHERE next_run_time IS NOT NULL"
                                    ).fetchone()
        return utc_timestamp_to_datetime(row[0]) if row and row[0] is not None else None

    def get_all_jobs(self):
        jobs = self._rows()
        self._fix_paused_jobs_sorting(jobs)
        return jobs

    def add_job(self, job):
        with self._lock:
            try:
                self.conn.execute("INSERT INTO apscheduler_jobs VALUES (?,?,?)", (
                    job.id, datetime_to_utc_timestamp(job.next_run_time), pickle.dumps(job.__getstate__())))
            except sqlite3.IntegrityError:
                raise ConflictingIdError(job.id) from None

    def update_job(self, job):
        with self._lock:
            n = self.conn.execute("UPDATE apscheduler_jobs SET next_run_time=?, job_state=? WHERE id=?", (
                datetime_to_utc_timestamp(job.next_run_time), pickle.dumps(job.__getstate__()), job.id)).rowcount
        if n == 0:
            raise JobLookupError(job.id)

    def remove_job(self, job_id):
        with self._lock:
            n = self.conn.execute("DELETE FROM apscheduler_jobs WHERE id=?", (job_id,)).rowcount
        if n == 0:
            raise JobLookupError(job_id)

    def remove_all_jobs(self):
        with self._lock:
            self.conn.execute("DELETE FROM apscheduler_jobs")

    def shutdown(self):
        with self._lock:
            self.conn.close()
