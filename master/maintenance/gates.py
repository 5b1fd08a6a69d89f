"""The gates a node must pass before it leaves the cluster, each with its evidence.

Pure: the verdicts come from the ``cluster.status`` reports of both nodes, which agents
are up, and the lock. The same function serves ``plan`` (verdicts now) and ``run``
(verdicts again, fresh, right before each node is drained).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from saline.states.system.crm_mon import ClusterView, cli_constraints, fence_constraints

from .lock import LockInfo

GATES = ("lock_free", "agents_up", "peer_online", "no_failed_actions", "no_stray_cli_constraints",
         "no_drbd_fence_constraints", "drbd_healthy", "md_clean", "no_unmanaged_holders")


class Gate(BaseModel):
    name: str
    ok: bool
    evidence: str


def _view(report: dict[str, Any] | None) -> ClusterView | None:
    if not report or "crm" not in report:
        return None
    return ClusterView.model_validate(report["crm"])


def _lock(lock: LockInfo | None, run_id: str | None) -> Gate:
    if lock is None:
        return Gate(name="lock_free", ok=True, evidence="no maintenance lock is held")
    if run_id is not None and lock.run_id == run_id:
        return Gate(name="lock_free", ok=True, evidence=f"held by this run ({lock.owner})")
    return Gate(name="lock_free", ok=False, evidence=lock.describe())


def _agents(up: dict[str, bool], reports: dict[str, Any]) -> Gate:
    down = [n for n, ok in sorted(up.items()) if not ok]
    silent = [n for n in sorted(up) if n not in down and not isinstance(reports.get(n), dict)]
    if down or silent:
        parts = ([f"agent down: {', '.join(down)}"] if down else []) + \
                [f"{n}: cluster.status failed: {reports.get(n) or 'no return'}" for n in silent]
        return Gate(name="agents_up", ok=False, evidence="; ".join(parts))
    return Gate(name="agents_up", ok=True, evidence=f"agents up and answering: {', '.join(sorted(up))}")


def _peer(node: str, peer: str, view: ClusterView | None, report: dict[str, Any] | None) -> Gate:
    if view is None:
        why = (report or {}).get("crm_error", "no cluster status from the node")
        return Gate(name="peer_online", ok=False, evidence=f"cannot see the cluster from {node}: {why}")
    p, me = view.nodes.get(peer), view.nodes.get(node)
    problems = []
    if p is None or not p.online:
        problems.append(f"{peer} is not online")
    elif p.standby:
        problems.append(f"{peer} is in standby")
    elif p.maintenance:
        problems.append(f"{peer} is in maintenance mode")
    if me is None or not me.online:
        problems.append(f"{node} itself is not online")
    if view.dc is None:
        problems.append("no DC elected")
    if problems:
        return Gate(name="peer_online", ok=False, evidence="; ".join(problems))
    return Gate(name="peer_online", ok=True, evidence=f"{peer} online, not in standby; DC {view.dc}")


def _failures(view: ClusterView | None) -> Gate:
    if view is None:
        return Gate(name="no_failed_actions", ok=False, evidence="no cluster status")
    failed = [f"{f.op_key} on {f.node}" + (f" ({f.exitreason})" if f.exitreason else "") for f in view.failures]
    failed += [f"{r.id} failed on {','.join(r.nodes)}" for r in view.resources if r.failed]
    if failed:
        return Gate(name="no_failed_actions", ok=False,
                    evidence="failed resource actions: " + "; ".join(failed) + " (crm_resource --cleanup after fixing)")
    return Gate(name="no_failed_actions", ok=True, evidence="no failed resource actions")


def _constraints(report: dict[str, Any] | None) -> tuple[Gate, Gate]:
    ids = (report or {}).get("constraints")
    if ids is None:
        why = (report or {}).get("constraints_error", "no constraints read")
        return (Gate(name="no_stray_cli_constraints", ok=False, evidence=why),
                Gate(name="no_drbd_fence_constraints", ok=False, evidence=why))
    cli, fence = cli_constraints(ids), fence_constraints(ids)
    return (
        Gate(name="no_stray_cli_constraints", ok=not cli,
             evidence=f"left by an earlier move/ban: {', '.join(cli)} (crm_resource --clear)" if cli
             else f"no cli-* constraint among {len(ids)}"),
        Gate(name="no_drbd_fence_constraints", ok=not fence,
             evidence=f"DRBD fenced the peer: {', '.join(fence)}" if fence else "no drbd-fence-by-handler-* constraint"),
    )


def drbd_problems(reports: dict[str, Any]) -> list[str]:
    problems = []
    for node, rep in sorted(reports.items()):
        d = (rep or {}).get("drbd") if isinstance(rep, dict) else None
        if d is None:
            problems.append(f"{node}: no DRBD status")
            continue
        if d.get("error"):
            problems.append(f"{node}: {d['error']}")
        for name, res in sorted(d.get("resources", {}).items()):
            problems += [f"{node} {name}: {p}" for p in res["problems"]]
        missing = set(d.get("configured", [])) - set(d.get("resources", {}))
        problems += [f"{node} {name}: configured but not up" for name in sorted(missing)] if not d.get("error") else []
    return problems


def md_problems(reports: dict[str, Any]) -> list[str]:
    problems = []
    for node, rep in sorted(reports.items()):
        arrays = ((rep or {}).get("md") or {}).get("arrays", {}) if isinstance(rep, dict) else {}
        problems += [f"{node} {a['summary']}" for a in arrays.values() if not a["healthy"]]
    return problems


def _drbd(reports: dict[str, Any]) -> Gate:
    problems = drbd_problems(reports)
    if problems:
        return Gate(name="drbd_healthy", ok=False, evidence="; ".join(problems))
    names = sorted({n for r in reports.values() if isinstance(r, dict) for n in (r.get("drbd") or {}).get("resources", {})})
    return Gate(name="drbd_healthy", ok=True, evidence=(
        f"Connected, UpToDate/UpToDate, in sync: {', '.join(names)}" if names else "no DRBD resource configured"))


def _md(reports: dict[str, Any]) -> Gate:
    problems = md_problems(reports)
    if problems:
        return Gate(name="md_clean", ok=False, evidence="; ".join(problems))
    count = sum(len(((r or {}).get("md") or {}).get("arrays", {})) for r in reports.values() if isinstance(r, dict))
    return Gate(name="md_clean", ok=True, evidence=f"{count} md array(s), all clean" if count else "no md arrays")


def _holders(node: str, report: dict[str, Any] | None) -> Gate:
    report = report or {}
    found = report.get("holders")
    if found is None:
        return Gate(name="no_unmanaged_holders", ok=False, evidence=f"{node}: holders not reported")
    if found:
        what = "; ".join(f"pid {h['pid']} ({h['comm']}) holds {h['path']}" for h in found[:10])
        return Gate(name="no_unmanaged_holders", ok=False,
                    evidence=f"{node}: processes Pacemaker does not manage hold its data open: {what}")
    paths = report.get("data_paths") or []
    return Gate(name="no_unmanaged_holders", ok=True,
                evidence=f"nothing unmanaged holds {', '.join(paths)}" if paths else "no data volumes mounted")


def evaluate(node: str, peer: str, reports: dict[str, Any], up: dict[str, bool], lock: LockInfo | None,
             run_id: str | None = None) -> list[Gate]:
    """Every gate for ``node`` leaving; ``reports`` maps node → its cluster.status (or an error string)."""
    mine = reports.get(node) if isinstance(reports.get(node), dict) else None
    view = _view(mine)
    cli, fence = _constraints(mine)
    return [_lock(lock, run_id), _agents(up, reports), _peer(node, peer, view, mine), _failures(view), cli, fence,
            _drbd(reports), _md(reports), _holders(node, mine)]


def simulation_gate(node: str, sim: dict[str, Any] | str | None) -> Gate:
    """The pre-flight: crm_simulate with ``node`` in standby keeps every resource running."""
    if not isinstance(sim, dict):
        return Gate(name="standby_simulation", ok=False, evidence=f"crm_simulate failed: {sim or 'no return'}")
    if sim["lost"] or sim["still_on_node"]:
        bad = sim["lost"] + [f"{r} would stay on {node}" for r in sim["still_on_node"]]
        return Gate(name="standby_simulation", ok=False, evidence=f"{node} in standby: " + "; ".join(bad))
    moves = ", ".join(sim["moves"]) or "nothing"
    return Gate(name="standby_simulation", ok=True,
                evidence=f"{node} in standby: every resource keeps running on the peer (moves: {moves})")
