"""`--batch N|N%` through a real master and five agents: each agent records when its command
starts and ends, so the tests see the window (never more than N at once), that it slides (the
next starts as soon as one returns, not when the whole batch did), --batch-wait, a down
agent counted as failed, and Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .procs import BIN, Deployment, wait_for

pytestmark = pytest.mark.e2e

AGENTS = ["node1", "node2", "node3", "node4", "node5"]
SLOW = {"node1": "5"}  # seconds each agent's command sleeps (default 0.2)


@pytest.fixture(scope="module")
def five(tmp_path_factory):
    base = tmp_path_factory.mktemp("batch")
    d = Deployment(base)
    try:
        d.start_master()
        for aid in AGENTS:
            d.add_agent(aid, functions=["test.*", "cmd.*", "state.*"],
                        state_env={"AID": aid, "DUR": SLOW.get(aid, "0.2")})
        d.accept(*AGENTS)
        (base / "states").mkdir()
        (base / "pillar").mkdir()
        (base / "states" / "top.sls").write_text("base:\n  '*':\n    - mark\n")
        (base / "states" / "mark.sls").write_text("/marked:\n  file.managed:\n    - contents: x\n")
        yield d
    finally:
        d.close()


def record(log: Path) -> str:
    """The command each agent runs: its id, start and end time (epoch seconds) appended to ``log``."""
    return (f'echo "$AID start $(date +%s.%N)" >> {log}; sleep "$DUR"; echo "$AID end $(date +%s.%N)" >> {log}')


def intervals(log: Path) -> dict[str, tuple[float, float]]:
    seen: dict[str, dict[str, float]] = {}
    for line in log.read_text().splitlines():
        aid, what, when = line.split()
        seen.setdefault(aid, {})[what] = float(when)
    return {aid: (t["start"], t["end"]) for aid, t in seen.items()}


def most_at_once(spans: dict[str, tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in spans.values()] + [(e, -1) for _, e in spans.values()])
    running = peak = 0
    for _, step in events:  # an end sorts before a start at the same instant
        running += step
        peak = max(peak, running)
    return peak


def run_cmd(d: Deployment, log: Path, *options: str, target: str = "node*") -> subprocess.CompletedProcess:
    return d.cli("run", target, "cmd.run", record(log), "shell=/bin/sh", *options, timeout=120)


def test_window_is_never_exceeded_and_slides(five, tmp_path) -> None:
    log = tmp_path / "log"
    r = run_cmd(five, log, "--batch", "2", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    jobs = [json.loads(line) for line in r.stdout.splitlines()]  # one job per agent, each as it returned
    assert sorted(j["returns"][0]["agent_id"] for j in jobs) == AGENTS
    assert all(len(j["returns"]) == 1 and j["returns"][0]["success"] for j in jobs)
    assert jobs[0]["returns"][0]["agent_id"] == "node2"  # started beside node1, returned first
    spans = intervals(log)
    assert sorted(spans) == AGENTS
    assert most_at_once(spans) == 2
    # sliding, not fixed batches: node3..node5 ran one after another beside node1
    assert spans["node5"][0] < spans["node1"][1]
    assert "batch: 2 of 5 agent(s) at a time" in r.stderr and "batch: 5 of 5 agent(s) succeeded" in r.stderr


def test_percent_and_batch_wait(five, tmp_path) -> None:
    log = tmp_path / "log"
    r = run_cmd(five, log, "--batch", "20%", "--batch-wait", "0.5", target="node2,node3,node4")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "batch: 1 of 3 agent(s) at a time, 0.5s after each return" in r.stdout
    spans = sorted(intervals(log).values())
    assert most_at_once(dict(enumerate(spans))) == 1
    gaps = [later[0] - earlier[1] for earlier, later in zip(spans, spans[1:])]
    assert all(gap >= 0.5 for gap in gaps), gaps


def test_apply_in_batches_prints_each_agent_and_exits_as_without(five) -> None:
    r = five.cli("apply", "node2,node3,node4", "--test", "--batch", "2", timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("Succeeded: 1") == 3 and all(f"{aid}" in r.stdout for aid in ("node2", "node3", "node4"))
    r = five.cli("apply", "node2,node3", "--test", "--batch", "1", "--out", "salt-json", timeout=120)
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert [list(x) for x in lines] in ([["node2"], ["node3"]], [["node3"], ["node2"]])
    assert lines[0][next(iter(lines[0]))]["file_|-/marked_|-/marked_|-managed"]["result"] is None


def test_bad_batch_values_are_refused(five) -> None:
    for bad in ("0", "x", "0%", "150%"):
        r = five.cli("run", "node*", "test.ping", "--batch", bad)
        assert r.returncode == 1 and "--batch" in r.stderr, (bad, r.stderr)
    r = five.cli("run", "node*", "test.ping", "--batch", "2", "--async")
    assert r.returncode == 1 and "cannot be used with --async" in r.stderr
    r = five.cli("run", "node*", "test.ping", "--batch-wait", "1")
    assert r.returncode == 1 and "--batch-wait needs --batch" in r.stderr


def test_ctrl_c_starts_no_more_and_says_what_ran(five, tmp_path) -> None:
    log = tmp_path / "log"
    proc = subprocess.Popen([str(BIN / "saline"), "--socket", str(five.socket), "run", "node1,node2,node3",
                             "cmd.run", record(log), "shell=/bin/sh", "--batch", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: log.exists() and "node1 start" in log.read_text(), 20, what="node1 to start")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 130, out + err
    assert "running:     node1 (job " in err and "not started: node2, node3" in err
    # node1's job goes on to its end; nothing else was started
    wait_for(lambda: "node1 end" in log.read_text(), 20, what="node1's command to end")
    time.sleep(0.5)
    assert sorted(intervals(log)) == ["node1"]


def test_a_down_agent_counts_as_failed(five, tmp_path) -> None:
    five.agents["node5"].kill()
    five.wait_agent_state("node5", "down")
    log = tmp_path / "log"
    r = run_cmd(five, log, "--batch", "2", "--out", "salt-json", target="node3,node4,node5")
    assert r.returncode == 2, r.stdout + r.stderr
    out = {k: v for line in r.stdout.splitlines() for k, v in json.loads(line).items()}
    assert out["node5"] == "Minion did not return. [Not connected]"
    assert sorted(intervals(log)) == ["node3", "node4"]


def test_an_agent_refused_at_compile_fails_and_the_rest_go_on(five) -> None:
    (five.base / "states" / "picky.sls").write_text(
        "{% if grains['id'] == 'node3' %}{{ no_such_function() }}{% endif %}\n"
        "/picky:\n  file.managed:\n    - contents: ok\n")
    r = five.cli("apply", "node2,node3,node4", "picky", "--test", "--batch", "1", "--json", timeout=120)
    assert r.returncode == 2, r.stdout + r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    refused = [x for x in lines if "error" in x and x.get("agent_id") == "node3"]
    assert len(refused) == 1 and "no_such_function" in refused[0]["error"]
    applied = sorted(x["returns"][0]["agent_id"] for x in lines if "returns" in x)
    assert applied == ["node2", "node4"]
    assert "batch: 2 of 3 agent(s) succeeded" in r.stderr
