"""Failover events and their reactions on the real two-node lab.

A saline-master on the host, a saline-agent inside each node; the alert (saline's alert
agent script, which each agent installs at /run/saline/pacemaker-alert, the node's own
/run) and a Dummy resource preferring node1 are configured through the master with
pacemaker.* states. Killing node1 fails the resource over to node2, whose Pacemaker
runs the alert agent as hacluster; the event reaches the master and the reactions run
on node2: a test.echo and the built-in gratuitous ARP, seen by a listener on node1's
br0 (node1's namespaces outlive its processes).
"""

from __future__ import annotations

import json
import shutil
import time

import pytest
import yaml

from saline.agent.config import agent_config_in
from saline.lab.failover_events import AGENT_ALERT_SETTINGS, arp_listener
from tests.e2e.procs import Deployment

pytestmark = pytest.mark.cluster

RSC = "evt_probe"
GARP_ADDR_HOST = 50  # {public_net}.50: the "container's" address announced after a failover
STATES = {
    # The seed's cluster options (tests/cluster/seed.py): without them nothing starts.
    "cluster-options": {"pacemaker.properties": [{"properties": {"stonith-enabled": False, "no-quorum-policy": "ignore",
                                                                "start-failure-is-fatal": False}}]},
    RSC: {"pacemaker.primitive": [{"agent": "ocf:pacemaker:Dummy"},
                                  {"ops": [{"name": "monitor", "interval": "10s", "timeout": "20s"}]}]},
    f"{RSC}_prefers_node1": {"pacemaker.location": [{"resource": RSC}, {"node": "node1"}, {"score": 100},
                                                     {"require": [{"pacemaker": RSC}]}]},
    # Same id as the seed's alert (tests/cluster/seed.py), so one alert reaches the agents.
    "saline-events": {"pacemaker.alert": [{"path": "/run/saline/pacemaker-alert"},
                                          {"recipients": ["/run/saline/agent-events.sock"]}]},
}

def poll(what: str, ready, timeout: float = 60.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = ready()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(interval)


class EventsLab:
    def __init__(self, lab, d: Deployment):
        self.lab, self.d = lab, d
        self.agent_pids: dict[str, int] = {}

    def start_agent(self, node: str) -> None:
        home = self.lab.node_shared_dir(node) / "evagent"
        cfg = home / "agent.yaml"
        if not cfg.exists():
            shutil.rmtree(home, ignore_errors=True)
            (home / "root").mkdir(parents=True)
            cfg.write_text(yaml.safe_dump(agent_config_in(
                home, node, f"ipc://{self.lab.shared_dir}/evmaster.sock", f"ipc://{self.lab.shared_dir}/evboot.sock",
                master_enrol=f"ipc://{self.lab.shared_dir}/evenrol.sock",
                heartbeat_interval=0.5, reconnect_max=1.0, spool_resend_interval=1.0,
                state_root=str(home / "root"),  # file states land here: the nodes share the host's /etc
                **AGENT_ALERT_SETTINGS)))
        self.agent_pids[node] = self.lab.start_agent(node, cfg)

    def events(self, *args: str) -> list[dict]:
        rc, rows = self.d.cli_json("events", "--limit", "10000", *args)
        assert rc == 0, rows
        return rows


@pytest.fixture(scope="module")
def evlab(lab, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("events-lab")
    shared = lab.shared_dir
    d = Deployment(tmp, bind=f"ipc://{shared}/evmaster.sock", bootstrap_bind=f"ipc://{shared}/evboot.sock",
                   enrol_bind=f"ipc://{shared}/evenrol.sock")
    (tmp / "states").mkdir()
    (tmp / "states" / "evprobe.sls").write_text(yaml.safe_dump(STATES))
    (tmp / "states" / "motd.sls").write_text(yaml.safe_dump(
        {"motd": {"file.managed": [{"name": "/etc/motd"}, {"contents": "managed by saline\n"}, {"makedirs": True}]}}))
    garp_addr = f"{lab.public_net}.{GARP_ADDR_HOST}"
    (d.master_dir / "reactor.d").mkdir()
    (d.master_dir / "reactor.d" / "failover.yaml").write_text(yaml.safe_dump({
        "clusters": {"lab": list(lab.nodes)},
        "reactions": [
            {"name": "garp", "match": {"tag": "pacemaker/resource/start", "rsc": RSC, "rc": 0},
             "garp": {"interface": "br0", "addresses": {RSC: [garp_addr]}}},
            {"name": "hello-node", "match": {"tag": "pacemaker/resource/start", "rsc": RSC, "rc": 0},
             "run": {"target": "{node}", "fun": "test.echo", "args": ["{rsc} is on {node}"]}},
        ]}))
    el = EventsLab(lab, d)
    try:
        d.start_master()
        for node in lab.nodes:
            el.start_agent(node)
        d.accept(*lab.nodes)
        rc, job = d.cli_json("apply", "node1", "evprobe", timeout=120)
        assert rc == 0, job
        poll(f"{RSC} on node1", lambda: lab.resource_location("node2", RSC) == ["node1"], 60)
        el.garp_addr = garp_addr
        yield el
    finally:
        for node in lab.nodes:
            if not lab.running(node):
                lab.start(node)
        for node, pid in el.agent_pids.items():
            lab.stop_agent(node, pid)
        d.close()
        for node in lab.nodes:
            shutil.rmtree(lab.node_shared_dir(node) / "evagent", ignore_errors=True)
        lab.exec("node1", ["cibadmin", "--delete", "--scope", "constraints", "--xml-text",
                           f'<rsc_location id="{RSC}_prefers_node1"/>'])
        lab.exec("node1", ["crm_resource", "--resource", RSC, "--set-parameter", "target-role", "--meta",
                           "--parameter-value", "Stopped"])
        lab.exec("node1", ["crm_resource", "--wait"], timeout=60)
        lab.exec("node1", ["cibadmin", "--delete", "--scope", "resources", "--xml-text", f'<primitive id="{RSC}"/>'])
        lab.exec("node1", ["cibadmin", "--delete", "--scope", "alerts", "--xml-text", '<alert id="saline-events"/>'])


def test_failover_start_event_reaches_the_master_and_reactions_run_on_node2(evlab):
    lab, d = evlab.lab, evlab.d
    before = max((e["id"] for e in evlab.events()), default=0)
    killed_at = time.time()
    lab.kill("node1")
    listener = arp_listener(lab, "node1", 30)  # node1's netns outlives its processes; its br0 is the peer's LAN
    try:
        def started_event():
            rows = [e for e in evlab.events("--tag", "pacemaker/resource/start")
                    if e["id"] > before and e["data"].get("rsc") == RSC]
            return rows and all(r["status"] != "running" for r in rows[0]["reactions"]) and len(rows[0]["reactions"]) == 2 and rows[0]

        ev = poll("the start event on node2 and its reactions", started_event, 60, 0.2)
        arrived = time.time()
    finally:
        time.sleep(1.0)
        listener.terminate()
        out, _ = listener.communicate(timeout=10)
    assert ev["agent_id"] == "node2" and ev["data"]["node"] == "node2" and ev["data"]["rc"] == 0
    reactions = {r["name"]: r for r in ev["reactions"]}
    assert reactions["hello-node"]["status"] == "done" and reactions["hello-node"]["result"] is True, reactions
    assert reactions["garp"]["status"] == "done" and reactions["garp"]["result"] is True, reactions
    rc, job = d.cli_json("jobs", "show", reactions["hello-node"]["jid"])
    assert [(r["agent_id"], r["data"]) for r in job["returns"]] == [("node2", f"{RSC} is on node2")]
    rc, job = d.cli_json("jobs", "show", reactions["garp"]["jid"])
    assert job["fun"] == "net.garp" and job["returns"][0]["data"]["sent"] == {evlab.garp_addr: 3}
    # The reaction started within 500 ms of the agent getting the alert.
    assert all(0 <= r["latency"] < 0.5 for r in reactions.values()), reactions
    packets = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    garps = [p for p in packets if p["spa"] == evlab.garp_addr and p["tpa"] == evlab.garp_addr]
    assert len(garps) >= 3, packets
    print(f"\nfailover → start event at the master: {ev['received_at'] - killed_at:.2f}s; "
          f"reaction started {reactions['garp']['latency'] * 1000:.0f} ms after the agent got the alert; "
          f"first gratuitous ARP on the peer's LAN {min(p['at'] for p in garps) - killed_at:.2f}s after the kill "
          f"(event visible to the CLI {arrived - killed_at:.2f}s)")
    lab.start("node1")
    evlab.start_agent("node1")
    d.wait_agent_state("node1", "up", 30)


def test_master_down_during_a_failover_loses_nothing(evlab):
    lab, d = evlab.lab, evlab.d
    poll(f"{RSC} back on node1", lambda: lab.resource_location("node2", RSC) == ["node1"], 60)
    before = max((e["id"] for e in evlab.events()), default=0)
    d.master.stop()
    lab.kill("node1")
    poll(f"{RSC} on node2", lambda: lab.resource_location("node2", RSC) == ["node2"], 60)
    time.sleep(2.0)  # the monitor's alert too
    d.start_master()
    poll("node2's events after the restart",
         lambda: any(e["data"].get("rsc") == RSC and e["tag"] == "pacemaker/resource/start"
                     for e in evlab.events() if e["id"] > before), 30, 0.3)
    time.sleep(2.0)  # one more resend round: nothing may be stored twice
    rows = [e for e in evlab.events("--tag", "pacemaker/*") if e["id"] > before and e["agent_id"] == "node2"]
    crm = [e["data"]["crm_node_sequence"] for e in rows]
    seqs = [e["seq"] for e in rows]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs  # once each, in the agent's order
    assert sorted(crm) == list(range(min(crm), max(crm) + 1)), crm  # none of Pacemaker's missing or doubled
    tags = {e["tag"] for e in rows}
    assert {"pacemaker/node/lost", "pacemaker/resource/start"} <= tags, tags
    lab.start("node1")
    evlab.start_agent("node1")


def test_drift_on_a_node_reported_then_fixed_and_kept_across_a_restart(evlab):
    """A managed file changed by hand inside node2 → the scheduled run reports it (policy
    report), a fix run puts it back; the schedule survives a master restart; paused, it
    does not run."""
    lab, d = evlab.lab, evlab.d
    motd = lab.node_shared_dir("node2") / "evagent" / "root" / "etc" / "motd"
    rc, job = d.cli_json("apply", "node2", "motd")
    assert rc == 0, [(r.get("error"), [x.get("comment") for x in (r.get("data") or {}).get("results", [])])
                     for r in job["returns"]]
    assert d.cli_json("schedule", "add", "lab-motd", "node2", "--states", "motd", "--every", "10s")[0] == 0
    motd.write_text("edited on node2 by hand\n")
    rows = poll("the scheduled run to report the drift",
                lambda: [r for r in d.cli_json("drift")[1] if r["item"] == "motd"], 30, 0.5)
    assert rows[0]["agent_id"] == "node2" and "-edited on node2 by hand" in rows[0]["changes"]["diff"]
    assert motd.read_text() == "edited on node2 by hand\n"  # report only
    d.master.stop()
    d.start_master()
    rc, schedules = d.cli_json("schedule", "list")
    assert rc == 0 and [s["name"] for s in schedules] == ["lab-motd"] and schedules[0]["next_run"]
    assert d.cli_json("schedule", "pause", "lab-motd")[0] == 0
    n = len(d.cli_json("events", "--tag", "saline/drift/report", "--limit", "1000")[1])
    time.sleep(12)
    assert len(d.cli_json("events", "--tag", "saline/drift/report", "--limit", "1000")[1]) == n  # paused
    assert d.cli_json("schedule", "add", "lab-motd-fix", "node2", "--states", "motd", "--every", "1h",
                      "--policy", "fix")[0] == 0
    d.cli_json("schedule", "run-now", "lab-motd-fix")
    poll("the fix run to restore the file", lambda: motd.read_text() == "managed by saline\n", 30, 0.3)
    for name in ("lab-motd", "lab-motd-fix"):
        d.cli_json("schedule", "remove", name)
