"""Run a compiled state list: order, requisites, summary.

Each state goes through :func:`saline.states.engine.apply.apply_one` (facts → plan → apply →
re-plan). This module decides *whether* and *how* it runs, following Salt's
requisite rules:

* ``require`` / ``watch``: a failed target fails the state without running it
  ("One or more requisite failed: …");
* ``watch``: a target with changes (in test mode: one that would change) makes the
  state run with ``watch_fired`` so the module's ``mod_watch`` runs;
* ``onchanges``: runs only when at least one target changed;
* ``onfail``: runs only when at least one target failed (Salt's default "any" logic).
"""

from __future__ import annotations

import logging
import threading
import time

from pydantic import BaseModel, Field

from saline.states.engine.apply import StateResult, apply_one
from saline.states.engine.base import StateContext
from saline.states.compile.compiled import CompiledRun, CompiledState

log = logging.getLogger("saline.states")


class RunSummary(BaseModel):
    succeeded: int = 0  # result True or None (would change)
    changed: int = 0
    failed: int = 0
    total: int = 0
    duration_ms: float = 0.0


class RunResult(BaseModel):
    results: list[StateResult] = Field(default_factory=list)
    summary: RunSummary = Field(default_factory=RunSummary)

    @property
    def ok(self) -> bool:
        return self.summary.failed == 0


def summarize(results: list[StateResult], duration_ms: float) -> RunSummary:
    return RunSummary(
        succeeded=sum(r.result is not False for r in results),
        changed=sum(bool(r.changes) for r in results),
        failed=sum(r.result is False for r in results),
        total=len(results),
        duration_ms=round(duration_ms, 3),
    )


def _changed(result: StateResult, test: bool) -> bool:
    # In test mode a would-change target (None with changes) counts as changed, so the
    # dry run shows what watch/onchanges would trigger.
    return bool(result.changes) and (result.result is True or (test and result.result is None))


def _not_run(state: CompiledState, result: bool, comment: str) -> StateResult:
    return StateResult(id=state.id, name=state.name, fun=state.fun, result=result, comment=comment, sls=state.sls,
                       ran=False)


def _requisite_verdict(state: CompiledState, done: dict[str, StateResult], test: bool) -> StateResult | bool:
    """A result for a state that must not run, or whether its watch fired."""
    failed = [t for t in state.require + state.watch + state.onchanges if done[t].result is False]
    if failed:
        return _not_run(state, False, "One or more requisite failed: " + ", ".join(failed))
    if state.onchanges and not any(_changed(done[t], test) for t in state.onchanges):
        return _not_run(state, True, "State was not run because none of the onchanges requisites changed")
    # In a dry run a target that would run (None) may still fail: Salt shows the handler as "would run".
    if state.onfail and not any(done[t].result is False or (test and done[t].result is None) for t in state.onfail):
        return _not_run(state, True, "State was not run because none of the onfail requisites failed")
    return any(_changed(done[t], test) for t in state.watch)


def _apply(state: CompiledState, ctx: StateContext, watch_fired: bool) -> StateResult:
    try:
        result = apply_one(state.id, state.fun, state.args, ctx, watch_fired=watch_fired)
        return result.model_copy(update={"sls": state.sls})
    except Exception as exc:  # a buggy module fails its own state, never the whole run
        log.exception("state %s (%s) raised", state.id, state.fun)
        return _not_run(state, False, f"internal error in {state.fun}: {type(exc).__name__}: {exc}")


def _unknowable_in_test(state: CompiledState, result: StateResult, done: dict[str, StateResult]) -> StateResult:
    """In a dry run, a state can only plan from what is on the node *now*. When a state it
    requires would change first (pkg.held after a pkg.installed that has not run, an LV on a
    VG not created yet), its refusal says nothing about the real run: report it as "would
    change, cannot be planned until then" (None) instead of a failure, keeping the reason."""
    pending = [t for t in state.require + state.watch if done[t].result is None]
    if not pending:
        return result
    return result.model_copy(update={
        "result": None,
        "comment": f"Cannot be planned before {', '.join(pending)} is applied (dry run); now: {result.comment}",
    })


def run(compiled: CompiledRun, ctx: StateContext, cancel: threading.Event | None = None) -> RunResult:
    started = time.monotonic()
    done: dict[str, StateResult] = {}
    for state in compiled.ordered():
        if cancel is not None and cancel.is_set():
            done[state.id] = _not_run(state, False, "State was not run because the job was cancelled")
            continue
        verdict = _requisite_verdict(state, done, ctx.test)
        if isinstance(verdict, StateResult):
            done[state.id] = verdict
            continue
        result = _apply(state, ctx, watch_fired=verdict)
        if ctx.test and result.result is False:
            result = _unknowable_in_test(state, result, done)
        done[state.id] = result
    # Report in execution order, which is also the order the states ran.
    results = list(done.values())
    return RunResult(results=results, summary=summarize(results, (time.monotonic() - started) * 1000))
