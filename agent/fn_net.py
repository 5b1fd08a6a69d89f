"""``net.garp``: gratuitous ARP for addresses that just moved to this node.

The seed's containers get a new veth MAC on every start, so after a failover routers
keep the old node's MAC for minutes. The reactor runs this on the node a container
resource started on: ``arping -U -S ADDR -c COUNT -I IFACE [-s MAC] ADDR``, which
updates the neighbours' caches at once. Debian's ``arping`` is Thomas Habets' arping:
its ``-U`` alone (the iputils spelling ``arping -U -I br0 ADDR``) keeps the interface's
own address as the sender, which announces nothing — verified with a listener on the
peer's bridge — so ``-S ADDR`` makes the sender the moved address. ``-s MAC`` sends the
container's own MAC (its veth is bridged, so the bridge's MAC would be wrong for it);
without it the interface's MAC is announced.
"""

from __future__ import annotations

import os
import re

from pydantic import BaseModel, ConfigDict, Field

from saline.protocol.netaddr import MAC, IPv4

from .functions import FunctionContext, FunctionError, FunctionResult, agent_function

_TRANSMITTED = re.compile(r"^(\d+) packets transmitted", re.M)


class GarpArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    interface: str = Field(default="br0", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,14}$")
    addresses: list[IPv4] = Field(min_length=1, max_length=64)
    count: int = Field(default=3, ge=1, le=10)
    mac: MAC | None = None


def garp_argv(interface: str, address: str, count: int, mac: str | None = None) -> list[str]:
    return ["arping", "-U", "-S", address, "-c", str(count), "-I", interface, *(["-s", mac] if mac else []), address]


def transmitted(output: str) -> int:
    """Packets arping sent (it exits 1 when nobody answers, which -U never expects)."""
    m = _TRANSMITTED.search(output)
    return int(m.group(1)) if m else 0


@agent_function("net.garp", GarpArgs)
def garp(args: GarpArgs, ctx: FunctionContext) -> FunctionResult:
    """Send gratuitous ARP for each address on the interface; fails if any was not sent."""
    from saline.states.engine.runner import Runner

    runner = Runner(env={**os.environ, **ctx.settings.get("state_env", {})}, timeout=5 + args.count * 2)
    if runner.which("arping") is None:
        raise FunctionError("arping is not installed (Debian package arping)")
    sent: dict[str, int] = {}
    for address in args.addresses:
        if ctx.cancel.is_set():
            raise FunctionError("cancelled")
        result = runner.run(garp_argv(args.interface, address, args.count, args.mac))
        sent[address] = transmitted(result.stdout)
    ok = all(n == args.count for n in sent.values())
    return FunctionResult(success=ok, data={"interface": args.interface, "sent": sent}, retcode=0 if ok else 1)
