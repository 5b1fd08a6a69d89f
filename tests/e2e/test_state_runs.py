"""One state run per agent at a time, `jobs active|kill|wait`, and state runs that outlive
their timeout (issue 12, items 3 and 4), with real master and agent processes."""

import json
import time

import pytest

from .procs import wait_for

pytestmark = pytest.mark.e2e


def _tree(d, **files: str) -> None:
    (d.base / "states").mkdir(exist_ok=True)
    for name, text in files.items():
        (d.base / "states" / f"{name}.sls").write_text(text)


def _sleep_sls(seconds: float) -> str:
    return f"nap:\n  cmd.run:\n    - name: sleep {seconds}\n"


def _async_apply(d, *args: str) -> str:
    rc, out = d.cli_json("apply", "node1", *args, "--async")
    assert rc == 0, out
    return out["jid"]


def _active(d) -> list[tuple[str, str]]:
    rc, rows = d.cli_json("jobs", "active")
    assert rc == 0
    return [(r["jid"], r["agent_id"]) for r in rows]


def test_second_state_run_is_refused_with_the_running_jid(two_agents):
    d = two_agents
    _tree(d, slow=_sleep_sls(3))
    first = _async_apply(d, "slow")
    assert (first, "node1") in _active(d)
    rc, job = d.cli_json("apply", "node1", "slow")
    ret = job["returns"][0]
    assert rc == 2 and ret["status"] == "returned" and ret["success"] is False
    assert f"a state run is already running on node1: job {first}" in ret["error"]
    assert ret["data"] == {"running_jid": first}
    # The refused run ran nothing; the first one finishes normally.
    rc, job = d.cli_json("jobs", "wait", first)
    assert rc == 0 and job["returns"][0]["success"] is True
    assert d.agents["node1"].log_text().count("'sleep', '3'") == 1
    # Another agent is not blocked by node1's run.
    rc, _ = d.cli_json("apply", "node2", "slow")
    assert rc == 0
    wait_for(lambda: _active(d) == [], 5, 0.2, "no active jobs")


def test_queue_waits_behind_the_running_state_run(two_agents):
    d = two_agents
    _tree(d, slow=_sleep_sls(2))
    first = _async_apply(d, "slow")
    rc, second = d.cli_json("apply", "node1", "slow", "--queue")
    assert rc == 0 and second["returns"][0]["success"] is True
    rc, first_job = d.cli_json("jobs", "show", first)
    assert rc == 0
    # The queued run started its states only after the first run had finished.
    assert second["returns"][0]["finished_at"] - first_job["returns"][0]["finished_at"] >= 1.9


def test_kill_stops_a_running_state_run(two_agents):
    d = two_agents
    _tree(d, long=_sleep_sls(60) + "after:\n  cmd.run:\n    - name: 'true'\n")
    jid = _async_apply(d, "long")
    # The agent reports the job in its heartbeat.
    wait_for(lambda: any(r["running"] for r in d.cli_json("jobs", "active")[1] if r["jid"] == jid), 5, 0.2,
             "the agent to report the job running")
    started = time.monotonic()
    rc, kill = d.cli_json("jobs", "kill", jid)
    assert rc == 0 and kill["fun"] == "job.kill" and kill["returns"][0]["data"]["jid"] == jid
    rc, job = d.cli_json("jobs", "wait", jid, "--timeout", "10")
    assert time.monotonic() - started < 5
    ret = job["returns"][0]
    assert rc == 2 and ret["status"] == "returned" and ret["success"] is False
    results = {r["id"]: r for r in ret["data"]["results"]}
    assert "stopped: the job was killed" in json.dumps(results["nap"])
    assert results["after"]["result"] is False and "cancelled" in results["after"]["comment"]
    assert _active(d) == []
    # Killing a finished job says so (exit 1, nothing published).
    r = d.cli("jobs", "kill", jid)
    assert r.returncode == 1 and f"job {jid} is not running on any agent" in r.stderr


def test_state_run_outliving_its_timeout_returns_late(two_agents):
    d = two_agents
    _tree(d, slow=_sleep_sls(4), marker="/etc/marker:\n  file.managed:\n    - contents: done\n    - makedirs: true\n")
    (d.base / "states" / "both.sls").write_text("include:\n  - slow\n  - marker\n")
    rc, job = d.cli_json("apply", "node1", "both", "--timeout", "1")
    ret = job["returns"][0]
    # Still running is not "failed" and not "no return": exit 3, status running.
    assert rc == 3 and ret["status"] == "running", job
    assert "passed its timeout" in d.agents["node1"].log_text()
    rc, job = d.cli_json("jobs", "wait", job["jid"])
    ret = job["returns"][0]
    assert rc == 0 and ret["status"] == "returned" and ret["success"] is True and ret["late"] is True
    assert (d.agent_dirs["node1"] / "root/etc/marker").read_text() == "done\n"
    assert "result dropped" not in d.agents["node1"].log_text()
    r = d.cli("jobs", "show", job["jid"])
    assert r.returncode == 0 and "returned after the timeout (late)" in r.stdout
    # apply's default timeout is the master's apply_timeout (300 s), run's default_timeout.
    assert d.cli_json("jobs", "show", _async_apply(d, "marker"))[1]["timeout"] == 300
    rc, ping = d.cli_json("run", "node1", "test.ping")
    assert rc == 0 and ping["timeout"] == 10
