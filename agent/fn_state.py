"""``state.apply``: run a compiled, signed state list that the master sent in the job."""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict

from saline.states.base import StateContext
from saline.states.compiled import CompiledRun
from saline.states.engine import run as run_states
from saline.states.runner import Runner

from .functions import FunctionContext, FunctionError, FunctionResult, agent_function

RETCODE_STATE_FAILED = 2


class StateApplyArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run: CompiledRun
    test: bool = False


@agent_function("state.apply", StateApplyArgs)
def state_apply(args: StateApplyArgs, ctx: FunctionContext) -> FunctionResult:
    """Apply the compiled states (``test=True``: report what would change, change nothing)."""
    if args.run.agent_id != ctx.agent_id:
        # The master compiles per agent (pillar included); a run for someone else is a bug or an attack.
        raise FunctionError(f"this run was compiled for {args.run.agent_id!r}, not for {ctx.agent_id!r}")
    runner = Runner(
        root=ctx.settings.get("state_root", "/"),
        env={**os.environ, **ctx.settings.get("state_env", {})},
    )
    state_ctx = StateContext(runner=runner, test=args.test, node=ctx.settings.get("node", {}))
    result = run_states(args.run, state_ctx, cancel=ctx.cancel)
    return FunctionResult(
        success=result.ok,
        data=result.model_dump(mode="json"),
        retcode=0 if result.ok else RETCODE_STATE_FAILED,
    )
