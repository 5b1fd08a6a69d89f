"""Execution functions whose answer needs what only the master has: the agent's pillar and the
state tree (``pillar.items|get|item``, ``state.show_top|show_sls|show_highstate|show_lowstate``,
``state.sls_id``).

As for ``state.apply``, the master compiles for each target (its key-bound id, its facts, its
pillar) and puts the result in that agent's signed job as the ``compiled`` argument; the
agent's function answers from it (``agent/fn_compiled.py``), so the agent's allow-list and its
audit trail decide, as in Salt where the minion answers. The job record keeps the caller's
arguments only, not the compiled data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from saline.states.compile.show import Views

    from .interface import MasterAPI

log = logging.getLogger("saline.master.saltexec")

COMPILED_ARG = "compiled"  # the argument the master fills in; a caller may not


class BadCall(ValueError):
    """The call cannot be made as written (nothing was published)."""


def _arg(fun: str, args: list[Any], kwargs: dict[str, Any], position: int, name: str, example: str) -> Any:
    """A caller's argument by position or name (the agent validates the full call again)."""
    if name in kwargs:
        return kwargs[name]
    if len(args) > position:
        return args[position]
    raise BadCall(f"{fun} needs {name!r}: saline run TARGET {fun} {example}")


def _pillar(views: "Views", args: list, kwargs: dict) -> Any:
    return views.pillar


def _saltenv(kwargs: dict) -> str | None:
    value = kwargs.get("saltenv")
    return None if value is None else str(value)


BUILDERS: dict[str, Callable[["Views", list, dict], Any]] = {
    "pillar.items": _pillar,
    "pillar.get": _pillar,
    "pillar.item": _pillar,
    "state.show_top": lambda v, a, k: v.top(_saltenv(k)),
    "state.show_sls": lambda v, a, k: v.show_sls(_arg("state.show_sls", a, k, 0, "mods", "web,db"), _saltenv(k)),
    "state.show_highstate": lambda v, a, k: v.show_highstate(_saltenv(k)),
    "state.show_lowstate": lambda v, a, k: v.show_lowstate(_saltenv(k)),
    "state.sls_id": lambda v, a, k: v.sls_id(str(_arg("state.sls_id", a, k, 0, "id", "ID SLS")),
                                             _arg("state.sls_id", a, k, 1, "mods", "ID SLS"),
                                             _saltenv(k)).model_dump(mode="python"),
}


def needs_compiling(fun: str) -> bool:
    return fun in BUILDERS


def compile_answers(master: "MasterAPI", fun: str, agents: list[str], args: list[Any],
                    kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """(compiled data per agent, errors per agent). Raises BadCall for a call no agent could answer."""
    from saline.states.compile.render import CompileError
    from saline.states.compile.show import Views

    from .compile import compile_each

    if COMPILED_ARG in kwargs:
        raise BadCall(f"{fun}: {COMPILED_ARG!r} is filled in by the master; do not pass it")
    build = BUILDERS[fun]

    def answer(aid: str, node: dict, pillar: dict) -> Any:
        try:
            return build(Views(master.cfg.state_roots, pillar, node, aid), args, kwargs)
        except (CompileError, BadCall):
            raise
        except Exception as exc:  # a bug here must be this request's error, never the master's end
            log.exception("%s for %s failed", fun, aid)
            raise CompileError(f"{fun}: internal error while compiling: {type(exc).__name__}: {exc}") from None

    # state.sls_id's answer is a run: its size error names the biggest state (publish checks the rest)
    return compile_each(master, agents, answer, run_size=fun == "state.sls_id")


def publish_compiled(master: "MasterAPI", target: str, fun: str, agents: list[str], args: list[Any],
                     kwargs: dict[str, Any], timeout: float) -> tuple[str | None, dict[str, list[str]]]:
    """Compile for each agent, then publish with its own ``compiled``: (jid, {}) or (None, errors)."""
    answers, errors = compile_answers(master, fun, agents, args, kwargs)
    if errors:
        return None, errors
    jid = master.publish(target, fun, args, lambda aid: {**kwargs, COMPILED_ARG: answers[aid]}, timeout,
                         stored_kwargs=kwargs, agents=agents)
    return jid, {}
