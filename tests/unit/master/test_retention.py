"""Retention of jobs and events (master/retention.py) on the master's real schema."""

from saline.master.db import open_db
from saline.master.events.store import EventStore
from saline.master.retention import DAY, Retention, prune


def _db(tmp_path):
    conn = open_db(tmp_path / "jobs.sqlite")
    EventStore(conn)
    return conn


def _job(conn, jid: str, created: float, timeout: float = 10) -> None:
    conn.execute("INSERT INTO jobs VALUES (?,?,?,?,?,?,?)", (jid, "test.ping", b"\x90", b"\x80", "*", created, timeout))
    conn.execute("INSERT INTO returns (jid, agent_id, status) VALUES (?,?,?)", (jid, "node1", "returned"))


def _event(conn, received: float, at: float) -> None:
    conn.execute("INSERT INTO node_events (agent_id, seq, tag, data, at, received_at) VALUES (?,?,?,?,?,?)",
                 ("node1", None, "x", b"\x80", at, received))
    event_id = conn.execute("SELECT MAX(id) FROM node_events").fetchone()[0]
    conn.execute("INSERT INTO reactions (event_id, name, status, started_at) VALUES (?,?,?,?)",
                 (event_id, "r", "done", received))


def test_prunes_by_age_on_the_masters_clock(tmp_path):
    conn = _db(tmp_path)
    now = 1_000 * DAY
    _job(conn, "old", now - 31 * DAY)
    _job(conn, "new", now - 1 * DAY)
    _event(conn, received=now - 40 * DAY, at=now + 365 * DAY)  # an agent's "at" in the future changes nothing
    _event(conn, received=now - 1, at=now)
    done = prune(conn, Retention(), now)
    assert done == {"jobs": 1, "returns": 1, "events": 1, "reactions": 1}
    assert [r[0] for r in conn.execute("SELECT jid FROM jobs")] == ["new"]
    assert conn.execute("SELECT COUNT(*) FROM node_events").fetchone()[0] == 1
    assert prune(conn, Retention(), now) == {"jobs": 0, "returns": 0, "events": 0, "reactions": 0}


def test_keeps_at_most_max_rows_but_never_a_job_inside_its_timeout(tmp_path):
    conn = _db(tmp_path)
    now = 1_000 * DAY
    for i in range(10):
        _job(conn, f"j{i}", now - 100 + i)                 # all finished
        _event(conn, received=now - 100 + i, at=now)
    _job(conn, "running", now - 200, timeout=3600)         # oldest, but still inside its timeout
    done = prune(conn, Retention(max_jobs=3, max_events=4), now)
    assert sorted(r[0] for r in conn.execute("SELECT jid FROM jobs")) == ["j7", "j8", "j9", "running"]
    assert done["events"] == 6 and conn.execute("SELECT COUNT(*) FROM reactions").fetchone()[0] == 4


def test_explicit_ages_from_jobs_prune(tmp_path):
    conn = _db(tmp_path)
    now = 1_000 * DAY
    _job(conn, "hour-old", now - 3600)
    assert prune(conn, Retention(), now, jobs_days=0)["jobs"] == 1
