"""Key acceptance, `saline run`, presence, and the job store, with real processes."""

import time

import pytest

from .procs import wait_for

pytestmark = pytest.mark.e2e


def test_pending_then_accept_then_run(deployment):
    deployment.add_agent("node1")
    deployment.wait_agent_state("node1", "pending")
    # A pending agent is not targetable: nothing is published to it.
    r = deployment.cli("run", "node1", "test.ping")
    assert r.returncode == 1 and "no accepted agent matches" in r.stderr
    assert "key is pending on the master" in wait_for(
        lambda: "pending" in deployment.agents["node1"].log_text() and deployment.agents["node1"].log_text())

    rc, keys = deployment.cli_json("keys", "list")
    assert rc == 0 and [(k["id"], k["state"]) for k in keys] == [("node1", "pending")]
    assert deployment.cli("keys", "accept", "node1").returncode == 0
    deployment.wait_agent_state("node1", "up")

    rc, job = deployment.cli_json("run", "node1", "test.ping")
    assert rc == 0
    assert [(r["agent_id"], r["status"], r["success"], r["data"]) for r in job["returns"]] == [("node1", "returned", True, True)]
    rc, job = deployment.cli_json("run", "node1", "facts.items")
    facts = job["returns"][0]["data"]
    assert rc == 0 and facts["id"] == "node1" and facts["kernel"] and "lo" in facts["interfaces"]


def test_accept_by_fingerprint(deployment):
    deployment.add_agent("node1")
    deployment.wait_agent_state("node1", "pending")
    r = deployment.cli("keys", "accept", "node1", "--fingerprint", "00:11")
    assert r.returncode == 1 and "fingerprint" in r.stderr
    _, keys = deployment.cli_json("keys", "list")
    assert deployment.cli("keys", "accept", "node1", "--fingerprint", keys[0]["fingerprint"]).returncode == 0
    deployment.wait_agent_state("node1", "up")


def test_run_targets_and_exit_codes(two_agents):
    d = two_agents
    rc, job = d.cli_json("run", "node*", "test.ping")
    assert rc == 0 and sorted(r["agent_id"] for r in job["returns"]) == ["node1", "node2"]
    rc, job = d.cli_json("run", "node2,node1", "test.echo", "hello")
    assert rc == 0 and {r["data"] for r in job["returns"]} == {"hello"}
    rc, job = d.cli_json("run", "all", "test.version")
    assert rc == 0 and len(job["returns"]) == 2
    # A target that matches nothing is an error, never "all".
    r = d.cli("run", "web*", "test.ping")
    assert r.returncode == 1 and "no accepted agent matches target 'web*'" in r.stderr
    # Unknown function and bad arguments: a failed return with a clear error, exit 2.
    rc, job = d.cli_json("run", "node1", "test.nosuch")
    assert rc == 2 and "not allowed" in job["returns"][0]["error"] or "unknown function" in job["returns"][0]["error"]
    rc, job = d.cli_json("run", "node1", "test.sleep", "seconds=forever")
    assert rc == 2 and "bad arguments" in job["returns"][0]["error"]
    # Human output names the agents and the outcome.
    r = d.cli("run", "node*", "test.ping")
    assert r.returncode == 0 and "node1" in r.stdout and "2 of 2 agent(s) succeeded" in r.stdout


def test_allowlist_refuses_functions(deployment):
    deployment.add_agent("node1", functions=["test.ping"])
    deployment.accept("node1")
    rc, job = deployment.cli_json("run", "node1", "facts.items")
    assert rc == 2 and "not allowed" in job["returns"][0]["error"]
    assert "not in this agent's allowlist" in deployment.agents["node1"].log_text()


def test_job_timeout_is_reported(two_agents):
    d = two_agents
    started = time.monotonic()
    rc, job = d.cli_json("run", "node1", "test.sleep", "seconds=30", "--timeout", "1")
    assert time.monotonic() - started < 10
    ret = job["returns"][0]
    # The agent's own per-job timeout fails the job; the master stores that return.
    assert rc == 2 and ret["status"] == "returned" and ret["success"] is False and "timed out" in ret["error"]


def test_reject_and_delete(two_agents):
    d = two_agents
    assert d.cli("keys", "reject", "node2", "--include-rejected").returncode == 0
    r = d.cli("run", "node2", "test.ping")
    assert r.returncode == 1 and "no accepted agent" in r.stderr
    rc, job = d.cli_json("run", "*", "test.ping")
    assert rc == 0 and [r["agent_id"] for r in job["returns"]] == ["node1"]
    # Restarted, a rejected agent cannot even complete the handshake.
    d.agents["node2"].kill()
    d.agents["node2"].start()
    wait_for(lambda: "master refused this agent's key" in d.agents["node2"].log_text(), what="agent to log the refusal")
    assert "refused CURVE handshake" in d.master.log_text()
    # Deleting the key lets the agent register again, as pending.
    assert d.cli("keys", "delete", "node2").returncode == 0
    d.agents["node2"].kill()
    d.agents["node2"].start()
    d.wait_agent_state("node2", "pending")


def test_agent_down_then_back(two_agents):
    d = two_agents
    d.agents["node2"].kill()
    d.wait_agent_state("node2", "down", timeout=10)
    rc, job = d.cli_json("run", "*", "test.ping", "--timeout", "2")
    by_id = {r["agent_id"]: r for r in job["returns"]}
    assert rc == 2
    assert by_id["node1"]["status"] == "returned"
    assert by_id["node2"]["status"] in ("no_return", "not_connected")
    # The job record keeps it: not silently dropped.
    rc, shown = d.cli_json("jobs", "show", job["jid"])
    assert {r["agent_id"]: r["status"] for r in shown["returns"]}["node2"] in ("no_return", "not_connected")
    d.agents["node2"].start()
    d.wait_agent_state("node2", "up")
    rc, job = d.cli_json("run", "*", "test.ping")
    assert rc == 0


def test_jobs_list_and_show(two_agents):
    d = two_agents
    rc, job = d.cli_json("run", "*", "test.ping")
    rc, rows = d.cli_json("jobs", "list")
    assert rc == 0 and rows[0]["jid"] == job["jid"] and rows[0]["returned"] == 2
    r = d.cli("jobs", "show", "../../etc/passwd")
    assert r.returncode == 1 and "not a job id" in r.stderr
    r = d.cli("jobs", "show", "20990101000000000000-deadbeef")
    assert r.returncode == 1 and "no job" in r.stderr


def test_master_not_running(tmp_path):
    from .procs import Deployment

    d = Deployment(tmp_path)
    r = d.cli("agents")
    assert r.returncode == 1 and "master is not running" in r.stderr
