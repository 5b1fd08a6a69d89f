"""The work spec, the cluster lock and the run store (a real SQLite file)."""

from __future__ import annotations

import time

import pytest

from saline.master.db import open_db
from saline.master.maintenance import lock
from saline.master.maintenance.spec import Spec, parse_work
from saline.master.maintenance.store import MAX_EVIDENCE, RunStore


def test_parse_work():
    assert parse_work("state:cluster, motd").states == ["cluster", "motd"]
    assert parse_work("upgrade").kind == "upgrade"
    assert parse_work("cmd:apt-get -y install 'a b'").argv == ["apt-get", "-y", "install", "a b"]
    assert parse_work(None).kind == "none"
    for bad in ("state:", "cmd:", "upgrade:x", "reboot", "cmd:'unclosed"):
        with pytest.raises(ValueError):
            parse_work(bad)


def test_lock_one_holder_ttl_and_release(tmp_path):
    conn = open_db(tmp_path / "m.sqlite")
    assert lock.held(conn) is None
    assert lock.acquire(conn, "run-a", "alice", 60) is None
    assert lock.acquire(conn, "run-a", "alice", 60) is None  # the holder renews
    other = lock.acquire(conn, "run-b", "bob", 60)
    assert other is not None and other.run_id == "run-a" and "alice" in other.describe()
    info = lock.held(conn)
    assert info.owner == "alice" and info.expires > time.time() + 50
    assert lock.held(conn, now=info.expires + 1) is None  # expired: free again
    lock.release(conn, "run-b")  # not the holder: nothing happens
    assert lock.held(conn) is not None
    lock.release(conn, "run-a")
    assert lock.held(conn) is None and lock.acquire(conn, "run-b", "bob", 60) is None


def test_store_keeps_the_state_machine_and_events(tmp_path):
    conn = open_db(tmp_path / "m.sqlite")
    events = []
    store = RunStore(conn, lambda *e: events.append(e))
    spec = Spec(cluster=["node1", "node2"], nodes=["node1", "node2"], work=parse_work("cmd:true"))
    run_id = store.create(spec, "alice")
    store.step_started(run_id, "node1", "drain")
    store.set_context(run_id, {"node1": {"resources_before": ["grp"]}})
    store.step_finished(run_id, "node1", "drain", "ok", {"big": "x" * (MAX_EVIDENCE + 10)})
    store.set_status(run_id, "failed", "boom", "node1 is in standby")
    # A new store on the same file (the master restarted) sees all of it.
    again = RunStore(open_db(tmp_path / "m.sqlite")).get(run_id)
    assert (again.status, again.node, again.step, again.error) == ("failed", "node1", "drain", "boom")
    assert again.context == {"node1": {"resources_before": ["grp"]}} and again.spec == spec
    assert again.steps[0].status == "ok" and "truncated" in again.steps[0].evidence
    tags = [e[0] for e in events]
    assert tags == [f"maintenance/{run_id}/run", f"maintenance/{run_id}/node1/drain",
                    f"maintenance/{run_id}/node1/drain", f"maintenance/{run_id}/run"]
    assert store.latest(("failed",)).id == run_id and store.with_status("running") == []
