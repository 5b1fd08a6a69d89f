"""``test.*``: functions for checking that an agent answers (Salt's test module)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .functions import FunctionContext, FunctionError, agent_function


class SleepArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: float = Field(ge=0, le=3600)


class EchoArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=65536)


@agent_function("test.ping")
def ping(args, ctx: FunctionContext) -> bool:
    """Return True: the agent is up, verified the job and can run functions."""
    return True


@agent_function("test.version")
def version(args, ctx: FunctionContext) -> str:
    """The agent's saline version."""
    return ctx.version


@agent_function("test.echo", EchoArgs)
def echo(args: EchoArgs, ctx: FunctionContext) -> str:
    """Return the text given."""
    return args.text


@agent_function("test.sleep", SleepArgs)
def sleep(args: SleepArgs, ctx: FunctionContext) -> bool:
    """Sleep for ``seconds`` (wakes early and fails if the job is cancelled by its timeout)."""
    if ctx.cancel.wait(args.seconds):
        raise FunctionError("cancelled")
    return True
