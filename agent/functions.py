"""The agent's function registry: what a job's ``fun`` may name.

Each function declares a pydantic model for its arguments (job ``args`` map onto
the model's fields in order, ``kwargs`` by name; unknown names are an error). The
agent config's allowlist decides which registered functions a master may call.
Functions run in the agent's worker threads, never in a forked process.
"""

from __future__ import annotations

import fnmatch
import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from saline.protocol.codec import describe_validation_error

if TYPE_CHECKING:
    from .statelock import StateRunLock


class NoArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FunctionError(Exception):
    """A function failed in an expected way; the message goes into the return's ``error``."""

    def __init__(self, message: str, retcode: int = 1, data: Any = None):
        super().__init__(message)
        self.retcode = retcode
        self.data = data


@dataclass
class FunctionResult:
    """Returned by functions that decide success themselves (e.g. state.apply)."""

    success: bool
    data: Any = None
    retcode: int = 0


@dataclass
class FunctionContext:
    agent_id: str
    version: str
    # Settings from the agent config that functions need (state root, env for tools).
    settings: dict[str, Any] = field(default_factory=dict)
    cancel: threading.Event = field(default_factory=threading.Event)
    jid: str = ""
    # The agent's one-state-run-at-a-time lock (state.apply takes it).
    state_lock: "StateRunLock | None" = None


@dataclass(frozen=True)
class AgentFunction:
    name: str
    args_model: type[BaseModel]
    run: Callable[[Any, FunctionContext], Any]
    doc: str = ""
    # A function that changes the node (state.apply) is not abandoned halfway when the
    # job's timeout passes: it goes on and its result is returned late.
    outlives_timeout: bool = False


FUNCTIONS: dict[str, AgentFunction] = {}

# Modules whose import registers functions. New families (state.*, pacemaker events …)
# add themselves here.
FUNCTION_MODULES = ["saline.agent.fn_test", "saline.agent.fn_facts", "saline.agent.fn_state", "saline.agent.fn_openvz",
                    "saline.agent.fn_net", "saline.agent.fn_cluster", "saline.agent.fn_work", "saline.agent.fn_salt", "saline.agent.fn_compiled"]


def agent_function(name: str, args_model: type[BaseModel] = NoArgs, outlives_timeout: bool = False):
    def register(fn: Callable[[Any, FunctionContext], Any]):
        FUNCTIONS[name] = AgentFunction(name, args_model, fn, (fn.__doc__ or "").strip(), outlives_timeout)
        return fn

    return register


def load_functions() -> dict[str, AgentFunction]:
    for mod in FUNCTION_MODULES:
        importlib.import_module(mod)
    return FUNCTIONS


def is_allowed(name: str, allowlist: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in allowlist)


def bind_args(fn: AgentFunction, args: list[Any], kwargs: dict[str, Any]) -> BaseModel:
    """Map positional args onto the model's fields in declaration order, then validate. A model
    with ``VARARGS = "field"`` (a ClassVar) takes every positional argument as that list (Salt's
    ``*args``: ``pillar.item a b c``)."""
    fields = list(fn.args_model.model_fields)
    varargs = getattr(fn.args_model, "VARARGS", None)
    if varargs is None and len(args) > len(fields):
        raise FunctionError(f"{fn.name} takes at most {len(fields)} positional arguments, got {len(args)}")
    merged = ({varargs: list(args)} if args else {}) if varargs else dict(zip(fields, args))
    for key, value in kwargs.items():
        if key in merged:
            raise FunctionError(f"{fn.name}: argument {key!r} given twice")
        merged[key] = value
    try:
        return fn.args_model.model_validate(merged)
    except ValidationError as exc:
        raise FunctionError(f"{fn.name}: bad arguments: {describe_validation_error(exc)}") from None
