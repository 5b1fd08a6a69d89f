"""master → agents on the lab: a saline-master on the host, a saline-agent inside each
node (in the node's namespaces, started with Lab.start_agent), connected over ZeroMQ
``ipc://`` sockets in the lab's shared directory (path sockets work across network
namespaces). A Pacemaker state tree is applied through the master to node1 (the CIB
is cluster-wide, so cluster configuration targets one node) and read back on node2.
"""

from __future__ import annotations

import shutil

import yaml
import pytest

from saline.agent.config import agent_config_in
from saline.states.system.cib import QUERY_ARGV
from tests.e2e.procs import Deployment

pytestmark = pytest.mark.cluster

STATES = {
    "agent_probe": {"pacemaker.primitive": [
        {"agent": "ocf:pacemaker:Dummy"},
        {"ops": [{"name": "monitor", "interval": "10s", "timeout": "20s"}, {"name": "start", "timeout": "60s"}]},
    ]},
    "agent_probe_prefers_node2": {"pacemaker.location": [
        {"resource": "agent_probe"}, {"node": "node2"}, {"score": 50}, {"require": [{"pacemaker": "agent_probe"}]},
    ]},
}


@pytest.fixture(scope="module")
def deployment(lab, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("agents")
    shared = lab.shared_dir
    d = Deployment(tmp_path, bind=f"ipc://{shared}/master.sock", bootstrap_bind=f"ipc://{shared}/bootstrap.sock",
                   enrol_bind=f"ipc://{shared}/enrol.sock")
    (tmp_path / "states").mkdir()
    (tmp_path / "states" / "pcmk.sls").write_text(yaml.safe_dump(STATES))
    pids = {}
    try:
        d.start_master()
        for node in lab.nodes:
            home = lab.node_shared_dir(node) / "agent"
            shutil.rmtree(home, ignore_errors=True)  # no master key pinned by an earlier run
            home.mkdir(parents=True)
            cfg = home / "agent.yaml"
            cfg.write_text(yaml.safe_dump(agent_config_in(
                home, node, f"ipc://{shared}/master.sock", f"ipc://{shared}/bootstrap.sock",
                master_enrol=f"ipc://{shared}/enrol.sock",
                heartbeat_interval=0.5, reconnect_max=1.0)))
            pids[node] = lab.start_agent(node, cfg)
        d.accept(*lab.nodes)
        yield d
    finally:
        for node, pid in pids.items():
            lab.stop_agent(node, pid)
        d.close()
        for node in lab.nodes:
            shutil.rmtree(lab.node_shared_dir(node) / "agent", ignore_errors=True)
        lab.exec("node1", ["cibadmin", "--delete", "--scope", "constraints", "--xml-text",
                           '<rsc_location id="agent_probe_prefers_node2"/>'])
        lab.exec("node1", ["crm_resource", "--resource", "agent_probe", "--set-parameter", "target-role", "--meta",
                           "--parameter-value", "Stopped"])
        lab.exec("node1", ["crm_resource", "--wait"], timeout=60)
        lab.exec("node1", ["cibadmin", "--delete", "--scope", "resources", "--xml-text", '<primitive id="agent_probe"/>'])


def apply(d: Deployment, *extra: str) -> list[dict]:
    """The agent's per-state results (RunResult.results)."""
    rc, job = d.cli_json("apply", *extra, "node1", "pcmk", timeout=120)
    ret = job["returns"][0]
    assert ret["agent_id"] == "node1" and ret["status"] == "returned", job
    return ret["data"]["results"]


def results(data: list[dict]) -> dict[str, dict]:
    return {r["id"]: r for r in data}


def test_agents_run_inside_the_nodes(lab, deployment):
    rc, job = deployment.cli_json("run", "all", "test.ping")
    assert rc == 0 and sorted(r["agent_id"] for r in job["returns"]) == ["node1", "node2"]
    for node in lab.nodes:
        assert any("saline-agent" in " ".join(lab._cmdline(p)) for p in lab.pids(node)), f"no agent in {node}"


def test_pacemaker_states_through_master_and_agent(lab, deployment):
    dry = results(apply(deployment, "--test"))
    assert dry["agent_probe"]["result"] is None and "diff" in dry["agent_probe"]["changes"]
    # `saline apply --test` simulated the would-be CIB on the live cluster (crm_simulate); this
    # lab has STONITH on and no fencing device, so Pacemaker would start nothing, and says so
    assert dry["agent_probe"]["changes"]["simulation"] == ["no resource actions"], dry["agent_probe"]["changes"]
    assert 'id="agent_probe"' not in lab.exec("node2", QUERY_ARGV, check=True).stdout
    first = results(apply(deployment))
    assert all(r["result"] is True and r["changes"] for r in first.values()), first
    again = results(apply(deployment))
    assert all(r["result"] is True and not r["changes"] for r in again.values()), again
    cib2 = lab.exec("node2", QUERY_ARGV, check=True).stdout
    assert 'id="agent_probe"' in cib2 and 'id="agent_probe_prefers_node2"' in cib2
