"""cmd.* for real: commands and guards run through the runner against a temp root."""

from __future__ import annotations

from pathlib import Path

import pytest

from saline.states.engine.apply import apply_one
from saline.states.engine.runner import Runner
from tests.harness import assert_full_cycle, assert_refused, ctx, run

pytestmark = pytest.mark.real


@pytest.fixture
def runner(tmp_path: Path) -> Runner:
    (tmp_path / "work").mkdir()
    return Runner(root=tmp_path)


def files(root: Path):
    return lambda: sorted((str(p.relative_to(root)), p.read_text() if p.is_file() else None) for p in root.rglob("*"))


def test_creates_guard_full_cycle(tmp_path, runner):
    # The command runs on the host; `creates` and `cwd` are node paths under the runner's root.
    args = {"name": "sh -c 'echo built > marker'", "cwd": "/work", "creates": "/work/marker"}
    applied = assert_full_cycle("cmd.run", args, runner, files(tmp_path))
    assert applied.changes == {"command": args["name"]}
    assert (tmp_path / "work/marker").read_text() == "built\n"


def test_unless_guard_with_argv_list_and_env(tmp_path, runner):
    target = tmp_path / "work/out"
    args = {"name": f"sh -c 'printf %s \"$GREETING\" > {target}'", "env": {"GREETING": "hello"},
            "unless": [["test", "-s", str(target)]]}
    assert_full_cycle("cmd.run", args, runner, files(tmp_path))
    assert target.read_text() == "hello"


def test_onlyif_guard_false_skips(tmp_path, runner):
    snap = files(tmp_path)
    before = snap()
    res = run("cmd.run", {"name": f"touch {tmp_path}/work/never", "onlyif": "test -e /nonexistent-saline"}, runner)
    assert res.result is True and res.changes == {} and "onlyif condition is false" in res.comment
    assert snap() == before


def test_without_a_guard_it_is_a_change_every_time(tmp_path, runner):
    log = tmp_path / "work/log"
    args = {"name": f"sh -c 'echo ran >> {log}'"}
    dry = run("cmd.run", args, runner, test=True)
    assert dry.result is None and not log.exists()
    for n in (1, 2):
        res = run("cmd.run", args, runner)
        assert res.result is True and res.changes == {"command": args["name"]}
        assert log.read_text() == "ran\n" * n


def test_a_failing_command_fails_the_state_with_rc_and_stderr(runner):
    res = run("cmd.run", {"name": "sh -c 'echo broken >&2; exit 3'"}, runner)
    assert res.result is False and "rc=3" in res.comment and "broken" in res.comment
    ok = run("cmd.run", {"name": "sh -c 'exit 3'", "success_retcodes": [3]}, runner)
    assert ok.result is True


def test_missing_cwd_and_missing_program_fail(runner):
    res = run("cmd.run", {"name": "true", "cwd": "/nonexistent"}, runner)
    assert res.result is False and "cannot change directory" in res.comment
    res = run("cmd.run", {"name": "no-such-program-saline"}, runner)
    assert res.result is False and "rc=127" in res.comment


def test_refusals(tmp_path, runner):
    snap = files(tmp_path)
    assert_refused("cmd.run", {"name": f"echo x > {tmp_path}/work/x"}, runner, snap, "shell syntax")
    assert_refused("cmd.run", {"name": "true", "creates": "relative/path"}, runner, snap, "not an absolute path")
    assert_refused("cmd.run", {"name": "true", "shell": "/bin/bash"}, runner, snap, "shell")


def test_cmd_wait_runs_only_when_watch_fires(tmp_path, runner):
    log = tmp_path / "work/log"
    args = {"name": f"sh -c 'echo ran >> {log}'"}
    quiet = apply_one("w", "cmd.wait", args, ctx(runner))
    assert quiet.result is True and quiet.changes == {} and not log.exists()
    fired = apply_one("w", "cmd.wait", args, ctx(runner), watch_fired=True)
    assert fired.result is True and fired.changes and log.read_text() == "ran\n"
    guarded = apply_one("w", "cmd.wait", {**args, "creates": "/work/log"}, ctx(runner), watch_fired=True)
    assert guarded.result is True and guarded.changes == {} and log.read_text() == "ran\n"
