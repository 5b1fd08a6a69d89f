"""``facts.items``: what the node is (Salt's grains)."""

from __future__ import annotations

from typing import Any

from saline.states.system.localfacts import node_facts

from .functions import FunctionContext, agent_function


def gather_facts(agent_id: str, version: str) -> dict[str, Any]:
    return node_facts(agent_id, version)  # the same facts saline call renders with


@agent_function("facts.items")
def items(args, ctx: FunctionContext) -> dict[str, Any]:
    """Hostname, OS, kernel, boot id, CPU/memory, interfaces, init system, agent version, and
    the LXC containers on the node (name, state, config path, hwaddr, rootfs)."""
    from saline.states.engine.runner import Runner
    from saline.states.system.lxc import containers

    # Containers are asked for here only, not in the facts templates render with: their
    # state changes by the minute and must not make a highstate render differently.
    listed = containers(Runner(root=ctx.settings.get("state_root", "/")))
    return {**gather_facts(ctx.agent_id, ctx.version), "containers": [c.model_dump() for c in listed]}
