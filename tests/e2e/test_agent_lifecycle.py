"""A stopping agent and an agent whose master key changed (issue 12, item 14), and the
master's log of failed returns (item 13), with real processes."""

import shutil
import signal
import sqlite3
import time

import pytest

from .procs import wait_for

pytestmark = pytest.mark.e2e


def test_sigterm_stops_the_agent_within_a_second_even_with_a_job_running(two_agents):
    d = two_agents
    rc, out = d.cli_json("run", "node1", "test.sleep", "seconds=30", "--async")
    assert rc == 0
    wait_for(lambda: any(r["running"] for r in d.cli_json("jobs", "active")[1]), 5, 0.2, "the job to run")
    agent = d.agents["node1"]
    started = time.monotonic()
    agent.p.send_signal(signal.SIGTERM)
    agent.p.wait(10)
    took = time.monotonic() - started
    assert agent.p.returncode == 0 and took < 1.0, took
    assert "saline-agent stopped" in agent.log_text()


def test_a_job_arriving_while_the_agent_stops_is_not_marked_seen(two_agents):
    d = two_agents
    agent = d.agents["node1"]
    agent.p.send_signal(signal.SIGSTOP)  # frozen: the job waits in its socket
    try:
        rc, out = d.cli_json("run", "node1", "test.ping", "--async")
        assert rc == 0
        time.sleep(0.5)
        agent.p.send_signal(signal.SIGTERM)  # pending until it runs again
    finally:
        agent.p.send_signal(signal.SIGCONT)
    agent.p.wait(10)
    with sqlite3.connect(d.agent_dirs["node1"] / "state" / "agent.sqlite") as db:
        seen = {row[0] for row in db.execute("SELECT jid FROM seen")}
    assert out["jid"] not in seen
    assert f"job {out['jid']}" not in agent.log_text()


def test_changed_master_key_is_logged_with_backoff(two_agents):
    d = two_agents
    d.master.kill()
    shutil.rmtree(d.master_dir / "pki")  # the master comes back with new keys
    d.master.start()
    wait_for(lambda: d.cli("status").returncode == 0, what="the new master")
    log = lambda: d.agents["node1"].log_text().count("MASTER KEY CHANGED")  # noqa: E731
    wait_for(lambda: log() >= 1, 10, what="the agent to notice the changed key")
    first = time.monotonic()
    time.sleep(7)
    # Reconnects every <= 1 s here: without backoff that is one ERROR line per retry.
    count = log()
    assert 2 <= count <= 4, (count, time.monotonic() - first)
    assert "(repeated" in d.agents["node1"].log_text()


def test_failed_returns_are_logged_at_warning(two_agents):
    d = two_agents
    rc, job = d.cli_json("run", "node1", "test.sleep", "seconds=never")
    assert rc == 2
    line = next(l for l in d.master.log_text().splitlines() if f"return for {job['jid']}" in l)
    assert " WARNING " in line and "failed (test.sleep)" in line and "bad arguments" in line
