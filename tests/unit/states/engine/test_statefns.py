"""Small test-only state functions (``etest.*``) that touch real files under a temp root.

The engine tests need a state with a ``mod_watch`` and a command that can fail on
purpose; these are real state functions (facts → plan → steps executed by the real
engine), not mocks. They pass the shared harness themselves (tests below), so the
engine tests build on honest states.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from saline.states.engine.base import CommandStep, Facts, Plan, StateArgs, StateContext, WriteFileStep, state_function
from saline.states.engine.runner import Runner
from tests.harness import assert_full_cycle, assert_refused


class FileArgs(StateArgs):
    contents: str


class FileFacts(Facts):
    contents: str | None


def _read(ctx: StateContext, node_path: str) -> str | None:
    path = ctx.runner.path(node_path)
    return path.read_text() if path.exists() else None


def file_facts(args: FileArgs, ctx: StateContext) -> FileFacts:
    return FileFacts(contents=_read(ctx, args.name))


@state_function("etest.file", FileArgs, facts=file_facts)
def etest_file(args: FileArgs, facts: FileFacts) -> Plan:
    """A file with exactly ``contents``."""
    if facts.contents == args.contents:
        return Plan(comment=f"{args.name} is in the correct state")
    return Plan(
        steps=[WriteFileStep(description=f"write {args.name}", path=args.name, content=args.contents.encode(), makedirs=True)],
        changes={"old": facts.contents, "new": args.contents},
    )


class ServiceArgs(StateArgs):
    # ``name`` is a marker file meaning "running"; ``log`` records every restart.
    log: str


class ServiceFacts(Facts):
    running: bool
    log: str


def service_facts(args: ServiceArgs, ctx: StateContext) -> ServiceFacts:
    return ServiceFacts(running=_read(ctx, args.name) is not None, log=_read(ctx, args.log) or "")


def service_restart(args: ServiceArgs, facts: ServiceFacts) -> list:
    return [WriteFileStep(description=f"restart {args.name}", path=args.log, content=(facts.log + "restart\n").encode(), makedirs=True)]


@state_function("etest.service", ServiceArgs, facts=service_facts, mod_watch=service_restart)
def etest_service(args: ServiceArgs, facts: ServiceFacts) -> Plan:
    """A "service" that is running once its marker exists; restarted by watch."""
    if facts.running:
        return Plan(comment=f"{args.name} is running")
    return Plan(
        steps=[WriteFileStep(description=f"start {args.name}", path=args.name, content=b"running\n", makedirs=True)],
        changes={"running": {"old": False, "new": True}},
    )


class CmdArgs(StateArgs):
    argv: list[str]


class NoFacts(Facts):
    pass


@state_function("etest.cmd", CmdArgs, facts=lambda args, ctx: NoFacts(), converges=False)
def etest_cmd(args: CmdArgs, facts: NoFacts) -> Plan:
    """Run ``argv`` every time (a change every time, honestly; fails when the command fails)."""
    return Plan(steps=[CommandStep(description=f"run {' '.join(args.argv)}", argv=args.argv)], changes={"argv": args.argv})


# ---- the helpers pass the shared harness -----------------------------------------------


def _snapshot(root: Path):
    return lambda: sorted((str(p.relative_to(root)), p.read_bytes()) for p in root.rglob("*") if p.is_file())


def test_etest_file_full_cycle(tmp_path: Path) -> None:
    assert_full_cycle("etest.file", {"name": "/etc/a.conf", "contents": "x=1\n"}, Runner(root=tmp_path), _snapshot(tmp_path))
    assert (tmp_path / "etc/a.conf").read_text() == "x=1\n"


def test_etest_service_full_cycle(tmp_path: Path) -> None:
    args = {"name": "/run/svc.running", "log": "/var/log/svc"}
    assert_full_cycle("etest.service", args, Runner(root=tmp_path), _snapshot(tmp_path))
    assert not (tmp_path / "var/log/svc").exists()  # no watch, no restart


def test_etest_file_bad_args_refused(tmp_path: Path) -> None:
    assert_refused("etest.file", {"name": "/etc/a", "content": "typo"}, Runner(root=tmp_path), _snapshot(tmp_path), "contents")


@pytest.mark.parametrize("argv,ok", [(["true"], True), (["false"], False)])
def test_etest_cmd_reports_command_result(tmp_path: Path, argv: list[str], ok: bool) -> None:
    from tests.harness import run

    res = run("etest.cmd", {"name": "c", "argv": argv}, Runner(root=tmp_path))
    assert res.result is ok
    assert res.changes == ({"argv": argv} if ok else {})
    if not ok:
        assert "rc=1" in res.comment
