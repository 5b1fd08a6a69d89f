"""Compiling each targeted agent's states on the master before anything is published.

Each agent gets only its own pillar and its own compiled state list (file contents
inline), so an agent never fetches files or another node's secrets from the master.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .interface import MasterAPI

log = logging.getLogger("saline.master.compile")


def agent_node(master: "MasterAPI", aid: str) -> tuple[dict[str, Any], int | None]:
    """What the master compiles with for ``aid``: its last reported facts (or only its id), and
    its frame limit (None: not known yet)."""
    p = master.presence.get(aid)
    return (dict(p.facts) if p and p.facts else {"id": aid}), (p.max_frame if p else None)


def compile_each(master: "MasterAPI", agents: list[str], build: Callable[[str, dict, dict], Any],
                 run_size: bool = True) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """``build(agent_id, facts, pillar)`` for each agent, with its own pillar: (results, errors per
    agent). ``run_size``: each result is a compiled run, checked against the agent's frame limit."""
    from saline.protocol.codec import pack
    from saline.states.compile.compiler import CompileError
    from saline.states.compile.pillar import load_pillar

    from .jobsize import compiled_too_large

    results: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for aid in agents:
        node, max_frame = agent_node(master, aid)
        try:
            results[aid] = build(aid, node, load_pillar(master.cfg.pillar_roots, aid, node))
        except CompileError as exc:
            errors[aid] = [str(exc)] + missing_roots(master.cfg, pillar=False)
            log.warning("compile error for %s: %s", aid, exc)
            continue
        too_big = run_size and compiled_too_large(aid, results[aid], len(pack(results[aid])), max_frame)
        if too_big:
            errors[aid] = [too_big]
            log.warning("compile error for %s: %s", aid, too_big)
    return results, errors


def compile_for_agents(master: "MasterAPI", agents: list[str], states: list[str],
                       saltenv: str | None = None) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Returns (compiled run per agent as plain data, errors per agent). ``saltenv``: only that
    environment of the top file (a highstate); named SLS are found in the one set of roots."""
    from saline.states.compile.compiler import compile_highstate

    return compile_each(master, agents, lambda aid, node, pillar: compile_highstate(
        master.cfg.state_roots, pillar, node, aid, states or None, saltenv=saltenv).model_dump(mode="python"))


def publish_apply(master: "MasterAPI", target: str, agents: list[str], states: list[str], test: bool,
                  timeout: float, queue: bool = False, saltenv: str | None = None) -> tuple[str | None, dict[str, list[str]]]:
    """Compile for each agent and publish one ``state.apply``: (jid, {}) or (None, errors).
    Shared by ``saline apply``, the reactor and scheduled drift runs."""
    compiled, errors = compile_for_agents(master, agents, states, saltenv)
    if errors:
        return None, errors
    jid = master.publish(
        target, "state.apply", [],
        lambda aid: {"run": compiled[aid], "test": test, **({"queue": True} if queue else {})},
        timeout,
        stored_kwargs={"states": states, "test": test, **({"saltenv": saltenv} if saltenv else {})},
        agents=agents,
    )
    return jid, {}


def missing_roots(cfg, pillar: bool = True) -> list[str]:
    """What is wrong with the configured roots, as lines that say what to do."""
    kinds = [("state_root", cfg.state_roots)] + ([("pillar_root", cfg.pillar_roots)] if pillar else [])
    return [f"{kind} {root} does not exist: create it or fix {kind}s in the master config"
            for kind, roots in kinds for root in roots if not root.is_dir()]


def warn_missing_roots(cfg) -> None:
    """At master start: a missing state root is not fatal (runs still work), but say so."""
    for line in missing_roots(cfg):
        log.warning("%s", line)
