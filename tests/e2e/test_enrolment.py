"""Enrolment on its own port (issue 11, item 1): a key that is not accepted says hello on
the master's enrolment port, and moves to the agent port once accepted; an accepted agent
goes straight to the agent port. Real master and agent processes."""

import pytest

from .procs import Deployment, wait_for

pytestmark = pytest.mark.e2e

ENROLLING = "saying hello on the master's enrolment port"
MOVED = "key accepted by the master; connecting to the agent port"


def test_new_agent_enrols_then_moves_and_an_accepted_agent_never_enrols_again(deployment):
    d = deployment
    agent = d.add_agent("node1")
    d.wait_agent_state("node1", "pending")
    assert ENROLLING in agent.log_text() and "key is pending on the master" in agent.log_text()
    assert d.cli("keys", "accept", "node1").returncode == 0
    d.wait_agent_state("node1", "up")
    assert MOVED in agent.log_text()
    rc, job = d.cli_json("run", "node1", "test.ping")
    assert rc == 0, job
    # Restarted with its key accepted: straight to the agent port, no enrolment.
    agent.stop()
    agent.log.write_text("")
    agent.start()
    d.wait_agent_state("node1", "up")
    wait_for(lambda: "connected to master" in agent.log_text(), what="the agent to connect")
    assert ENROLLING not in agent.log_text()
    assert d.cli_json("run", "node1", "test.ping")[0] == 0


def test_auto_accept_moves_a_new_agent_to_the_agent_port_by_itself(tmp_path):
    d = Deployment(tmp_path, auto_accept=True)
    try:
        d.start_master()
        agent = d.add_agent("node1")
        d.wait_agent_state("node1", "up")
        assert ENROLLING in agent.log_text() and MOVED in agent.log_text()
        assert d.cli_json("run", "node1", "test.ping")[0] == 0
    finally:
        d.close()


def test_an_agent_whose_key_is_deleted_enrols_again(two_agents):
    d = two_agents
    assert d.cli("keys", "delete", "node2").returncode == 0
    d.agents["node2"].kill()
    d.agents["node2"].start()  # its session on the agent port is refused now
    d.wait_agent_state("node2", "pending")
    assert d.cli("keys", "accept", "node2").returncode == 0
    d.wait_agent_state("node2", "up")
    assert d.cli_json("run", "*", "test.ping")[0] == 0
