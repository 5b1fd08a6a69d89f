"""``state.apply``: run a compiled, signed state list that the master sent in the job.

The state engine and its modules are imported on the first ``state.apply``, not when
the agent starts: an agent that only answers pings stays small.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from saline.protocol.codec import describe_validation_error

from .functions import FunctionContext, FunctionError, FunctionResult, agent_function

RETCODE_STATE_FAILED = 2


class StateApplyArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run: dict[str, Any]  # a CompiledRun, validated when the engine is loaded
    test: bool = False
    # Wait for a state run already running on this agent instead of being refused.
    queue: bool = False


@agent_function("state.apply", StateApplyArgs, outlives_timeout=True)
def state_apply(args: StateApplyArgs, ctx: FunctionContext) -> FunctionResult:
    """Apply the compiled states (``test=True``: report what would change, change nothing)."""
    from saline.states.engine.base import StateContext
    from saline.states.compile.compiled import CompiledRun
    from saline.states.engine.run import run as run_states
    from saline.states.engine.runner import Runner

    try:
        compiled = CompiledRun.model_validate(args.run)
    except ValidationError as exc:
        raise FunctionError(f"state.apply: bad arguments: run: {describe_validation_error(exc)}") from None
    if compiled.agent_id != ctx.agent_id:
        # The master compiles per agent (pillar included); a run for someone else is a bug or an attack.
        raise FunctionError(f"this run was compiled for {compiled.agent_id!r}, not for {ctx.agent_id!r}")
    runner = Runner(
        root=ctx.settings.get("state_root", "/"),
        env={**os.environ, **ctx.settings.get("state_env", {})},
        cancel=ctx.cancel,
    )
    backup_dir = ctx.settings.get("backup_dir")
    state_ctx = StateContext(runner=runner, test=args.test, node=ctx.settings.get("node", {}),
                             backup_dir=Path(backup_dir) if backup_dir else None)
    if ctx.state_lock is not None:
        ctx.state_lock.acquire(ctx.agent_id, ctx.jid, args.queue, ctx.cancel)
    try:
        result = run_states(compiled, state_ctx, cancel=ctx.cancel)
    finally:
        if ctx.state_lock is not None:
            ctx.state_lock.release(ctx.jid)
    return FunctionResult(
        success=result.ok,
        data=result.model_dump(mode="json"),
        retcode=0 if result.ok else RETCODE_STATE_FAILED,
    )
