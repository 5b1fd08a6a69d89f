"""Scheduled drift correction with real processes: a managed file changed by hand is
reported (policy report) and put back (policy fix); schedules survive a master restart,
missed runs are coalesced into one, and a paused schedule does not run."""

from __future__ import annotations

import time

import pytest
import yaml

from .procs import Deployment, wait_for

pytestmark = pytest.mark.e2e

MOTD = {"motd": {"file.managed": [{"name": "/etc/motd"}, {"contents": "managed by saline\n"}, {"makedirs": True}]}}


@pytest.fixture
def drift_deployment(tmp_path):
    d = Deployment(tmp_path)
    (tmp_path / "states").mkdir()
    (tmp_path / "states" / "motd.sls").write_text(yaml.safe_dump(MOTD))
    try:
        d.start_master()
        d.add_agent("node1")
        d.accept("node1")
        rc, job = d.cli_json("apply", "node1", "motd")
        assert rc == 0, job
        yield d
    finally:
        d.close()


def motd(d: Deployment):
    return d.agent_dirs["node1"] / "root" / "etc" / "motd"


def reports(d: Deployment, schedule: str) -> list[dict]:
    rc, rows = d.cli_json("events", "--tag", "saline/drift/*", "--limit", "1000")
    assert rc == 0, rows
    return [e for e in rows if e["data"].get("schedule") == schedule]


def drift(d: Deployment) -> tuple[int, list[dict]]:
    return d.cli_json("drift")


def test_report_then_fix(drift_deployment):
    d = drift_deployment
    rc, row = d.cli_json("schedule", "add", "motd-report", "node1", "--states", "motd", "--every", "1h")
    assert rc == 0 and row["policy"] == "report" and row["next_run"] > time.time() + 3500
    # --out yaml, as every other command takes it (this printed the text table before).
    listed = d.cli("--out", "yaml", "schedule", "list")
    assert listed.returncode == 0 and [r["name"] for r in yaml.safe_load(listed.stdout)] == ["motd-report"]
    assert drift(d) == (0, [])
    motd(d).write_text("edited by hand\n")
    changed_at = time.time()
    rc, started = d.cli_json("schedule", "run-now", "motd-report")
    assert rc == 0 and started["jid"]
    rc, rows = wait_for(lambda: (r := drift(d))[1] and r, 20, 0.3, "drift to be recorded")
    assert rc == 2  # drift found and not fixed
    [row] = rows
    assert (row["agent_id"], row["item"], row["fun"], row["sls"], row["status"]) == \
        ("node1", "motd", "file.managed", "motd", "drifted")
    assert "-edited by hand" in row["changes"]["diff"] and "+managed by saline" in row["changes"]["diff"]
    assert changed_at - 1 < row["since"] < time.time()
    assert motd(d).read_text() == "edited by hand\n"  # report only
    first_since = row["since"]
    wait_for(lambda: reports(d, "motd-report"), 10, 0.3, "the run's report event")
    # A second run keeps "since" (still the same drift).
    d.cli_json("schedule", "run-now", "motd-report")
    wait_for(lambda: len(reports(d, "motd-report")) == 2, 20, 0.3, "the second report")
    assert drift(d)[1][0]["since"] == first_since
    human = d.cli("drift").stdout
    assert "node1 motd" in human and "edited by hand" in human

    rc, _ = d.cli_json("schedule", "add", "motd-fix", "node1", "--states", "motd", "--every", "1h", "--policy", "fix")
    assert rc == 0
    d.cli_json("schedule", "run-now", "motd-fix")
    wait_for(lambda: motd(d).read_text() == "managed by saline\n", 30, 0.3, "the fix to put the file back")
    wait_for(lambda: drift(d) == (0, [r for r in drift(d)[1] if r["status"] == "fixed"]) and drift(d)[1], 20, 0.3,
             "the drift to show as fixed")
    fixed = [e for e in reports(d, "motd-fix") if e["tag"] == "saline/drift/fixed"]
    assert fixed and fixed[0]["data"]["states"] == ["motd"]
    # Converged: the next runs find nothing.
    d.cli_json("schedule", "run-now", "motd-report")
    d.cli_json("schedule", "run-now", "motd-fix")
    wait_for(lambda: drift(d) == (0, []), 20, 0.3, "no drift left")


def test_schedule_runs_survives_restart_coalesces_and_pauses(drift_deployment):
    d = drift_deployment
    rc, row = d.cli_json("schedule", "add", "every10", "node1", "--states", "motd", "--every", "10s")
    assert rc == 0
    motd(d).write_text("edited\n")
    wait_for(lambda: reports(d, "every10"), 25, 0.5, "the first scheduled run")
    assert drift(d)[1][0]["item"] == "motd"
    # Master down for three or more intervals: the missed runs become one, not three.
    time.sleep(2)  # let an in-flight run report
    n0 = len(reports(d, "every10"))
    d.master.stop()
    time.sleep(35)
    d.start_master()
    rc, rows = d.cli_json("schedule", "list")
    assert rc == 0 and [r["name"] for r in rows] == ["every10"] and rows[0]["next_run"]
    time.sleep(4)
    after = len(reports(d, "every10")) - n0
    assert 1 <= after <= 2, after  # the coalesced run (+ at most one regular slot in these 4 s)
    # Paused: no runs, also across a restart.
    rc, row = d.cli_json("schedule", "pause", "every10")
    assert rc == 0 and row["paused"] and row["next_run"] is None
    d.master.stop()
    d.start_master()
    n_paused = len(reports(d, "every10"))
    time.sleep(12)
    assert len(reports(d, "every10")) == n_paused
    rc, rows = d.cli_json("schedule", "list")
    assert rows[0]["paused"] is True
    rc, row = d.cli_json("schedule", "resume", "every10")
    assert rc == 0 and not row["paused"] and row["next_run"]
    assert d.cli_json("schedule", "remove", "every10")[0] == 0
    assert d.cli_json("schedule", "list") == (0, [])


def test_schedule_errors(drift_deployment):
    d = drift_deployment
    for args, message in [
        (("add", "x", "node9", "--every", "1h"), "no accepted agent matches"),
        (("add", "x", "node1", "--every", "1s"), "shorter than 10s"),
        (("add", "x", "node1", "--cron", "61 * * * *"), "cron"),
        (("add", "x", "node1"), "exactly one of --every and --cron"),
        (("pause", "nope"), "no schedule nope"),
    ]:
        r = d.cli("schedule", *args)
        assert r.returncode == 1 and message in r.stderr, (args, r.stderr)
