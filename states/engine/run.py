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
                       sls_id=state.sls_id, ran=False)


def _stats(kind: str, targets: list[str], results: dict[str, StateResult]) -> set[str]:
    """What Salt's requisite check finds for one requisite kind (salt.state._check_requisites)."""
    base = kind.removesuffix("_any").removesuffix("_all")
    stats: set[str] = set()
    for target in targets:
        r = results[target]
        if base == "onfail":
            if r.result is True:
                stats.add("onfail")  # this one did not fail
                continue
        elif base == "onchanges":
            # A soft trigger: a failed target counts as one without changes, not as a failure.
            stats.add("onchanges" if r.result is False or not r.changes else "onchangesmet")
            continue
        elif r.result is False:
            stats.add("fail")
            continue
        if base == "watch" and r.changes:
            stats.add("change")
        elif base == "prereq":
            stats.add("premet" if r.result is None else "pre")
        elif r.ran:
            stats.add("met")
    if kind.endswith("_any") or kind == "onfail":  # one good target is enough
        if stats & {"met", "change"}:
            stats.discard("fail")
        if "onchangesmet" in stats:
            stats -= {"onchanges", "fail"}
        if "onfail" in stats and "met" in stats:
            stats.discard("onfail")
    if kind.endswith("_all") and "onfail" in stats:
        stats.discard("met")
    return stats


def _status(stats: set[str]) -> str:
    if "fail" in stats:
        return "fail"
    if "pre" in stats:
        return "met" if "premet" in stats else "pre"
    if "onfail" in stats and "onchangesmet" not in stats:
        return "onfail"
    if "onchanges" in stats and "onchangesmet" not in stats:
        return "onchanges"
    if "change" in stats:
        return "change"
    return "onfail" if "onfail" in stats else "met"


NOT_RUN = {
    "onfail": "State was not run because onfail req did not change",
    "onchanges": "State was not run because none of the onchanges reqs changed",
    "pre": "No changes detected",
}


def _requisite_verdict(state: CompiledState, done: dict[str, StateResult], pre: dict[str, StateResult],
                       prereq_of: list[str]) -> StateResult | bool:
    """A result for a state that must not run, or whether its watch fired (Salt's rules)."""
    stats: set[str] = set()
    for kind, targets in state.requisites().items():
        if targets and kind != "listen":
            stats |= _stats(kind, targets, pre if kind == "prereq" else done)
    if prereq_of:  # the states that had to run before this one because it would change
        stats |= _stats("require", prereq_of, done)
    status = _status(stats)
    if status == "fail":
        failed = [t for kind, targets in state.requisites().items() if kind not in ("onfail", "onfail_any", "onfail_all",
                  "onchanges", "onchanges_any", "listen", "prereq") for t in targets if done[t].result is False]
        failed += [t for t in prereq_of if done[t].result is False]
        return _not_run(state, False, "One or more requisite failed: " + ", ".join(dict.fromkeys(failed)))
    if status in NOT_RUN:
        return _not_run(state, True, NOT_RUN[status])
    return status == "change"


def _apply(state: CompiledState, ctx: StateContext, watch_fired: bool) -> StateResult:
    try:
        result = apply_one(state.id, state.fun, state.args, ctx, watch_fired=watch_fired)
        return result.model_copy(update={"sls": state.sls, "sls_id": state.sls_id})
    except Exception as exc:  # a buggy module fails its own state, never the whole run
        log.exception("state %s (%s) raised", state.id, state.fun)
        return _not_run(state, False, f"internal error in {state.fun}: {type(exc).__name__}: {exc}")


def _unknowable_in_test(state: CompiledState, result: StateResult, done: dict[str, StateResult]) -> StateResult:
    """In a dry run, a state can only plan from what is on the node *now*. When a state it
    requires would change first (pkg.held after a pkg.installed that has not run, an LV on a
    VG not created yet), its refusal says nothing about the real run: report it as "would
    change, cannot be planned until then" (None) instead of a failure, keeping the reason."""
    pending = [t for t in state.require + state.watch + state.require_any + state.watch_any if done[t].result is None]
    if not pending:
        return result
    if result.assumed is not None:  # what it would do once they made what it lacks (Salt shows it too)
        return result.model_copy(update={
            "result": None, "changes": result.assumed, "assumed": None,
            "comment": f"Would change once {', '.join(pending)} is applied (dry run); now: {result.comment}",
        })
    return result.model_copy(update={
        "result": None,
        "comment": f"Cannot be planned before {', '.join(pending)} is applied (dry run); now: {result.comment}",
    })


def _test_run(state: CompiledState, ctx: StateContext) -> StateResult:
    """What ``state`` would do now (a prereq looks at this before its own state runs)."""
    test_ctx = StateContext(runner=ctx.runner, test=True, node=ctx.node)
    return _apply(state, test_ctx, watch_fired=False)


def _listeners(compiled: CompiledRun, done: dict[str, StateResult], ctx: StateContext) -> list[StateResult]:
    """Salt's listen: at the end of the run, the mod_watch of every state one of whose
    listened-to states changed (reported as a ``module.mod_watch`` result of its own)."""
    results = []
    for state in compiled.ordered():
        if state.listen and state.id in done and any(_changed(done[t], ctx.test) for t in state.listen):
            result = _apply(state, ctx, watch_fired=True)
            results.append(result.model_copy(update={  # Salt's names for it: listener_ID, module.mod_watch
                "id": f"listener_{state.id}", "sls_id": f"listener_{state.sls_id or state.id}",
                "fun": f"{state.fun.split('.')[0]}.mod_watch"}))
    return results


def run(compiled: CompiledRun, ctx: StateContext, cancel: threading.Event | None = None) -> RunResult:
    started = time.monotonic()
    done: dict[str, StateResult] = {}
    pre: dict[str, StateResult] = {}
    prereq_of: dict[str, list[str]] = {}
    by_id = {s.id: s for s in compiled.states}
    for state in compiled.states:
        for target in state.prereq:
            prereq_of.setdefault(target, []).append(state.id)
    for state in compiled.ordered():
        if cancel is not None and cancel.is_set():
            done[state.id] = _not_run(state, False, "State was not run because the job was cancelled")
            continue
        for target in state.prereq:
            pre.setdefault(target, _test_run(by_id[target], ctx))
        verdict = _requisite_verdict(state, done, pre, prereq_of.get(state.id, []))
        if isinstance(verdict, StateResult):
            result = verdict
        elif state.error is not None:
            result = _not_run(state, False, state.error).model_copy(update={"ran": True})
        else:
            result = _apply(state, ctx, watch_fired=verdict)
            if ctx.test and result.result is False:
                result = _unknowable_in_test(state, result, done)
        done[state.id] = result
        if result.result is False and (state.failhard or compiled.failhard):
            break  # Salt's failhard: the rest of the run is not attempted (and not reported)
    # Report in execution order, which is also the order the states ran.
    results = list(done.values()) + _listeners(compiled, done, ctx)
    return RunResult(results=results, summary=summarize(results, (time.monotonic() - started) * 1000))
