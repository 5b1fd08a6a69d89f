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
    assert applied.changes == {"pid": applied.changes["pid"], "retcode": 0, "stdout": "", "stderr": ""}
    assert applied.comment == f'Command "{args["name"]}" run'
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
        assert res.result is True and set(res.changes) == {"pid", "retcode", "stdout", "stderr"}
        assert log.read_text() == "ran\n" * n


def test_a_failing_command_fails_the_state_with_rc_and_stderr(runner):
    res = run("cmd.run", {"name": "sh -c 'echo broken >&2; exit 3'"}, runner)
    assert res.result is False and res.comment == """Command "sh -c 'echo broken >&2; exit 3'" run"""
    assert (res.changes["retcode"], res.changes["stderr"]) == (3, "broken")
    ok = run("cmd.run", {"name": "sh -c 'exit 3'", "success_retcodes": [3]}, runner)
    assert ok.result is True


def test_missing_cwd_and_missing_program_fail(runner):
    res = run("cmd.run", {"name": "true", "cwd": "/nonexistent"}, runner)
    assert res.result is False and 'Desired working directory "/nonexistent" is not available' in res.comment
    res = run("cmd.run", {"name": "no-such-program-saline"}, runner)
    assert res.result is False and res.changes["retcode"] == 127 and "command not found" in res.changes["stderr"]


def test_refusals(tmp_path, runner):
    snap = files(tmp_path)
    assert_refused("cmd.run", {"name": f"echo x > {tmp_path}/work/x"}, runner, snap, "shell syntax")
    assert_refused("cmd.run", {"name": "true", "creates": "relative/path"}, runner, snap, "not an absolute path")
    assert_refused("cmd.run", {"name": "true", "shell": "/no/such/shell"}, runner, snap, "not an executable")
    assert_refused("cmd.run", {"name": "true", "runas": "no-such-user-saline"}, runner, snap, "does not exist")


def test_cmd_wait_runs_only_when_watch_fires(tmp_path, runner):
    log = tmp_path / "work/log"
    args = {"name": f"sh -c 'echo ran >> {log}'"}
    quiet = apply_one("w", "cmd.wait", args, ctx(runner))
    assert quiet.result is True and quiet.changes == {} and not log.exists()
    fired = apply_one("w", "cmd.wait", args, ctx(runner), watch_fired=True)
    assert fired.result is True and fired.changes and log.read_text() == "ran\n"
    guarded = apply_one("w", "cmd.wait", {**args, "creates": "/work/log"}, ctx(runner), watch_fired=True)
    assert guarded.result is True and guarded.changes == {} and log.read_text() == "ran\n"


# ---- Salt's arguments and return shape -------------------------------------------------------


def test_shell_runs_the_command_through_that_shell(tmp_path, runner):
    out = tmp_path / "work/greeting"
    args = {"name": f"echo \"$GREETING\" > {out}", "shell": "/bin/sh", "env": {"GREETING": "hi there"},
            "creates": "/work/greeting"}
    applied = assert_full_cycle("cmd.run", args, runner, files(tmp_path))
    assert out.read_text() == "hi there\n" and applied.changes["retcode"] == 0
    # The guards of a state with a shell go through it too.
    res = run("cmd.run", {"name": "true", "shell": "/bin/sh", "unless": f"test -s {out} && test -e /"}, runner)
    assert res.result is True and res.changes == {} and "unless condition is true" in res.comment


def test_without_shell_expansions_are_compile_errors_not_literal_files(tmp_path, runner):
    from saline.states.compile.compiler import CompileError, compile_file

    sls = tmp_path / "x.sls"
    sls.write_text("t:\n  cmd.run:\n    - name: touch /work/$NAME\n    - creates: /work/$NAME\n")
    with pytest.raises(CompileError, match=r"state 't'.*shell syntax \(\$\).*shell: /bin/sh"):
        compile_file(sls, {}, {}, "node1")
    assert not list((tmp_path / "work").iterdir())


def test_results_carry_pid_retcode_stdout_stderr_like_salt(runner):
    res = run("cmd.run", {"name": "sh -c 'echo out; echo err >&2'"}, runner)
    assert res.result is True and res.comment == """Command "sh -c 'echo out; echo err >&2'" run"""
    assert isinstance(res.changes["pid"], int) and res.changes["pid"] > 0
    assert (res.changes["retcode"], res.changes["stdout"], res.changes["stderr"]) == (0, "out", "err")


def test_a_failed_command_keeps_its_output_in_changes(runner):
    res = run("cmd.run", {"name": "sh -c 'echo partial; echo broken >&2; exit 3'"}, runner)
    assert res.result is False and res.comment == """Command "sh -c 'echo partial; echo broken >&2; exit 3'" run"""
    assert (res.changes["retcode"], res.changes["stdout"], res.changes["stderr"]) == (3, "partial", "broken")
    ok = run("cmd.run", {"name": "sh -c 'exit 3'", "success_retcodes": [3]}, runner)
    assert ok.result is True and ok.changes["retcode"] == 0  # Salt reports a success_retcodes code as 0


def test_hide_output_and_output_limit(runner):
    hidden = run("cmd.run", {"name": "echo secret", "hide_output": True, "output_loglevel": "quiet"}, runner)
    assert hidden.result is True and hidden.changes["stdout"] == "" and hidden.changes["stderr"] == ""
    big = run("cmd.run", {"name": "head -c 300000 /dev/zero"}, runner)
    from saline.states.modules.cmd import OUTPUT_LIMIT

    assert len(big.changes["stdout"].encode()) < OUTPUT_LIMIT + 100
    assert "bytes of output left out" in big.changes["stdout"]


def test_runas_runs_as_that_user_with_its_home(tmp_path, runner):
    res = run("cmd.run", {"name": "sh -c 'id -u; id -g; echo $HOME $USER'", "runas": "nobody"}, runner)
    assert res.result is True, res.comment
    assert res.changes["stdout"].splitlines() == ["65534", "65534", "/nonexistent nobody"]


def test_stateful_reads_the_last_line_like_salt(runner):
    quiet = run("cmd.run", {"name": "echo \"changed=no comment='all good'\"", "stateful": True}, runner)
    assert quiet.result is True and quiet.changes == {} and quiet.comment == "all good"
    changed = run("cmd.run", {"name": "printf 'did it\\nchanged=yes comment=done size=3\\n'", "stateful": True}, runner)
    assert changed.result is True and changed.comment == "done"
    assert changed.changes["size"] == "3" and changed.changes["stdout"] == "did it"
    as_json = run("cmd.run", {"name": """echo '{"changed": true, "comment": "j"}'""", "stateful": True}, runner)
    assert as_json.result is True and as_json.comment == "j" and as_json.changes["changed"] is True
    garbage = run("cmd.run", {"name": "echo not pairs", "stateful": True}, runner)
    assert garbage.result is False and "Failed parsing script output" in garbage.comment


def test_cmd_wait_when_fired_returns_the_command_output(tmp_path, runner):
    fired = apply_one("w", "cmd.wait", {"name": "echo fired"}, ctx(runner), watch_fired=True)
    assert fired.result is True and fired.changes["stdout"] == "fired" and fired.changes["retcode"] == 0
