"""Where an agent enrols: the master's enrolment endpoint from its config."""

import pytest
from pydantic import ValidationError

from saline.agent.config import AgentConfig


def test_enrolment_endpoint_defaults_to_the_masters_host_port_4512():
    assert AgentConfig(id="node1").enrol_endpoint == "tcp://127.0.0.1:4512"
    assert AgentConfig(id="node1", master="tcp://master.example:5510").enrol_endpoint == "tcp://master.example:4512"
    assert AgentConfig(id="node1", master="tcp://[fd00::1]:4510").enrol_endpoint == "tcp://[fd00::1]:4512"
    assert AgentConfig(id="node1", master_enrol="tcp://m:9").enrol_endpoint == "tcp://m:9"


def test_an_ipc_master_needs_its_enrolment_endpoint_set():
    with pytest.raises(ValidationError, match="master_enrol must be set for master 'ipc:///run/m.sock'"):
        AgentConfig(id="node1", master="ipc:///run/m.sock")
    assert AgentConfig(id="node1", master="ipc:///run/m.sock", master_enrol="ipc:///run/e.sock").enrol_endpoint \
        == "ipc:///run/e.sock"
