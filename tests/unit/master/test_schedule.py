"""Drift analysis, the maintenance hook, triggers and the APScheduler SQLite job store."""

from datetime import datetime, timedelta, timezone

import pytest

from saline.master.schedule import hooks
from saline.master.schedule.jobstore import SQLiteJobStore
from saline.master.schedule.scheduler import ScheduleError, drifted_items, fix_plan, make_trigger, resource_problems


def test_drifted_items_from_a_dry_run_return():
    data = {"results": [
        {"id": "motd", "fun": "file.managed", "sls": "motd", "result": None, "changes": {"diff": "-a\n+b"},
         "comment": "would change"},
        {"id": "ok", "fun": "file.managed", "sls": "motd", "result": True, "changes": {}},
        {"id": "pcmk", "fun": "pacemaker.primitive", "sls": "cluster", "result": None, "changes": {"diff": "x"}},
        {"id": "broken", "fun": "cmd.run", "sls": "x", "result": False, "changes": {}, "comment": "boom"},
        {"id": "pending", "fun": "pkg.held", "sls": "x", "result": None, "changes": {}},  # cannot plan yet: no drift
    ]}
    found = {f["item"]: f["kind"] for f in drifted_items(data)}
    assert found == {"motd": "drift", "pcmk": "drift", "broken": "error"}
    assert drifted_items("not a run") == [] and drifted_items({"results": ["x"]}) == []


def test_fix_plan_keeps_hands_off_pacemaker():
    drift = [{"item": "motd", "sls": "motd", "fun": "file.managed"},
             {"item": "pcmk", "sls": "cluster", "fun": "pacemaker.primitive"},
             {"item": "conf", "sls": "cluster", "fun": "file.managed"}]
    assert fix_plan(drift) == (["motd"], ["motd"])


def test_resource_problems():
    data = {"a": {"failed": True, "active": True, "role": "Started", "nodes": ["node1"]},
            "b": {"failed": False, "active": False, "role": "Stopped", "nodes": [], "target_role": None},
            "c": {"failed": False, "active": False, "role": "Stopped", "nodes": [], "target_role": "Stopped"},
            "d": {"failed": False, "active": True, "role": "Started", "nodes": ["node2"]}}
    got = {p["item"]: p["comment"] for p in resource_problems(data)}
    assert set(got) == {"resource a", "resource b"}
    assert "failed; reported, not fixed" in got["resource a"] and "stopped" in got["resource b"]


def test_maintenance_hook():
    assert hooks.held_nodes(None) == {}
    check = lambda m: {"node1": "rolling maintenance run 7"}  # noqa: E731
    hooks.register(check)
    try:
        assert hooks.held_nodes(None) == {"node1": "rolling maintenance run 7"}
    finally:
        hooks.unregister(check)

    def broken(m):
        raise RuntimeError("lock table missing")

    hooks.register(broken)
    try:
        assert "*" in hooks.held_nodes(None)  # a failing check holds every node
    finally:
        hooks.unregister(broken)


@pytest.mark.parametrize("text, error", [
    ("every 5s", "shorter than 10s"), ("every ten", "give a number"), ("cron 61 * * * *", "cron"),
    ("hourly", "every N\\[smhd\\]"),
])
def test_bad_triggers(text, error):
    with pytest.raises(ScheduleError, match=error):
        make_trigger(text)


def test_triggers():
    assert make_trigger("every 10m").interval == timedelta(minutes=10)
    assert "cron" in str(make_trigger("cron */15 * * * *"))


def test_jobstore_round_trip(tmp_path):
    from apscheduler.schedulers.background import BackgroundScheduler

    path = tmp_path / "db.sqlite"
    sched = BackgroundScheduler(jobstores={"default": SQLiteJobStore(path)}, timezone=timezone.utc)
    sched.start(paused=True)
    sched.add_job("saline.master.schedule.scheduler:fire", make_trigger("every 1h"), kwargs={"name": "x"}, id="x")
    sched.add_job("saline.master.schedule.scheduler:fire", make_trigger("every 2h"), kwargs={"name": "y"}, id="y")
    sched.pause_job("y")
    sched.shutdown(wait=False)
    again = BackgroundScheduler(jobstores={"default": SQLiteJobStore(path)}, timezone=timezone.utc)
    again.start(paused=True)
    try:
        jobs = {j.id: j for j in again.get_jobs()}
        assert set(jobs) == {"x", "y"} and jobs["y"].next_run_time is None
        assert jobs["x"].next_run_time > datetime.now(timezone.utc) + timedelta(minutes=59)
        assert jobs["x"].kwargs == {"name": "x"}
    finally:
        again.shutdown(wait=False)


def test_the_maintenance_lock_holds_every_node():
    import sqlite3
    from types import SimpleNamespace

    from saline.master.maintenance import lock

    conn = sqlite3.connect(":memory:", isolation_level=None)
    lock.ensure(conn)
    master = SimpleNamespace(jobs=SimpleNamespace(conn=conn))
    assert hooks.maintenance_lock(master) == {}
    assert lock.acquire(conn, "run-1", "ops", 600) is None
    held = hooks.maintenance_lock(master)
    assert list(held) == ["*"] and "run-1" in held["*"]
    lock.release(conn, "run-1")
    assert hooks.maintenance_lock(master) == {}
