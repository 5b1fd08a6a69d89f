"""``saline call`` end to end: a real process, a real tree, a temp root, JSON and exit codes."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from saline.states.call import call
from saline.states.engine.run import RunResult
from saline.states.system.localfacts import gather, parse_os_release
from saline.states.engine.report import render_run

pytestmark = pytest.mark.real

from tests.paths import FIXTURES

FIXTURE = FIXTURES / "trees" / "basic"


def saline_call(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "saline.states.call", *map(str, args)],
        capture_output=True, text=True, timeout=60,
    )


def call_json(*args: str | Path) -> tuple[int, dict]:
    proc = saline_call("--json", *args)
    assert proc.stdout, f"no output; stderr: {proc.stderr}"
    return proc.returncode, json.loads(proc.stdout)


def snapshot(root: Path) -> list:
    return sorted((str(p.relative_to(root)), p.read_bytes()) for p in root.rglob("*") if p.is_file())


def test_highstate_apply_reapply_and_dry_run_on_drift(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    common = ("--local", "--root", root, "--pillar-root", FIXTURE / "pillar", "--id", "node1", FIXTURE / "states")

    rc, first = call_json(*common)
    assert rc == 0, first
    assert first["summary"]["changed"] == 3 and first["summary"]["failed"] == 0
    assert [r["id"] for r in first["results"]] == ["motd", "/etc/web/packages.list", "web-config"]
    assert (root / "etc/web/app.conf").read_text().splitlines()[1] == "listen = 8080"
    assert (root / "etc/motd").stat().st_mode & 0o777 == 0o644

    rc, again = call_json(*common)
    assert rc == 0 and again["summary"]["changed"] == 0
    assert all(r["result"] is True and r["changes"] == {} for r in again["results"])

    (root / "etc/web/app.conf").write_text("drifted\n")
    before = snapshot(root)
    rc, dry = call_json("--test", *common)
    assert rc == 0
    results = {r["id"]: r for r in dry["results"]}
    assert results["web-config"]["result"] is None and "diff" in results["web-config"]["changes"]
    assert results["motd"]["result"] is True
    assert snapshot(root) == before, "--test changed the target"


def test_single_file_with_pillar_file_and_human_output(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (tmp_path / "pillar.yaml").write_text("greeting: hello\n")
    (tmp_path / "one.sls").write_text("/etc/greeting:\n  file.managed:\n    - contents: '{{ pillar.greeting }}'\n")
    proc = saline_call("--root", root, "--pillar", tmp_path / "pillar.yaml", "--id", "node7", tmp_path / "one.sls")
    assert proc.returncode == 0, proc.stderr
    assert (root / "etc/greeting").read_text() == "hello\n"  # Salt adds the final newline to one-line contents
    for expected in ("ID: /etc/greeting", "Function: file.managed", "Result: True", "Summary for node7",
                     "Succeeded: 1 (changed=1)", "Failed:    0", "New file"):
        assert expected in proc.stdout


def test_a_failed_state_exits_2_and_its_dependants_do_not_run(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (tmp_path / "bad.sls").write_text(textwrap.dedent("""\
        owned:
          file.managed:
            - name: /etc/owned
            - contents: x
            - user: no-such-user-saline
        after:
          file.managed:
            - name: /etc/after
            - contents: y
            - require:
              - file: owned
    """))
    rc, out = call_json("--root", root, "--id", "node1", tmp_path / "bad.sls")
    assert rc == 2
    results = {r["id"]: r for r in out["results"]}
    assert results["owned"]["result"] is False
    assert results["after"]["result"] is False and results["after"]["comment"] == "One or more requisite failed: owned"
    assert out["summary"]["failed"] == 2
    assert list((root / "etc").iterdir()) == []


def test_compile_errors_exit_1_with_a_clear_message_and_touch_nothing(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "typo.sls").write_text("x:\n  file.managed:\n    - name: /etc/x\n    - mdoe: '0600'\n")
    proc = saline_call("--root", root, "--json", tmp_path / "typo.sls")
    assert proc.returncode == 1 and proc.stdout == ""
    assert "typo.sls: state 'x': file.managed: unknown argument 'mdoe'" in proc.stderr
    assert "file.managed takes: " in proc.stderr and " mode, " in proc.stderr
    assert list(root.iterdir()) == []


@pytest.mark.parametrize(
    "args,match",
    [
        (["--bogus", "x"], "No such option"),
        (["--id", "../x", "{tree}"], "not a valid agent id"),
        (["{file}", "extra.state"], "single state file"),
        (["/nonexistent/tree"], "does not exist"),
    ],
)
def test_usage_errors_exit_1(tmp_path: Path, args: list[str], match: str) -> None:
    (tmp_path / "f.sls").write_text("{}\n")
    argv = [a.format(tree=tmp_path, file=tmp_path / "f.sls") for a in args]
    result = CliRunner().invoke(call, argv)
    assert result.exit_code == 1, result.output
    assert match in result.output


def test_render_run_accepts_a_plain_dict() -> None:
    data = {
        "results": [
            {"id": "a", "name": "/a", "fun": "file.managed", "result": None, "comment": "Would: write",
             "changes": {"diff": "--- a\n+++ b\n", "mode": {"old": "0644", "new": "0600"}}, "duration_ms": 1.5},
            {"id": "b", "name": "/b", "fun": "cmd.run", "result": False, "comment": "failed\nrc=1", "changes": {}, "duration_ms": 2},
        ],
        "summary": {"succeeded": 1, "changed": 1, "failed": 1, "total": 2, "duration_ms": 3.5},
    }
    console = Console(record=True, width=200, force_terminal=True)
    render_run(console, "node1", data)
    text = console.export_text(clear=False)
    for expected in ("ID: a", "Result: None", "+++ b", "old: 0644", "Comment: failed", "rc=1",
                     "Succeeded: 1 (changed=1)", "Failed:    1", "Total states run:     2"):
        assert expected in text
    assert "\x1b[31m" in console.export_text(styles=True), "failed state is shown in red"
    assert RunResult.model_validate(data).summary.failed == 1


def test_local_facts_from_this_machine() -> None:
    facts = gather()
    assert facts["hostname"] == socket.gethostname()
    assert facts["kernel"] == "Linux" and facts["kernelrelease"] == os.uname().release
    if Path("/etc/os-release").exists():
        release = parse_os_release(Path("/etc/os-release").read_text())
        assert facts["os_id"] == release["ID"] and facts["osrelease"] == release.get("VERSION_ID", "")


def test_parse_os_release_quoting() -> None:
    text = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n# c\n\nBAD="unterminated\n'
    assert parse_os_release(text) == {
        "PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)", "NAME": "Debian GNU/Linux", "VERSION_ID": "12", "ID": "debian",
    }


def test_tree_under_test_is_left_untouched(tmp_path: Path) -> None:
    # saline call only reads the tree; running it must not write next to the states.
    copy = tmp_path / "tree"
    shutil.copytree(FIXTURE, copy)
    before = snapshot(copy)
    (tmp_path / "root/etc").mkdir(parents=True)
    proc = saline_call("--test", "--root", tmp_path / "root", "--pillar-root", copy / "pillar", "--id", "node1", copy / "states")
    assert proc.returncode == 0, proc.stderr
    assert "Succeeded: 3 (changed=3)" in proc.stdout
    assert snapshot(copy) == before
    assert list((tmp_path / "root").rglob("*")) == [tmp_path / "root/etc"]
