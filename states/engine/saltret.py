"""A run's results keyed and shaped as Salt's state return, for tools that read Salt's JSON.

``salt-call --out json state.apply`` prints ``{"local": {KEY: {...}}}`` with
``KEY = "module_|-ID_|-name_|-function"`` and per state ``__id__``, ``__sls__``,
``__run_num__`` (execution order), ``changes``, ``comment``, ``duration`` (ms), ``name``,
``result`` (and ``__state_ran__: false`` for a state a requisite kept from running).
saline's own JSON (a list in execution order plus a summary) stays the default; this is
the ``--out salt-json`` view of the same data.
"""

from __future__ import annotations

from typing import Any

from saline.states.engine.apply import StateResult
from saline.states.engine.run import RunResult


def sls_id(result: StateResult) -> str:
    """The SLS ID: a state id is "ID (module)" when one ID holds several modules."""
    if result.sls_id:
        return result.sls_id
    module = result.fun.split(".", 1)[0]
    suffix = f" ({module})"
    return result.id[: -len(suffix)] if result.id.endswith(suffix) else result.id


def salt_key(result: StateResult) -> str:
    module, _, function = result.fun.partition(".")
    return f"{module}_|-{sls_id(result)}_|-{result.name}_|-{function}"


def salt_state(result: StateResult, run_num: int) -> dict[str, Any]:
    state: dict[str, Any] = {
        "__id__": sls_id(result),
        "__run_num__": run_num,
        "__sls__": result.sls,
        "changes": result.changes,
        "comment": result.comment,
        "duration": result.duration_ms,
        "name": result.name,
        "result": result.result,
    }
    if not result.ran:
        state["__state_ran__"] = False
    return state


def salt_keyed(run: RunResult | dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{KEY: state}`` for one agent's run, as under Salt's minion id."""
    run = run if isinstance(run, RunResult) else RunResult.model_validate(run)
    return {salt_key(r): salt_state(r, n) for n, r in enumerate(run.results)}
