"""The run-level engine with REAL state runs on files under a temp root.

States are the ``etest.*`` functions (real facts/plan/steps on tmp_path) and the
engine is the real one; nothing is mocked. Each test checks the target files, not
only the reported results.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from saline.agent.fn_state import StateApplyArgs, state_apply
from saline.agent.functions import FUNCTIONS, FunctionContext, FunctionError, bind_args
from saline.states.engine.base import CommandStep, Facts, Plan, StateArgs, WriteFileStep, state_function
from saline.states.compile.compiled import CompiledRun, CompiledState
from saline.states.engine.run import RunResult, run
from saline.states.engine.runner import Runner
from tests.harness import ctx as make_ctx
from tests.unit.states.engine import test_statefns  # noqa: F401  (registers etest.*)


class BoomArgs(StateArgs):
    pass


@state_function("etest.boom", BoomArgs, facts=lambda args, ctx: Facts())
def etest_boom(args: BoomArgs, facts: Facts) -> Plan:
    """A module bug: plan raises something the state contract does not expect."""
    raise ZeroDivisionError("bug in a module")


class WriteThenRunArgs(StateArgs):
    contents: str
    argv: list[str]


@state_function("etest.write_then_run", WriteThenRunArgs, facts=lambda args, ctx: Facts())
def etest_write_then_run(args: WriteThenRunArgs, facts: Facts) -> Plan:
    """Write a config, then run a command (like corosync.config's write + reload)."""
    return Plan(steps=[WriteFileStep(description=f"write {args.name}", path=args.name, content=args.contents.encode(), makedirs=True),
                       CommandStep(description=f"run {' '.join(args.argv)}", argv=args.argv)],
                changes={"diff": args.contents})


def state(sid: str, fun: str, order: int, **kw) -> CompiledState:
    reqs = {k: kw.pop(k) for k in ("require", "watch", "onchanges", "onfail") if k in kw}
    args = {"name": kw.pop("name", sid), **kw}
    return CompiledState(id=sid, name=args["name"], fun=fun, args=args, order=order, **reqs)


def file_(sid: str, order: int, contents: str, **kw) -> CompiledState:
    return state(sid, "etest.file", order, name=kw.pop("name", f"/etc/{sid}"), contents=contents, **kw)


def cmd(sid: str, order: int, argv: list[str], **kw) -> CompiledState:
    return state(sid, "etest.cmd", order, argv=argv, **kw)


def apply(root: Path, *states: CompiledState, test: bool = False) -> RunResult:
    return run(CompiledRun(agent_id="node1", states=list(states)), make_ctx(Runner(root=root), test=test))


def by_id(result: RunResult) -> dict:
    return {r.id: r for r in result.results}


def snapshot(root: Path) -> list:
    return sorted((str(p.relative_to(root)), p.read_bytes()) for p in root.rglob("*") if p.is_file())


# ---- ordering ---------------------------------------------------------------------------


def test_runs_in_definition_order_moved_only_by_requisites(tmp_path: Path) -> None:
    log = tmp_path / "order.log"
    states = [
        cmd("second", 0, ["sh", "-c", f"echo second >> {log}"], require=["first"]),
        cmd("first", 1, ["sh", "-c", f"echo first >> {log}"]),
        cmd("third", 2, ["sh", "-c", f"echo third >> {log}"]),
    ]
    result = apply(tmp_path, *states)
    assert log.read_text().split() == ["first", "second", "third"]
    assert [r.id for r in result.results] == ["first", "second", "third"]


# ---- require ----------------------------------------------------------------------------


def test_failed_require_stops_dependants_and_cascades(tmp_path: Path) -> None:
    result = apply(
        tmp_path,
        cmd("broken", 0, ["false"]),
        file_("conf", 1, "x\n", require=["broken"]),
        file_("after", 2, "y\n", require=["conf"]),
        file_("independent", 3, "z\n"),
    )
    r = by_id(result)
    assert r["broken"].result is False and "rc=1" in r["broken"].comment
    assert r["conf"].result is False and r["conf"].comment == "One or more requisite failed: broken"
    assert r["after"].result is False and r["after"].comment == "One or more requisite failed: conf"
    assert r["independent"].result is True
    assert not (tmp_path / "etc/conf").exists() and not (tmp_path / "etc/after").exists()
    assert (tmp_path / "etc/independent").read_text() == "z\n"
    assert result.summary.model_dump() | {"duration_ms": 0} == {
        "succeeded": 1, "changed": 1, "failed": 3, "total": 4, "duration_ms": 0,
    }
    assert not result.ok


def test_met_require_runs(tmp_path: Path) -> None:
    result = apply(tmp_path, file_("a", 0, "1\n"), file_("b", 1, "2\n", require=["a"]))
    assert [r.result for r in result.results] == [True, True]
    assert (tmp_path / "etc/b").read_text() == "2\n"


# ---- watch / mod_watch --------------------------------------------------------------------


def _svc_run(root: Path, contents: str, test: bool = False) -> RunResult:
    return apply(
        root,
        file_("conf", 0, contents),
        state("svc", "etest.service", 1, name="/run/svc", log="/var/log/svc", watch=["conf"]),
        test=test,
    )


def test_watch_runs_mod_watch_only_when_the_watched_state_changed(tmp_path: Path) -> None:
    restarts = tmp_path / "var/log/svc"

    first = by_id(_svc_run(tmp_path, "v=1\n"))
    assert first["conf"].changes and first["svc"].result is True
    assert restarts.read_text() == "restart\n"
    assert first["svc"].changes["watch"] == ["restart /run/svc"]

    second = _svc_run(tmp_path, "v=1\n")
    assert all(r.result is True and r.changes == {} for r in second.results)
    assert restarts.read_text() == "restart\n", "mod_watch ran although nothing changed"

    third = by_id(_svc_run(tmp_path, "v=2\n"))
    assert third["conf"].changes and third["svc"].changes == {"watch": ["restart /run/svc"]}
    assert restarts.read_text() == "restart\nrestart\n"


def test_watch_in_test_mode_shows_the_restart_and_changes_nothing(tmp_path: Path) -> None:
    _svc_run(tmp_path, "v=1\n")
    before = snapshot(tmp_path)
    dry = by_id(_svc_run(tmp_path, "v=2\n", test=True))
    assert dry["conf"].result is None
    assert dry["svc"].result is None and dry["svc"].changes == {"watch": ["restart /run/svc"]}
    assert snapshot(tmp_path) == before
    clean = by_id(_svc_run(tmp_path, "v=1\n", test=True))
    assert clean["svc"].result is True and clean["svc"].changes == {}


def test_failed_watch_target_fails_without_restart(tmp_path: Path) -> None:
    result = by_id(apply(
        tmp_path,
        cmd("broken", 0, ["false"]),
        state("svc", "etest.service", 1, name="/run/svc", log="/var/log/svc", watch=["broken"]),
    ))
    assert result["svc"].result is False and "requisite failed" in result["svc"].comment
    assert not (tmp_path / "run/svc").exists() and not (tmp_path / "var/log/svc").exists()


# ---- onchanges / onfail -----------------------------------------------------------------


def _onchanges_run(root: Path, contents: str, test: bool = False) -> RunResult:
    marker = root / "reloaded"
    return apply(
        root,
        file_("conf", 0, contents),
        cmd("reload", 1, ["sh", "-c", f"echo reload >> {marker}"], onchanges=["conf"]),
        test=test,
    )


def test_onchanges_runs_only_when_a_target_changed(tmp_path: Path) -> None:
    marker = tmp_path / "reloaded"
    first = by_id(_onchanges_run(tmp_path, "a\n"))
    assert first["reload"].result is True and first["reload"].changes
    assert marker.read_text() == "reload\n"

    again = by_id(_onchanges_run(tmp_path, "a\n"))
    assert again["reload"].result is True and again["reload"].changes == {}
    assert again["reload"].comment == "State was not run because none of the onchanges reqs changed"  # Salt's words
    assert marker.read_text() == "reload\n"

    dry = by_id(_onchanges_run(tmp_path, "b\n", test=True))
    assert dry["reload"].result is None, "a would-change target fires onchanges in test mode"
    assert marker.read_text() == "reload\n" and (tmp_path / "etc/conf").read_text() == "a\n"


def test_onchanges_with_failed_target_does_not_run_as_in_salt_3008(tmp_path: Path) -> None:
    # Salt 3008: onchanges is a soft trigger; a failed target counts as one without changes.
    r = by_id(apply(tmp_path, cmd("broken", 0, ["false"]), file_("x", 1, "1\n", onchanges=["broken"])))
    assert r["x"].result is True and r["x"].comment == "State was not run because none of the onchanges reqs changed"
    assert not (tmp_path / "etc/x").exists()


def test_onfail_runs_only_when_a_target_failed(tmp_path: Path) -> None:
    r = by_id(apply(
        tmp_path,
        cmd("broken", 0, ["false"]),
        cmd("fine", 1, ["true"]),
        file_("recover", 2, "recovered\n", onfail=["fine", "broken"]),
        file_("not_needed", 3, "never\n", onfail=["fine"]),
    ))
    assert r["recover"].result is True and (tmp_path / "etc/recover").read_text() == "recovered\n"
    assert r["not_needed"].result is True and r["not_needed"].changes == {}
    assert r["not_needed"].comment == "State was not run because onfail req did not change"  # Salt's words
    assert not (tmp_path / "etc/not_needed").exists()


# ---- test mode, errors, cancel, serialisation ---------------------------------------------


def test_test_mode_changes_nothing_and_reports_would_change(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/same").write_text("same\n")
    before = snapshot(tmp_path)
    result = apply(
        tmp_path,
        file_("same", 0, "same\n"),
        file_("new", 1, "new\n", require=["same"]),
        state("svc", "etest.service", 2, name="/run/svc", log="/var/log/svc", watch=["new"]),
        test=True,
    )
    assert snapshot(tmp_path) == before
    assert [r.result for r in result.results] == [True, None, None]
    assert result.summary.succeeded == 3 and result.summary.failed == 0 and result.summary.changed == 2
    assert result.ok


def test_a_module_bug_fails_only_its_own_state(tmp_path: Path) -> None:
    r = by_id(apply(tmp_path, state("bug", "etest.boom", 0), file_("ok", 1, "ok\n")))
    assert r["bug"].result is False and "ZeroDivisionError: bug in a module" in r["bug"].comment
    assert r["ok"].result is True and (tmp_path / "etc/ok").exists()


def test_a_step_failing_after_others_ran_reports_what_changed(tmp_path: Path) -> None:
    r = by_id(apply(tmp_path, state("conf", "etest.write_then_run", 0, name="/etc/conf", contents="new\n", argv=["false"]),
                    state("svc", "etest.service", 1, name="/run/svc", log="/var/log/svc", watch=["conf"])))
    # The file was written before the command failed: failed, but not "no changes".
    assert (tmp_path / "etc/conf").read_text() == "new\n"
    assert r["conf"].result is False and r["conf"].changes == {"diff": "new\n"}
    assert "rc=1" in r["conf"].comment and "after these steps had run: write /etc/conf" in r["conf"].comment
    assert r["svc"].result is False and "requisite failed" in r["svc"].comment
    # A step failing first changed nothing, and says nothing else.
    r = by_id(apply(tmp_path, state("x", "etest.cmd", 0, argv=["false"])))
    assert r["x"].result is False and r["x"].changes == {} and "after these steps" not in r["x"].comment


def test_cancel_stops_states_not_yet_started(tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    result = run(CompiledRun(agent_id="n1", states=[file_("a", 0, "a\n")]), make_ctx(Runner(root=tmp_path)), cancel=cancel)
    assert result.results[0].result is False and "cancelled" in result.results[0].comment
    assert not (tmp_path / "etc/a").exists()


def test_results_serialise_to_plain_json(tmp_path: Path) -> None:
    result = _svc_run(tmp_path, "v=1\n")
    data = json.loads(json.dumps(result.model_dump(mode="json")))
    assert RunResult.model_validate(data) == result
    assert set(data["results"][0]) == {"id", "name", "fun", "result", "changes", "comment", "duration_ms", "sls", "sls_id", "ran"}


# ---- the agent function -------------------------------------------------------------------


def _fctx(root: Path, agent_id: str = "node1") -> FunctionContext:
    return FunctionContext(agent_id=agent_id, version="test", settings={"state_root": root, "state_env": {}})


def test_state_apply_agent_function_binds_plain_args_and_reports(tmp_path: Path) -> None:
    compiled = CompiledRun(agent_id="node1", states=[file_("a", 0, "a\n")])
    args = bind_args(FUNCTIONS["state.apply"], [], {"run": compiled.model_dump(), "test": True})
    dry = state_apply(args, _fctx(tmp_path))
    assert dry.success and dry.retcode == 0 and dry.data["results"][0]["result"] is None
    assert not (tmp_path / "etc/a").exists()

    done = state_apply(StateApplyArgs(run=compiled.model_dump()), _fctx(tmp_path))
    assert done.success and done.data["summary"]["changed"] == 1
    assert (tmp_path / "etc/a").read_text() == "a\n"


def test_state_apply_failure_is_retcode_2(tmp_path: Path) -> None:
    compiled = CompiledRun(agent_id="node1", states=[cmd("broken", 0, ["false"])])
    res = state_apply(StateApplyArgs(run=compiled.model_dump()), _fctx(tmp_path))
    assert not res.success and res.retcode == 2 and res.data["summary"]["failed"] == 1


def test_state_apply_refuses_a_run_compiled_for_another_agent(tmp_path: Path) -> None:
    compiled = CompiledRun(agent_id="node2", states=[file_("a", 0, "a\n")])
    with pytest.raises(FunctionError, match="compiled for 'node2'"):
        state_apply(StateApplyArgs(run=compiled.model_dump()), _fctx(tmp_path, "node1"))
    assert not (tmp_path / "etc").exists()


def test_state_apply_rejects_a_tampered_run_at_the_boundary() -> None:
    bad = {"agent_id": "node1", "states": [{"id": "a", "name": "a", "fun": "etest.file", "args": {}, "require": ["ghost"]}]}
    args = bind_args(FUNCTIONS["state.apply"], [], {"run": bad})
    with pytest.raises(FunctionError, match="not in the run"):
        state_apply(args, _fctx(Path("/nonexistent")))


def test_a_broken_state_module_is_reported_not_fatal(monkeypatch):
    """One module that fails to import names itself; the others keep working."""
    from saline.states import modules
    from saline.states.engine.apply import StateArgsError, lookup

    monkeypatch.setitem(modules.BROKEN, "brokenmod", "ImportError: no module named foo")
    with pytest.raises(StateArgsError, match="state module 'brokenmod' failed to load: ImportError"):
        lookup("brokenmod.present")
    assert lookup("file.managed").name == "file.managed"


def test_file_writes_cannot_be_redirected_by_a_planted_symlink(tmp_path):
    """The temp file of an atomic write has a random name and is opened O_EXCL: a symlink
    planted at the old predictable name (.NAME.saline-tmp) is never followed."""
    from saline.states.engine.base import WriteFileStep, execute_step
    from saline.states.engine.runner import Runner

    victim = tmp_path / "victim"
    victim.write_text("untouched\n")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / ".conf.saline-tmp").symlink_to(victim)
    execute_step(WriteFileStep(description="write", path="/etc/conf", content=b"new\n", mode=0o600), Runner(root=tmp_path))
    assert victim.read_text() == "untouched\n"
    assert (tmp_path / "etc" / "conf").read_text() == "new\n"
    assert oct((tmp_path / "etc" / "conf").stat().st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in (tmp_path / "etc").iterdir()) == [".conf.saline-tmp", "conf"]


def test_cleanup_steps_run_even_when_a_step_fails(tmp_path):
    """A plan's cleanup (e.g. unmount a staging mount) runs after a failed step; the state
    reports the first failure, and a successful run reports a failed cleanup."""

    from saline.states.engine.apply import apply_one
    from saline.states.engine.base import REGISTRY, CommandStep, Facts, Plan, StateArgs, StateContext, WriteFileStep, state_function
    from saline.states.engine.runner import Runner

    class CleanArgs(StateArgs):
        fail_step: bool = False
        fail_cleanup: bool = False

    class NoFacts(Facts):
        marker: bool

    def facts(args, ctx):
        return NoFacts(marker=ctx.runner.path("/cleaned").exists())

    if "etest.cleanup" not in REGISTRY:
        @state_function("etest.cleanup", CleanArgs, facts=facts, converges=False)
        def plan(args: CleanArgs, f: NoFacts) -> Plan:
            step = CommandStep(description="the work", argv=["false" if args.fail_step else "true"])
            cleanup = [WriteFileStep(description="undo", path="/cleaned", content=b"x"),
                       CommandStep(description="undo 2", argv=["false" if args.fail_cleanup else "true"])]
            return Plan(steps=[step], changes={"did": "work"}, cleanup=cleanup)

    ctx = StateContext(runner=Runner(root=tmp_path))
    failed = apply_one("c", "etest.cleanup", {"name": "c", "fail_step": True}, ctx)
    assert failed.result is False and "'false' failed" in failed.comment
    assert (tmp_path / "cleaned").exists()
    (tmp_path / "cleaned").unlink()
    bad_cleanup = apply_one("c", "etest.cleanup", {"name": "c", "fail_cleanup": True}, ctx)
    assert bad_cleanup.result is False and "the work" in bad_cleanup.comment and (tmp_path / "cleaned").exists()
    ok = apply_one("c", "etest.cleanup", {"name": "c"}, ctx)
    assert ok.result is True
