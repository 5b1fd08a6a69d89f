"""Events end to end with real processes: the shipped alert agent script → the agent's
alert socket → signed, spooled event → master store → reactor → ``saline events``."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from .procs import BIN, Deployment, wait_for

pytestmark = pytest.mark.e2e

RESOURCE_START = {"kind": "resource", "node": "node1", "rsc": "res_lxc_ct1", "task": "start", "rc": "0",
                  "target_rc": "0", "status": "0", "desc": "ok", "node_sequence": "2", "interval": "0",
                  "exec_time": "9", "version": "2.1.5"}


@pytest.fixture
def public_dir():
    """A directory hacluster and other users can traverse (pytest's tmp dirs are 0700)."""
    d = Path(tempfile.mkdtemp(prefix="saline-evt-"))
    d.chmod(0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def start(tmp_path: Path, public_dir: Path, reactions: dict | None = None, **agent_cfg) -> Deployment:
    d = Deployment(tmp_path)
    if reactions is not None:
        (d.master_dir / "reactor.d").mkdir()
        (d.master_dir / "reactor.d" / "test.yaml").write_text(yaml.safe_dump(reactions))
    d.start_master()
    d.add_agent("node1", alert_socket=str(public_dir / "node1-events.sock"),
                alert_agent_path=str(public_dir / "pacemaker-alert"), **agent_cfg)
    d.accept("node1")
    return d


@pytest.fixture
def events_deployment(tmp_path, public_dir):
    d = start(tmp_path, public_dir)
    try:
        yield d
    finally:
        d.close()


def alert(public_dir: Path, fields: dict, user: str | None = None, extra_env: dict | None = None):
    """Run the installed alert agent like Pacemaker does: CRM_alert_* in the environment."""
    env = {"PATH": "/usr/bin:/bin", **{f"CRM_alert_{k}": str(v) for k, v in fields.items()},
           "CRM_alert_recipient": str(public_dir / "node1-events.sock"), **(extra_env or {})}
    argv = [str(public_dir / "pacemaker-alert")]
    if user:
        import pwd

        argv = ["setpriv", f"--reuid={user}", f"--regid={pwd.getpwnam(user).pw_gid}", "--clear-groups", *argv]
    started = time.monotonic()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=10)
    return done, time.monotonic() - started


def events(d: Deployment, *args: str) -> list[dict]:
    rc, rows = d.cli_json("events", "--limit", "1000", *args)
    assert rc == 0, rows
    return rows


def wait_events(d: Deployment, tag: str, n: int = 1, timeout: float = 15) -> list[dict]:
    return wait_for(lambda: (rows := events(d, "--tag", tag)) and len(rows) >= n and rows, timeout, 0.2,
                    f"{n} event(s) {tag}")


def spooled_events(d: Deployment, agent: str) -> int:
    with sqlite3.connect(d.agent_dirs[agent] / "state" / "agent.sqlite") as conn:
        return conn.execute("SELECT COUNT(*) FROM event_spool").fetchone()[0]


def test_agent_start_and_alert_reach_the_master_once(events_deployment, public_dir):
    d = events_deployment
    [start_ev] = wait_events(d, "saline/agent/start")
    assert start_ev["agent_id"] == "node1" and start_ev["data"]["pid"] == d.agents["node1"].p.pid
    assert (public_dir / "pacemaker-alert").stat().st_mode & 0o777 == 0o755

    done, took = alert(public_dir, RESOURCE_START)
    assert done.returncode == 0, done.stderr
    assert took < 1.0  # the alert agent never waits for saline
    [ev] = wait_events(d, "pacemaker/resource/start")
    assert ev["seq"] > start_ev["seq"] and ev["agent_id"] == "node1"
    assert ev["data"] == {"kind": "resource", "node": "node1", "rsc": "res_lxc_ct1", "task": "start", "rc": 0,
                          "target_rc": 0, "status": 0, "desc": "ok", "crm_node_sequence": 2, "interval": 0,
                          "exec_time": 9, "version": "2.1.5"}
    wait_for(lambda: spooled_events(d, "node1") == 0, 10, 0.2, "the agent's event spool to empty (acked)")
    assert len(events(d)) == 2  # stored once each


def test_hostile_alert_environment(events_deployment, public_dir):
    d = events_deployment
    wait_events(d, "saline/agent/start")
    hostile = {**RESOURCE_START, "rsc": "x" * 100_000, "desc": "ok\nFAKE kind=node\x1b[31m",
               "task": "start\nstop", "injected": "yes"}
    assert alert(public_dir, hostile, extra_env={"CRM_alert_tag": "saline/agent/start"})[0].returncode == 0
    assert alert(public_dir, {**RESOURCE_START, "kind": "evil"})[0].returncode == 0
    assert alert(public_dir, {**RESOURCE_START, "rc": "0; rm -rf /"})[0].returncode == 0
    many = {f"f{i}": "v" * 1024 for i in range(200)}
    assert alert(public_dir, {**RESOURCE_START, **many})[0].returncode == 0
    # Not JSON at all, straight onto the socket.
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(b"\xff" * 60000, str(public_dir / "node1-events.sock"))
        s.sendto(b"[" * 50000, str(public_dir / "node1-events.sock"))
        # Straight to the socket, past the script: extra keys must not become event fields.
        s.sendto(json.dumps({**RESOURCE_START, "agent_id": "node2", "tag": "saline/agent/start", "seq": "1",
                             "rsc": "direct"}).encode(), str(public_dir / "node1-events.sock"))
    done, _ = alert(public_dir, RESOURCE_START)
    assert done.returncode == 0
    rows = wait_events(d, "pacemaker/resource/*", 4)
    assert d.agents["node1"].alive
    tags = [e["tag"] for e in rows]
    # The hostile one (task with a newline → "other"), the one with 200 extra variables, the direct one, the good one.
    assert tags == ["pacemaker/resource/other"] + ["pacemaker/resource/start"] * 3, tags
    assert rows[2]["agent_id"] == "node1" and rows[2]["data"]["rsc"] == "direct" and "seq" not in rows[2]["data"]
    first = rows[0]["data"]
    assert set(first) <= {"kind", "node", "rsc", "task", "rc", "target_rc", "status", "desc", "crm_node_sequence",
                          "interval", "exec_time", "version"}
    assert first["desc"] == "ok\\x0aFAKE kind=node\\x1b[31m" and len(first["rsc"]) <= 513
    log = d.agents["node1"].log_text()
    assert "unknown alert kind 'evil'" in log and "rc is not a number" in log and "not JSON" in log
    # The CLI prints them without raw control characters.
    out = d.cli("events").stdout
    assert "\x1b" not in out and "ok" in out


def test_alert_socket_admits_only_root_and_hacluster(events_deployment, public_dir):
    d = events_deployment
    sock = public_dir / "node1-events.sock"
    st = sock.stat()
    assert st.st_mode & 0o777 == 0o600 and st.st_uid == int(subprocess.check_output(["id", "-u", "hacluster"]))
    done, _ = alert(public_dir, {**RESOURCE_START, "rsc": "from_nobody"}, user="nobody")
    assert done.returncode == 1 and "Permission denied" in done.stderr
    done, _ = alert(public_dir, {**RESOURCE_START, "rsc": "from_hacluster"}, user="hacluster")
    assert done.returncode == 0, done.stderr
    [ev] = wait_events(d, "pacemaker/resource/start")
    assert ev["data"]["rsc"] == "from_hacluster"
    assert not any(e["data"].get("rsc") == "from_nobody" for e in events(d))


def test_events_wait_out_a_master_restart_and_arrive_once_in_order(events_deployment, public_dir):
    d = events_deployment
    wait_events(d, "saline/agent/start")
    d.master.stop()
    for i in range(1, 21):
        assert alert(public_dir, {**RESOURCE_START, "node_sequence": str(i), "rsc": f"r{i}"})[0].returncode == 0
    wait_for(lambda: spooled_events(d, "node1") == 20, 10, 0.1, "20 spooled events")
    d.start_master()
    rows = wait_events(d, "pacemaker/resource/start", 20, timeout=30)
    assert [e["data"]["crm_node_sequence"] for e in rows] == list(range(1, 21)), [(e["id"], e["seq"], e["data"]["crm_node_sequence"]) for e in rows]
    seqs = [e["seq"] for e in rows]
    assert seqs == sorted(seqs) and len(set(seqs)) == 20
    wait_for(lambda: spooled_events(d, "node1") == 0, 15, 0.2, "the spool to empty")
    time.sleep(1.5)  # a resend round: nothing is stored twice
    assert len(events(d, "--tag", "pacemaker/*")) == 20


def test_events_filters_and_follow(events_deployment, public_dir):
    d = events_deployment
    wait_events(d, "saline/agent/start")
    follow = subprocess.Popen([str(BIN / "saline"), "--socket", str(d.socket), "events", "--follow",
                               "--tag", "pacemaker/resource/*", "--json"], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        alert(public_dir, {**RESOURCE_START, "rsc": "followed"})
        line = follow.stdout.readline()
        assert json.loads(line)["data"]["rsc"] == "followed"
    finally:
        follow.kill()
        follow.wait()
    assert events(d, "--since", "1h") and not events(d, "--since", str(time.time() + 60))
    assert [e["tag"] for e in events(d, "--tag", "saline/*")] == ["saline/agent/start"]
    bad = d.cli("events", "--since", "yesterday-ish")
    assert bad.returncode == 1 and "10m / 2h / 1d" in bad.stderr


def test_failed_state_run_raises_an_event(events_deployment, public_dir):
    d = events_deployment
    states = d.base / "states"
    states.mkdir(exist_ok=True)
    (states / "broken.sls").write_text(yaml.safe_dump({"broken": {"cmd.run": [{"name": "/bin/false"}]}}))
    rc, job = d.cli_json("apply", "node1", "broken")
    assert rc == 2
    [ev] = wait_events(d, "saline/state/failed")
    assert ev["data"]["jid"] == job["jid"] and ev["data"]["failed"] == ["broken"] and ev["data"]["failed_count"] == 1


REACTIONS = {
    "clusters": {"ha1": ["node1", "node2"]},
    "reactions": [
        {"name": "echo-on-node", "match": {"tag": "pacemaker/resource/start", "rsc": "res_*", "rc": 0},
         "run": {"target": "{node}", "fun": "test.echo", "args": ["{rsc} started"]}, "timeout": 10},
        {"name": "ping-peer", "match": {"tag": "pacemaker/resource/start", "rsc": "res_*"},
         "run": {"target": "peer", "fun": "test.ping"}, "timeout": 5},
        {"name": "local-note", "match": {"tag": "pacemaker/resource/start", "rsc": "res_*"},
         "command": ["/bin/sh_placeholder"], "timeout": 10, "debounce": 60},
        {"name": "disabled", "match": {"tag": "pacemaker/*"}, "run": {"target": "*", "fun": "test.ping"},
         "enabled": False},
    ],
}


def test_reactor_runs_actions_and_stores_outcomes(tmp_path, public_dir):
    note = public_dir / "note"
    reactions = json.loads(json.dumps(REACTIONS))
    reactions["reactions"][2]["command"] = ["/usr/bin/touch", str(note)]
    d = start(tmp_path, public_dir, reactions)
    try:
        d.add_agent("node2")
        d.accept("node2")
        wait_events(d, "saline/agent/start", 2)
        alert(public_dir, RESOURCE_START)
        alert(public_dir, {**RESOURCE_START, "node_sequence": "3"})  # debounced for local-note
        alert(public_dir, {**RESOURCE_START, "rsc": "other", "node_sequence": "4"})  # matches nothing

        def settled():
            rows = events(d, "--tag", "pacemaker/*")
            done = len(rows) == 3 and all(r["status"] != "running" for e in rows for r in e["reactions"])
            return done and rows

        first, second, third = wait_for(settled, 20, 0.3, "reactions to finish")
        by_name = {r["name"]: r for r in first["reactions"]}
        assert set(by_name) == {"echo-on-node", "ping-peer", "local-note"}
        assert all(r["status"] == "done" and r["result"] is True for r in by_name.values()), by_name
        assert 0 <= by_name["echo-on-node"]["latency"] < 2.0
        rc, job = d.cli_json("jobs", "show", by_name["echo-on-node"]["jid"])
        assert [(r["agent_id"], r["data"]) for r in job["returns"]] == [("node1", "res_lxc_ct1 started")]
        rc, job = d.cli_json("jobs", "show", by_name["ping-peer"]["jid"])
        assert [r["agent_id"] for r in job["returns"]] == ["node2"]
        assert note.exists()
        # Debounced: local-note did not run again (and a debounced match is not stored per event).
        assert "local-note" not in {r["name"] for r in second["reactions"]}
        assert {r["name"] for r in second["reactions"]} == {"echo-on-node", "ping-peer"}
        assert third["reactions"] == []
        assert "echo-on-node done" in d.cli("events").stdout
    finally:
        d.close()


@pytest.mark.parametrize("text, expected", [
    ("reactions:\n  - name: x\n    match: {tag: a}\n    run: {target: '*', fun: test.ping}\n    tiemout: 3\n",
     "test.yaml:2: reactions.0.tiemout: Extra inputs are not permitted"),
    ("reactions:\n  - name: ok\n    match: {tag: a}\n    command: [/bin/true]\n  - name: bad\n    match: {tag: a}\n"
     "    command: [crm_resource, --move, -r, grp, -N, node2]\n",
     "test.yaml:5: reaction 'bad' refused: crm_resource --move would start, stop or move a Pacemaker resource"),
    ("reactions:\n  - name: x\n    match: {tag: a, colour: red}\n    command: [/bin/true]\n",
     "test.yaml:3: reactions.0.match: Value error, cannot match on colour"),
    ("reactions: [\n", "test.yaml:2: not valid YAML"),
])
def test_bad_reaction_file_refuses_the_start(tmp_path, text, expected):
    d = Deployment(tmp_path)
    (d.master_dir / "reactor.d").mkdir()
    (d.master_dir / "reactor.d" / "test.yaml").write_text(text)
    done = subprocess.run(d.master.argv, capture_output=True, text=True, timeout=30)
    assert done.returncode == 1 and expected in done.stderr, done.stderr


def test_an_event_over_the_masters_limit_is_bounded_by_the_agent_not_resent_forever(tmp_path):
    """#11 (c): the agent had no size cap on events: one over the master's max_event_frame
    was refused unacked and resent forever. Now the master's welcome tells the agent its
    limit and the agent bounds the event before signing it (here: 20 failed states with
    long ids do not fit 2 KiB, so the data says why it was left out)."""
    d = Deployment(tmp_path, max_event_frame=2048)
    try:
        d.start_master()
        d.add_agent("node1")
        d.accept("node1")
        states = d.base / "states"
        states.mkdir()
        (states / "many.sls").write_text(yaml.safe_dump(
            {f"fails-{i:02d}-{'x' * 180}": {"cmd.run": [{"name": "/bin/false"}]} for i in range(20)}))
        rc, job = d.cli_json("apply", "node1", "many")
        assert rc == 2
        [ev] = wait_events(d, "saline/state/failed")
        assert ev["data"] == {"saline_error": ev["data"]["saline_error"]}
        assert "left out by the agent: the event must fit the master's max_event_frame of 2048 bytes" \
            in ev["data"]["saline_error"]
        wait_for(lambda: spooled_events(d, "node1") == 0, what="the agent's event spool to empty (acked)")
        assert "exceeds the limit of 2048 for event messages" not in d.master.log_text()
        assert "was over the master's limit of 2048 bytes: data left out" in d.agents["node1"].log_text()
    finally:
        d.close()
