"""``cluster.*``: what a maintenance run asks of a node's Pacemaker, DRBD and md.

Read: ``cluster.status`` (membership, placement, failed actions, constraints, DRBD, md,
processes holding the data volumes, and who this agent is: boot id and session).
Change: ``cluster.standby`` (a node attribute, so it survives the node's reboot),
``cluster.move``/``cluster.clear`` (``crm_resource``), ``cluster.wait_idle``.
Simulate: ``cluster.simulate_standby`` runs ``crm_simulate`` on a private copy of the
live CIB, so the live cluster never sees it.
Drift runs read ``cluster.resources`` (every resource with its target-role, so a
resource disabled on purpose is not reported as stopped).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from saline.states.engine.runner import CommandResult, Runner
from saline.states.system import crm_mon, drbd, holders, mdadm

from .functions import FunctionContext, FunctionError, agent_function

ResourceId = Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9_.:-]+$")
NodeName = Field(default=None, min_length=1, max_length=256, pattern=r"^[A-Za-z0-9_.-]+$")


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StandbyArgs(_Args):
    on: bool
    node: str | None = NodeName  # default: this node


class WaitArgs(_Args):
    timeout: float = Field(default=120, gt=0, le=3600)


class SimulateArgs(_Args):
    node: str | None = NodeName


class MoveArgs(_Args):
    resource: str = ResourceId
    node: str | None = NodeName


class ClearArgs(_Args):
    resources: list[str] = Field(max_length=1000)


def _runner(ctx: FunctionContext, timeout: float = 60) -> Runner:
    return Runner(env={**os.environ, **ctx.settings.get("state_env", {})}, timeout=timeout)


def _checked(result: CommandResult) -> CommandResult:
    if result.rc != 0:
        raise FunctionError(result.describe())
    return result


def agent_session() -> str:
    """This agent process: pid and start time (clock ticks after boot), unique per boot."""
    stat = Path("/proc/self/stat").read_bytes()
    return f"{os.getpid()}-{stat[stat.rindex(b')') + 2:].split()[19].decode()}"


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _drbd(run: Runner) -> dict[str, Any]:
    names = run.run(["drbdadm", "sh-resources"], timeout=20)
    if names.rc == 127 or (names.rc == 0 and not names.stdout.split()):
        return {"configured": [], "resources": {}}
    if names.rc != 0:
        return {"error": drbd.drbd_error(names.stderr) or names.describe()}
    status = run.run(["drbdadm", "status", "all"], timeout=20)
    if status.rc != 0:
        return {"configured": names.stdout.split(), "error": drbd.drbd_error(status.stderr) or status.describe()}
    parsed = drbd.parse_status(status.stdout)
    return {"configured": names.stdout.split(),
            "resources": {n: {"summary": r.summary(), "problems": r.problems()} for n, r in parsed.items()}}


def _md() -> dict[str, Any]:
    try:
        text = Path("/proc/mdstat").read_text()
    except OSError:
        return {"arrays": {}}
    arrays = mdadm.parse_mdstat(text)
    return {"arrays": {n: mdadm.health(n, a, None).model_dump() for n, a in arrays.items()}}


@agent_function("cluster.status")
def status(args, ctx: FunctionContext) -> dict[str, Any]:
    """This node's view: Pacemaker membership and placement, failed actions, constraint ids,
    DRBD and md health, unmanaged holders of the data volumes, boot id and agent session."""
    run = _runner(ctx, 30)
    out: dict[str, Any] = {"node": ctx.agent_id, "boot_id": _boot_id(), "session": agent_session()}
    mon = run.run(crm_mon.CRM_MON_ARGV)
    if mon.rc == 0:
        try:
            out["crm"] = crm_mon.parse_crm_mon(mon.stdout).model_dump()
        except Exception as exc:  # noqa: BLE001 - reported as evidence, the gate fails on it
            out["crm_error"] = f"crm_mon output not understood: {exc}"
    else:
        out["crm_error"] = mon.describe()
    cons = run.run(crm_mon.CONSTRAINTS_ARGV)
    out["constraints"] = crm_mon.constraint_ids(cons.stdout) if cons.rc == 0 else None
    if cons.rc != 0:
        out["constraints_error"] = cons.describe()
    out["drbd"] = _drbd(run)
    out["md"] = _md()
    paths = holders.data_paths(Path("/proc/self/mountinfo").read_text(), ctx.settings.get("data_paths", []))
    out["data_paths"] = paths
    out["holders"] = [h.model_dump() for h in holders.holders(paths)]
    return out


@agent_function("cluster.standby", StandbyArgs)
def standby(args: StandbyArgs, ctx: FunctionContext) -> dict[str, Any]:
    """Put a node (default: this one) in standby or bring it back; permanent, so it holds over a reboot."""
    node = args.node or ctx.agent_id
    _checked(_runner(ctx).run(["crm_attribute", "--node", node, "--name", "standby", "--update",
                               "on" if args.on else "off", "--lifetime", "forever"]))
    return {"node": node, "standby": args.on}


@agent_function("cluster.wait_idle", WaitArgs)
def wait_idle(args: WaitArgs, ctx: FunctionContext) -> dict[str, Any]:
    """Wait until the cluster has no pending actions (``crm_resource --wait``)."""
    r = _runner(ctx, args.timeout + 10).run(["crm_resource", "--wait", f"--timeout={int(args.timeout)}s"])
    if r.rc != 0:
        raise FunctionError(f"the cluster did not settle within {args.timeout:g}s: {r.describe()}")
    return {"idle": True, "seconds": round(r.duration_ms / 1000, 3)}


@agent_function("cluster.simulate_standby", SimulateArgs)
def simulate_standby(args: SimulateArgs, ctx: FunctionContext) -> dict[str, Any]:
    """``crm_simulate`` on a copy of the live CIB with the node in standby: what would stop."""
    node = args.node or ctx.agent_id
    run = _runner(ctx)
    with tempfile.TemporaryDirectory(prefix="saline-sim-") as tmp:
        copy = Path(tmp) / "cib.xml"
        copy.write_text(_checked(run.run(["cibadmin", "--query"])).stdout)
        _checked(run.run(["crm_attribute", "--node", node, "--name", "standby", "--update", "on",
                          "--lifetime", "forever"], env={"CIB_file": str(copy)}))
        sim = _checked(run.run(["crm_simulate", "--xml-file", str(copy), "--simulate", "--output-as=xml"]))
    before, after = crm_mon.parse_simulation(sim.stdout)
    left = sorted({after.top_level(r) for r in after.on_node(node)})
    return {"node": node, "lost": crm_mon.lost_in(before, after), "still_on_node": left,
            "moves": sorted({before.top_level(r) for r in before.on_node(node)})}


@agent_function("cluster.move", MoveArgs)
def move(args: MoveArgs, ctx: FunctionContext) -> dict[str, Any]:
    """``crm_resource --move`` (creates ``cli-prefer-RESOURCE``; ``cluster.clear`` removes it)."""
    node = args.node or ctx.agent_id
    _checked(_runner(ctx).run(["crm_resource", "--move", "--resource", args.resource, "--node", node]))
    return {"resource": args.resource, "node": node, "constraint": f"cli-prefer-{args.resource}"}


@agent_function("cluster.clear", ClearArgs)
def clear(args: ClearArgs, ctx: FunctionContext) -> dict[str, Any]:
    """``crm_resource --clear`` for each resource, then the ``cli-*`` constraints still in the CIB."""
    run = _runner(ctx)
    for rid in args.resources:
        _checked(run.run(["crm_resource", "--clear", "--resource", rid]))
    ids = crm_mon.constraint_ids(_checked(run.run(crm_mon.CONSTRAINTS_ARGV)).stdout)
    return {"cleared": args.resources, "cli_constraints_left": crm_mon.cli_constraints(ids)}


@agent_function("cluster.resources")
def resources(args, ctx: FunctionContext) -> dict:
    """Every resource crm_mon shows: role, active, failed, managed, nodes, target_role (read-only).
    Drift runs report failed or stopped resources from it; they never act on them."""
    from saline.states.system.pcmk_status import CRM_MON_ARGV, parse_resources

    done = _runner(ctx, 30).run(CRM_MON_ARGV)
    if done.rc != 0:
        raise FunctionError(f"crm_mon failed: {done.describe()[:500]}")
    try:
        found = parse_resources(done.stdout)
    except Exception as exc:  # noqa: BLE001 - reported to the caller
        raise FunctionError(f"cannot read crm_mon's XML: {exc}") from None
    return {rid: r.model_dump() for rid, r in found.items()}
