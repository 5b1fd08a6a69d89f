"""What each maintenance step asks of the agents, and when it counts as done.

Every step is idempotent (re-running one after a master crash is safe): standby on a
node in standby changes nothing, a reboot already sent is not sent again, waits only
wait. Each returns its evidence or raises :class:`StepFailed` with the reason.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from saline.protocol.control import AgentReturn
from saline.states.system.crm_mon import ClusterView

from . import gates as G
from . import lock
from .driver import Call, Sleep, Step, StepFailed
from .spec import Spec

POLL = 1.0          # seconds between looks while waiting for the cluster
STATUS_TIMEOUT = 20.0


@dataclass
class RunCtx:
    api: Any                      # MasterAPI
    spec: Spec
    run_id: str | None
    context: dict[str, Any]       # persisted per-node memory: {node: {...}}
    save: Callable[[], None]      # persist ``context``

    def mem(self, node: str) -> dict[str, Any]:
        return self.context.setdefault(node, {})


def _returned(ret: AgentReturn | None, node: str, fun: str) -> AgentReturn:
    if ret is None or ret.status != "returned":
        status = ret.status if ret else "no job"
        why = {"not_connected": "is not connected", "no_return": "did not return in time"}.get(status, status)
        raise StepFailed(f"{fun}: the agent on {node} {why}")
    return ret


def call(node: str, fun: str, kwargs: dict | None = None, timeout: float = 60.0, stored: dict | None = None) -> Step:
    """A job that must succeed; returns its data."""
    ret = _returned((yield Call(node, fun, kwargs or {}, timeout, stored)), node, fun)
    if not ret.success:
        raise StepFailed(f"{fun} on {node} failed: {ret.error}", ret.data)
    return ret.data


def try_status(node: str, timeout: float = STATUS_TIMEOUT) -> Step:
    """cluster.status, or the reason there is none (a string)."""
    ret = yield Call(node, "cluster.status", {}, timeout)
    if ret is None or ret.status != "returned":
        return {"not_connected": "its agent is not connected", "no_return": "its agent did not answer in time"}.get(
            ret.status if ret else "", "its agent is gone")
    return ret.data if ret.success else f"cluster.status failed: {ret.error}"


def statuses(ctx: RunCtx) -> Step:
    out = {}
    for n in ctx.spec.cluster:
        out[n] = yield from try_status(n)
    return out


def agents_up(ctx: RunCtx) -> dict[str, bool]:
    return {n: ctx.api.presence.is_up(n) for n in ctx.spec.cluster}


def check_gates(ctx: RunCtx, node: str, reports: dict[str, Any]) -> Step:
    """The gates and the standby simulation for ``node``, as Gate models."""
    verdicts = G.evaluate(node, ctx.spec.peer(node), reports, agents_up(ctx), lock.held(ctx.api.jobs.conn), ctx.run_id)
    if isinstance(reports.get(node), dict):
        ret = yield Call(node, "cluster.simulate_standby", {}, 60.0)
        sim = ret.data if ret is not None and ret.status == "returned" and ret.success else (
            ret.error if ret is not None and ret.status == "returned" else f"agent {ret.status if ret else 'gone'}")
    else:
        sim = "no status from the node"
    return verdicts + [G.simulation_gate(node, sim)]


def _view(report: Any) -> ClusterView | None:
    return ClusterView.model_validate(report["crm"]) if isinstance(report, dict) and "crm" in report else None


# ---- the steps ---------------------------------------------------------------------------
def gates(ctx: RunCtx, node: str) -> Step:
    reports = yield from statuses(ctx)
    verdicts = yield from check_gates(ctx, node, reports)
    evidence = {"gates": [g.model_dump() for g in verdicts]}
    failed = [g for g in verdicts if not g.ok]
    if failed:
        raise StepFailed("gate failed: " + "; ".join(f"{g.name}: {g.evidence}" for g in failed), evidence)
    return evidence


def drain(ctx: RunCtx, node: str) -> Step:
    mem = ctx.mem(node)
    report = yield from try_status(node)
    view = _view(report)
    if view is None:
        raise StepFailed(f"no cluster status from {node}: {report}")
    if "resources_before" not in mem:
        mem["resources_before"] = sorted({view.top_level(r) for r in view.on_node(node) if not r.in_clone})
        ctx.save()
    yield from call(node, "cluster.standby", {"on": True}, 30)
    deadline = time.time() + ctx.spec.step_timeout
    while True:
        waited = yield from call(node, "cluster.wait_idle", {"timeout": max(5, deadline - time.time())},
                                 ctx.spec.step_timeout + 10)
        view = _view((yield from try_status(node)))
        left = sorted({r.id for r in view.on_node(node)}) if view else ["(no status)"]
        if not left:
            peer = ctx.spec.peer(node)
            return {"standby": True, "moved": mem["resources_before"], "idle_after_s": waited["seconds"],
                    "on_peer": sorted({view.top_level(r) for r in view.on_node(peer)})}
        if time.time() > deadline:
            raise StepFailed(f"{node} still runs {', '.join(left)} after {ctx.spec.step_timeout:g}s in standby")
        yield Sleep(POLL)


def work(ctx: RunCtx, node: str) -> Step:
    w, mem = ctx.spec.work, ctx.mem(node)
    timeout = ctx.spec.step_timeout
    if w.kind == "none":
        result: dict[str, Any] = {"work": "none", "reboot_required": None}
    elif w.kind == "cmd":
        data = yield from call(node, "work.cmd", {"argv": w.argv, "timeout": timeout}, timeout + 5)
        result = {"work": w.describe(), "rc": data["rc"], "stdout": data["stdout"][-500:],
                  "reboot_required": data["reboot_required"]}
    elif w.kind == "upgrade":
        data = yield from call(node, "work.upgrade", {"timeout": timeout}, timeout + 5)
        result = {"work": w.describe(), "upgraded": data["upgraded"], "reboot_required": data["reboot_required"]}
    else:
        from saline.master.compile import compile_for_agents

        compiled, errors = compile_for_agents(ctx.api, [node], w.states)
        if errors:
            raise StepFailed(f"states {','.join(w.states)} do not compile for {node}", errors)
        ret = _returned((yield Call(node, "state.apply", {"run": compiled[node], "test": False}, timeout,
                                    {"states": w.states, "test": False, "maintenance": ctx.run_id})), node, "state.apply")
        results = (ret.data or {}).get("results", []) if isinstance(ret.data, dict) else []
        failed = [f"{r.get('id')}: {r.get('comment')}" for r in results if r.get("result") is False]
        if not ret.success:
            raise StepFailed(f"state apply on {node} failed: " + ("; ".join(failed) or str(ret.error)),
                             {"failed": failed})
        result = {"work": w.describe(), "states": len(results),
                  "changed": sum(1 for r in results if r.get("changes")), "reboot_required": None}
    mem["reboot_required"] = result["reboot_required"]
    ctx.save()
    return result


def reboot(ctx: RunCtx, node: str) -> Step:
    mem = ctx.mem(node)
    mode = ctx.spec.reboot
    if mode == "never" or (mode == "auto" and not mem.get("reboot_required")):
        mem["rebooted"] = False
        ctx.save()
        return {"rebooted": False, "why": "--reboot never" if mode == "never" else "the work did not ask for one"}
    if not mem.get("reboot_sent"):
        report = yield from try_status(node)
        if not isinstance(report, dict):
            raise StepFailed(f"no status from {node} before its reboot: {report}")
        mem.update(session_before=report["session"], boot_before=report["boot_id"], reboot_sent=True, rebooted=True)
        ctx.save()
        ret = yield Call(node, "system.reboot", {}, 30)
        if ret is not None and ret.status == "returned" and not ret.success:
            mem["reboot_sent"] = False
            ctx.save()
            raise StepFailed(f"system.reboot on {node} failed: {ret.error}")
    why = "--reboot always" if mode == "always" else mem.get("reboot_required")
    return {"rebooted": True, "why": why, "session_before": mem["session_before"]}


def rejoin(ctx: RunCtx, node: str) -> Step:
    mem = ctx.mem(node)
    deadline = time.time() + (ctx.spec.rejoin_timeout if mem.get("rebooted") else ctx.spec.step_timeout)
    last = "no answer yet"
    while True:
        report = yield from try_status(node, timeout=5.0)
        if isinstance(report, dict):
            view = _view(report)
            new = not mem.get("rebooted") or report["session"] != mem.get("session_before") \
                or report["boot_id"] != mem.get("boot_before")
            me = view.nodes.get(node) if view else None
            if not new:
                last = f"the agent still runs its session from before the reboot ({report['session']})"
            elif me is None or not me.online:
                last = f"{node} answers but is not online in Pacemaker ({report.get('crm_error', 'offline')})"
            elif view.dc is None:
                last = "no DC elected yet"
            else:
                return {"session": report["session"], "boot_id": report["boot_id"], "online": True,
                        "standby": me.standby, "dc": view.dc}
        else:
            last = report
        if time.time() > deadline:
            limit = ctx.spec.rejoin_timeout if mem.get("rebooted") else ctx.spec.step_timeout
            raise StepFailed(f"{node} did not come back within {limit:g}s: {last}")
        yield Sleep(POLL)


def resync(ctx: RunCtx, node: str) -> Step:
    deadline = time.time() + ctx.spec.resync_timeout
    while True:
        reports = yield from statuses(ctx)
        missing = [n for n, r in reports.items() if not isinstance(r, dict)]
        problems = [f"{n}: {reports[n]}" for n in missing] + G.drbd_problems(
            {n: r for n, r in reports.items() if isinstance(r, dict)}) + G.md_problems(reports)
        if not problems:
            return {"drbd": G._drbd(reports).evidence, "md": G._md(reports).evidence}
        if time.time() > deadline:
            raise StepFailed(f"DRBD/md not healthy after {ctx.spec.resync_timeout:g}s: " + "; ".join(problems))
        yield Sleep(POLL * 2)


def unstandby(ctx: RunCtx, node: str) -> Step:
    yield from call(node, "cluster.standby", {"on": False}, 30)
    waited = yield from call(node, "cluster.wait_idle", {"timeout": ctx.spec.step_timeout}, ctx.spec.step_timeout + 10)
    view = _view((yield from try_status(node)))
    if view is None or view.nodes.get(node) is None or view.nodes[node].standby:
        raise StepFailed(f"{node} is still in standby after unstandby")
    return {"standby": False, "idle_after_s": waited["seconds"],
            "on_node": sorted({view.top_level(r) for r in view.on_node(node)})}


def move_back(ctx: RunCtx, node: str) -> Step:
    mem = ctx.mem(node)
    if not ctx.spec.move_back:
        return {"moved": [], "why": "not asked (--move-back)"}
    view = _view((yield from try_status(node)))
    here = {view.top_level(r) for r in view.on_node(node)} if view else set()
    todo = [r for r in mem.get("resources_before", []) if r not in here]
    created = mem.setdefault("created_constraints", [])
    for rid in todo:
        if rid not in created:
            created.append(rid)
            ctx.save()
        yield from call(node, "cluster.move", {"resource": rid}, 30)
    if todo:
        yield from call(node, "cluster.wait_idle", {"timeout": ctx.spec.step_timeout}, ctx.spec.step_timeout + 10)
        view = _view((yield from try_status(node)))
        now_here = {view.top_level(r) for r in view.on_node(node)} if view else set()
        stuck = [r for r in todo if r not in now_here]
        if stuck:
            # Leave no constraint of ours behind: the node is back, only the move failed.
            yield from call(node, "cluster.clear", {"resources": created}, 60)
            created.clear()
            ctx.save()
            raise StepFailed(f"{', '.join(stuck)} did not move back to {node} (resource-stickiness INFINITY or a "
                             "constraint keeps it on the peer); the move constraints were cleared")
    return {"moved": todo, "already_back": sorted(here & set(mem.get("resources_before", [])))}


def cleanup(ctx: RunCtx, node: str) -> Step:
    created = ctx.mem(node).get("created_constraints", [])
    data = yield from call(node, "cluster.clear", {"resources": created}, 60)
    if data["cli_constraints_left"]:
        raise StepFailed("cli-* constraints are still in the CIB: " + ", ".join(data["cli_constraints_left"]), data)
    if created:
        yield from call(node, "cluster.wait_idle", {"timeout": ctx.spec.step_timeout}, ctx.spec.step_timeout + 10)
    return {"cleared": created, "cli_constraints_left": [], "proof": "cibadmin --query --scope constraints has no cli-*"}


STEP_FUNCS = {"gates": gates, "drain": drain, "work": work, "reboot": reboot, "rejoin": rejoin, "resync": resync,
              "unstandby": unstandby, "move_back": move_back, "cleanup": cleanup}
