"""Execution functions that answer from what the master compiled for this agent and put in
the signed job (``compiled``, see ``master/saltexec.py``): Salt's ``pillar.items``,
``pillar.get``, ``pillar.item``, ``state.show_top``, ``state.show_sls``,
``state.show_highstate``, ``state.show_lowstate`` and ``state.sls_id``.

The agent never holds its pillar or the state tree; the master compiles them for its
key-bound id. The answer still comes from the agent, so its allow-list (``functions:``) and
its job log decide, as in Salt where the minion answers.

Pillar values are masked as Salt 3008 masks them (every non-empty string, number and
boolean is ``**********``) unless the call says ``unmask=True``: a pillar holds secrets, and
a return is stored on the master and printed.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from .functions import FunctionContext, FunctionError, FunctionResult, agent_function

REDACTED = "**********"  # Salt's REDACT_PLACEHOLDER


def mask(value: Any) -> Any:
    """Salt's secret.serial: every truthy scalar leaf redacted, containers walked."""
    if isinstance(value, (str, bytes, int, float, bool)) and value:
        return REDACTED.encode() if isinstance(value, bytes) else REDACTED
    if isinstance(value, dict):
        return {k: mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    return value


class _Compiled(BaseModel):
    """Each model ends with ``compiled: Any = None``: what the master compiled for this agent
    (master/saltexec.py refuses it from a caller). Last, so positional arguments bind as Salt's."""

    model_config = ConfigDict(extra="forbid")


def _compiled(args: Any, fun: str) -> Any:
    if args.compiled is None:
        raise FunctionError(f"{fun} answers from what the master compiles for this agent, and this job "
                            f"carries none; call it with saline run")
    return args.compiled


def _pillar(args: Any, fun: str) -> dict[str, Any]:
    pillar = _compiled(args, fun)
    if not isinstance(pillar, dict):
        raise FunctionError(f"{fun}: the master sent a pillar that is not a mapping")
    return pillar


def _shown(value: Any, unmask: bool) -> Any:
    return value if unmask else mask(value)


# ---- pillar.* -----------------------------------------------------------------------------------


class PillarItemsArgs(_Compiled):
    unmask: bool = False
    saltenv: str | None = None  # accepted for Salt's CLI; the master compiled the one pillar
    compiled: Any = None


@agent_function("pillar.items", PillarItemsArgs)
def pillar_items(args: PillarItemsArgs, ctx: FunctionContext) -> dict[str, Any]:
    """This agent's pillar (values masked unless ``unmask=True``), Salt's pillar.items."""
    return _shown(_pillar(args, "pillar.items"), args.unmask)


class PillarGetArgs(_Compiled):
    key: str = Field(min_length=1)
    default: Any = ""
    merge: bool = False
    delimiter: str = Field(default=":", min_length=1)
    saltenv: str | None = None
    unmask: bool = False
    compiled: Any = None


@agent_function("pillar.get", PillarGetArgs)
def pillar_get(args: PillarGetArgs, ctx: FunctionContext) -> Any:
    """One pillar value by a colon path (``pillar.get drbd:r0:port default=7788``; list indexes
    too), ``default`` when missing, ``merge=True`` merges the default under it."""
    from saline.states.compile.saltfuncs import getter

    value = getter(_pillar(args, "pillar.get"))(args.key, args.default, args.delimiter, args.merge)
    return _shown(value, args.unmask)


class PillarItemArgs(_Compiled):
    VARARGS: ClassVar[str] = "keys"  # pillar.item a b:c d

    keys: list[str] = Field(min_length=1)
    default: Any = ""
    delimiter: str = Field(default=":", min_length=1)
    saltenv: str | None = None
    unmask: bool = False
    compiled: Any = None


@agent_function("pillar.item", PillarItemArgs)
def pillar_item(args: PillarItemArgs, ctx: FunctionContext) -> dict[str, Any]:
    """The named pillar keys (colon paths) as a mapping, ``default`` for those missing."""
    from saline.states.compile.saltfuncs import item_getter

    return _shown(item_getter(_pillar(args, "pillar.item"))(*args.keys, default=args.default, delimiter=args.delimiter),
                  args.unmask)


# ---- state.show_* --------------------------------------------------------------------------------


class ShowArgs(_Compiled):
    saltenv: str | None = None
    test: bool | None = None  # Salt's show functions accept it and ignore it
    queue: bool | None = None
    compiled: Any = None


class ShowSlsArgs(_Compiled):
    mods: str | list[str]
    saltenv: str | None = None
    test: bool | None = None
    queue: bool | None = None
    compiled: Any = None


@agent_function("state.show_top", ShowArgs)
def show_top(args: ShowArgs, ctx: FunctionContext) -> dict[str, list[str]]:
    """The SLS names the top file gives this agent, per environment."""
    return _compiled(args, "state.show_top")


@agent_function("state.show_sls", ShowSlsArgs)
def show_sls(args: ShowSlsArgs, ctx: FunctionContext) -> dict[str, Any]:
    """The high data of the named SLS (and their includes) as this agent gets them."""
    return _compiled(args, "state.show_sls")


@agent_function("state.show_highstate", ShowArgs)
def show_highstate(args: ShowArgs, ctx: FunctionContext) -> dict[str, Any]:
    """The high data of this agent's highstate (every SLS its top file gives it)."""
    return _compiled(args, "state.show_highstate")


@agent_function("state.show_lowstate", ShowArgs)
def show_lowstate(args: ShowArgs, ctx: FunctionContext) -> list[dict[str, Any]]:
    """This agent's highstate as Salt's low chunks, one per state, in run order."""
    return _compiled(args, "state.show_lowstate")


# ---- state.sls_id ----------------------------------------------------------------------------


class SlsIdArgs(_Compiled):
    id: str = Field(min_length=1)
    mods: str | list[str]
    saltenv: str | None = None
    test: bool = False
    queue: bool = False
    compiled: Any = None


@agent_function("state.sls_id", SlsIdArgs, outlives_timeout=True)
def sls_id(args: SlsIdArgs, ctx: FunctionContext) -> FunctionResult:
    """One ID of the named SLS and every state it has a requisite on (Salt 3008 runs those
    first), as a state run: ``state.sls_id ID SLS [test=True]``."""
    from .fn_state import StateApplyArgs, state_apply

    run = _compiled(args, "state.sls_id")
    return state_apply(StateApplyArgs(run=run, test=args.test, queue=args.queue), ctx)
