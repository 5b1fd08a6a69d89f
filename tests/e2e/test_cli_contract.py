"""The saline CLI's contract (issue 12, items 6, 7 and 10; issue 11, item 10): job ids at
once, --async, jobs wait, Ctrl-C, exit codes, --json anywhere, --out, --state-output,
--version/-h, whole lines in pipes, and agent text that cannot drive the terminal."""

import json
import re
import signal
import subprocess
import time

import pytest
import yaml

from .procs import BIN, wait_for

pytestmark = pytest.mark.e2e

JID = r"\d{20}-[0-9a-f]{8}"


@pytest.mark.parametrize("prog", ["saline", "saline-master", "saline-agent"])
def test_version_and_short_help_on_all_three_commands(prog):
    r = subprocess.run([str(BIN / prog), "--version"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and re.fullmatch(rf"{prog} \d+\.\d+\.\d+\n", r.stdout), r
    r = subprocess.run([str(BIN / prog), "-h"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "usage" in r.stdout.lower(), r


@pytest.mark.parametrize("args", [["run"], ["nosuch"], ["jobs", "show"], ["run", "x", "y", "--timeout", "soon"],
                                  ["apply", "x", "--out", "xml"]])
def test_usage_errors_exit_1_not_2(args, tmp_path):
    r = subprocess.run([str(BIN / "saline"), "--socket", str(tmp_path / "none.sock"), *args], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1 and "Error" in r.stderr and "Traceback" not in r.stderr, r


def test_json_at_any_position_and_out_yaml(two_agents):
    d = two_agents
    outputs = [d.cli(*args) for args in (["--json", "keys", "list"], ["keys", "--json", "list"],
                                         ["keys", "list", "--json"], ["keys", "list", "--out", "json"])]
    assert all(r.returncode == 0 for r in outputs), outputs
    parsed = [json.loads(r.stdout) for r in outputs]
    assert parsed[0] == parsed[1] == parsed[2] == parsed[3] and {k["id"] for k in parsed[0]} == {"node1", "node2"}
    r = d.cli("jobs", "--out", "yaml", "list")
    assert r.returncode == 0 and yaml.safe_load(r.stdout) == []
    r = d.cli("run", "node1", "test.echo", "hi", "--out", "yaml")
    assert r.returncode == 0 and yaml.safe_load(r.stdout)["returns"][0]["data"] == "hi"


def test_jid_at_once_async_wait_and_ctrl_c(two_agents):
    d = two_agents
    r = d.cli("--json", "run", "node1", "test.ping")
    jid = json.loads(r.stdout)["jid"]
    assert r.returncode == 0 and re.search(rf"job {jid} published to 1 agent\(s\)", r.stderr)
    r = d.cli("run", "node1", "test.ping")
    assert r.returncode == 0 and re.match(rf"job {JID} published to 1 agent\(s\)", r.stdout)

    started = time.monotonic()
    rc, out = d.cli_json("run", "node*", "test.sleep", "seconds=2", "--async")
    assert rc == 0 and time.monotonic() - started < 2 and sorted(out["agents"]) == ["node1", "node2"]
    rc, job = d.cli_json("jobs", "wait", out["jid"])
    assert rc == 0 and [r["status"] for r in job["returns"]] == ["returned", "returned"]

    cli = subprocess.Popen([str(BIN / "saline"), "--socket", str(d.socket), "run", "node1", "test.sleep",
                            "seconds=3"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = cli.stdout.readline()  # the jid is printed before the wait
    jid = re.match(rf"job ({JID}) published", first).group(1)
    cli.send_signal(signal.SIGINT)
    out, err = cli.communicate(timeout=10)
    assert cli.returncode == 130, (out, err)
    assert f"job {jid} goes on on the agents" in err and f"saline jobs show {jid}" in err and "Traceback" not in err
    rc, job = d.cli_json("jobs", "wait", jid)
    assert rc == 0 and job["returns"][0]["success"] is True


def test_exit_codes_failed_down_running_and_jobs_list(two_agents):
    d = two_agents
    (d.base / "states").mkdir()
    (d.base / "states" / "ok.sls").write_text("/etc/ok:\n  file.managed:\n    - contents: ok\n    - makedirs: true\n")
    rc, dry = d.cli_json("apply", "node1", "ok", "--test")
    assert rc == 0
    rc, running = d.cli_json("run", "node1", "test.sleep", "seconds=20", "--timeout", "25", "--async")
    # Still running: exit 3 in both formats, not "failed".
    assert d.cli_json("jobs", "show", running["jid"])[0] == 3
    assert d.cli("jobs", "show", running["jid"]).returncode == 3
    d.agents["node2"].stop()
    d.wait_agent_state("node2", "down")
    rc, job = d.cli_json("run", "node*", "test.ping")
    assert rc == 2 and {r["agent_id"]: r["status"] for r in job["returns"]} == {"node1": "returned",
                                                                               "node2": "not_connected"}
    # The same exit code in text and JSON.
    assert d.cli("jobs", "show", job["jid"]).returncode == 2
    rows = {r["jid"]: r for r in d.cli_json("jobs", "list")[1]}
    assert rows[job["jid"]]["failed"] == 1 and rows[job["jid"]]["returned"] == 1
    assert rows[running["jid"]]["failed"] == 0 and rows[running["jid"]]["running"] == 1
    assert rows[dry["jid"]]["test"] is True and rows[job["jid"]]["test"] is False
    # Not a terminal: whole lines, nothing cut, so grep finds them.
    listing = d.cli("jobs", "list").stdout.splitlines()
    line = next(l for l in listing if dry["jid"] in l)
    assert "state.apply (test)" in line and "…" not in "".join(listing)


def test_state_output_full_changes_terse(two_agents):
    d = two_agents
    (d.base / "states").mkdir()
    (d.base / "states" / "two.sls").write_text(
        "/etc/a:\n  file.managed:\n    - contents: a\n    - makedirs: true\n"
        "/etc/b:\n  file.managed:\n    - contents: b\n    - makedirs: true\n")
    (d.agent_dirs["node1"] / "root/etc").mkdir(parents=True)
    (d.agent_dirs["node1"] / "root/etc/a").write_text("a\n")  # /etc/a is already right
    full = d.cli("apply", "node1", "two", "--test").stdout
    changes = d.cli("apply", "node1", "two", "--test", "--state-output", "changes").stdout
    terse = d.cli("--state-output", "terse", "apply", "node1", "two", "--test").stdout
    assert full.count("Function: file.managed") == 2 and "Name: /etc/a - Function" not in full
    assert "Name: /etc/a - Function: file.managed - Result: Clean" in changes
    assert "ID: /etc/b" in changes and "ID: /etc/a" not in changes
    assert "Name: /etc/b - Function: file.managed - Result: Would change" in terse and "ID:" not in terse


def test_agent_text_cannot_drive_the_terminal(two_agents):
    d = two_agents
    # An ESC sequence (set the window title), a BEL, rich markup and a newline, from the agent.
    evil = r'"\e]0;pwned\a[red]x[/red] [link=http://x]y[/link]\ninjected"'
    r = d.cli("run", "node1", "test.echo", evil)
    assert r.returncode == 0
    assert "\x1b" not in r.stdout and "\x07" not in r.stdout
    assert "\\x1b]0;pwned\\x07[red]x[/red] [link=http://x]y[/link]" in r.stdout
    # JSON carries the data as it is (escaped by JSON itself).
    rc, job = d.cli_json("run", "node1", "test.echo", evil)
    assert job["returns"][0]["data"] == "\x1b]0;pwned\x07[red]x[/red] [link=http://x]y[/link]\ninjected"


def test_bad_yaml_argument_is_one_clear_line(two_agents):
    r = two_agents.cli("run", "node1", "test.echo", "text=[unclosed")
    assert r.returncode == 1 and "is not a valid YAML value" in r.stderr and "Traceback" not in r.stderr


def test_agents_says_what_to_do_about_pending_and_down_agents(deployment):
    d = deployment
    d.add_agent("node1")
    d.add_agent("node2")
    d.accept("node2")
    d.wait_agent_state("node1", "pending")
    d.agents["node2"].stop()
    d.wait_agent_state("node2", "down")
    r = d.cli("agents")
    assert r.returncode == 0
    assert "1 key(s) pending; those agents wait and take no jobs" in r.stdout
    assert "`saline keys accept node1`" in r.stdout
    assert "1 agent(s) down (no heartbeat)" in r.stdout
