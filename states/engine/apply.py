"""Apply one state: facts → plan → (test? stop) → run steps → facts → plan must be empty.

This is the part of the engine that makes a state honest. The run-level engine
(ordering, requisites, summaries) builds on :func:`apply_one`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from saline.states.engine.argerrors import describe_args_error
from saline.states.engine.base import REGISTRY, Plan, Refuse, StateContext, StateFunction, execute_step
from saline.states.engine.runner import CommandError, CommandResult
from saline.states.engine.safefs import PathOutsideRoot

log = logging.getLogger("saline.states")


class StateResult(BaseModel):
    """Salt's per-state return contract. ``result`` is None for "would change" in test mode."""

    id: str
    name: str
    fun: str
    result: bool | None
    changes: dict[str, Any] = {}
    comment: str = ""
    duration_ms: float = 0.0
    sls: str = ""  # the SLS file the state came from (Salt's __sls__)
    sls_id: str = ""  # the ID as written in the SLS (Salt's __id__)
    ran: bool = True  # False when a requisite kept it from running (Salt's __state_ran__)
    # Dry run of a refused state: the changes it would show once a state it requires made
    # what it lacks (Refuse.assuming); the run decides whether that applies. Never sent.
    assumed: dict[str, Any] | None = Field(default=None, exclude=True)


class StateArgsError(ValueError):
    pass


def lookup(fun: str) -> StateFunction:
    from saline.states.modules import BROKEN, load_all

    load_all()
    try:
        return REGISTRY[fun]
    except KeyError:
        module = fun.split(".", 1)[0]
        if module in BROKEN:
            raise StateArgsError(f"state module {module!r} failed to load: {BROKEN[module]}") from None
        known = sorted(f for f in REGISTRY if f.startswith(module + "."))
        hint = f" (module {module!r} has: {', '.join(known)})" if known else ""
        raise StateArgsError(f"unknown state function {fun!r}{hint}") from None


def validate_args(fn: StateFunction, args: dict[str, Any]):
    try:
        return fn.args_model.model_validate(args)
    except ValidationError as exc:
        raise StateArgsError(describe_args_error(fn.name, fn.args_model, exc)) from None


def _plan(fn: StateFunction, args, ctx: StateContext) -> tuple[Any, Plan]:
    facts = fn.facts(args, ctx)
    return facts, fn.plan(args, facts)


def run_steps(steps: list, ctx: StateContext, ran: list[str] | None = None,
              outputs: list[CommandResult] | None = None) -> None:
    """Run the steps in order; ``ran`` collects the description of each one that succeeded,
    ``outputs`` the result of each command (a failed one too)."""
    for step in steps:
        log.info("step: %s", step.description)
        try:
            output = execute_step(step, ctx.runner)
        except CommandError as exc:
            if outputs is not None:
                outputs.append(exc.result)
            raise
        if outputs is not None and output is not None:
            outputs.append(output)
        if ran is not None:
            ran.append(step.description)


def run_cleanup(steps: list, ctx: StateContext, ran: list[str], raise_errors: bool) -> None:
    """Every cleanup step is tried, even after a failed one."""
    first: BaseException | None = None
    for step in steps:
        try:
            run_steps([step], ctx, ran)
        except (CommandError, OSError) as exc:
            log.error("cleanup step %r failed: %s", step.description, exc)
            first = first or exc
    if first is not None and raise_errors:
        raise first


def apply_one(state_id: str, fun: str, args: dict[str, Any], ctx: StateContext, *, watch_fired: bool = False) -> StateResult:
    started = time.monotonic()
    name = str(args.get("name", state_id))
    changes: dict[str, Any] = {}
    ran: list[str] = []  # steps that succeeded: a later failure must not hide what they changed
    outputs: list[CommandResult] = []  # every command that ran, for the module's report
    fn: StateFunction | None = None
    parsed = None

    def done(result: bool | None, comment: str, changes: dict | None = None, assumed: dict | None = None) -> StateResult:
        return StateResult(
            id=state_id, name=name, fun=fun, result=result, changes=changes or {}, comment=comment,
            duration_ms=round((time.monotonic() - started) * 1000, 3), assumed=assumed,
        )

    def failed(comment: str) -> StateResult:
        report = fn.report(parsed, outputs) if fn is not None and fn.report is not None and outputs else None
        if report is not None:  # Salt: the failed command's output, Salt's comment
            return done(False, report.comment, report.changes)
        if not ran:
            return done(False, comment)
        return done(False, f"{comment} (after these steps had run: {'; '.join(ran)})", changes)

    try:
        fn = lookup(fun)
        parsed = validate_args(fn, args)
        facts, plan = _plan(fn, parsed, ctx)
        watch_steps = list(fn.mod_watch(parsed, facts)) if (watch_fired and fn.mod_watch) else []
        if plan.empty and not watch_steps:
            return done(True, plan.comment or "Already in the desired state")
        changes = dict(plan.test_changes if ctx.test and plan.test_changes is not None else plan.changes)
        if watch_steps and not (ctx.test and plan.test_changes is not None):  # the module said what a dry run shows
            changes.setdefault("watch", [s.description for s in watch_steps])
        descriptions = [s.description for s in plan.steps + watch_steps + plan.cleanup]
        if ctx.test:
            return done(None, "Would: " + "; ".join(descriptions), changes)
        try:
            run_steps(plan.steps, ctx, ran, outputs)
            run_steps(watch_steps, ctx, ran, outputs)
        except BaseException:
            run_cleanup(plan.cleanup, ctx, ran, raise_errors=False)  # the first failure is the one to report
            raise
        run_cleanup(plan.cleanup, ctx, ran, raise_errors=True)
        if fn.converges:
            _, again = _plan(fn, parsed, ctx)
            if not again.empty:
                return done(
                    False,
                    "not idempotent: after applying, the plan still wants: "
                    + "; ".join(s.description for s in again.steps),
                    changes,
                )
        report = fn.report(parsed, outputs) if fn.report is not None else None
        if report is not None:  # None: the plan's changes say it
            return done(report.result, report.comment, report.changes)
        return done(True, "; ".join(descriptions), changes)
    except Refuse as exc:
        return done(False, f"refused: {exc}", assumed=exc.assuming if ctx.test else None)
    except StateArgsError as exc:
        return done(False, str(exc))
    except CommandError as exc:
        return failed(str(exc))
    except (OSError, PathOutsideRoot, KeyError) as exc:
        return failed(f"{type(exc).__name__}: {exc}")
