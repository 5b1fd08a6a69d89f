"""``saline maintenance plan|run|status|resume|abort``: rolling maintenance of the two nodes."""

from __future__ import annotations

import getpass
import os
import socket
import sys
import time
from typing import Any

import click

from saline.master.client import MasterUnavailable

from .base import EXIT_ERROR, EXIT_FAILED, EXIT_OK, Ctx, Table, consoles, dump, fail, json_opt
from .main import main

POLL = 0.5
LONG = 7 * 86400  # a run may take long; the CLI follows it until it ends (Ctrl-C leaves it running)


def _owner() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()} pid {os.getpid()}"


def _nodes(value: str | None) -> list[str] | None:
    return [n.strip() for n in value.split(",") if n.strip()] if value else None


def _request(action: str, **kw: Any) -> dict[str, Any]:
    return {"op": "maintenance", "action": action, "owner": _owner(), **{k: v for k, v in kw.items() if v is not None}}


def _spec_options(f):
    for opt in reversed([
        click.option("--nodes", help="nodes to maintain, in order (default: both)"),
        click.option("--cluster", help="the two nodes of the cluster (default: the two accepted agents)"),
        click.option("--work", help="state:SLS[,SLS] | upgrade | cmd:ARGV (default: no work)"),
        click.option("--reboot", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
                     help="auto: only when the work says the node needs it"),
        click.option("--move-back", is_flag=True, help="move each node's own resources back after it returns"),
        click.option("--step-timeout", type=float, help="seconds for drain, work, unstandby (default 300)"),
        click.option("--rejoin-timeout", type=float, help="seconds for a node to come back after its reboot (default 600)"),
        click.option("--resync-timeout", type=float, help="seconds for DRBD/md to be healthy again (default 3600)"),
    ]):
        f = opt(f)
    return f


def _spec_request(action: str, nodes, cluster, work, reboot, move_back, step_timeout, rejoin_timeout, resync_timeout):
    return _request(action, nodes=_nodes(nodes), cluster=_nodes(cluster), work=work, reboot=reboot,
                    move_back=move_back, step_timeout=step_timeout, rejoin_timeout=rejoin_timeout,
                    resync_timeout=resync_timeout)


def _esc(text: Any) -> str:
    """Agents' words go to the terminal: no markup, no control characters."""
    from rich.markup import escape

    s = "".join(ch if ch.isprintable() or ch == "\n" else "?" for ch in str(text))
    return escape(s[:2000])


def print_plan(plan: dict) -> None:
    out = consoles.out
    spec = plan["spec"]
    out.print(f"[bold]maintenance plan[/]: nodes {', '.join(spec['nodes'])} one at a time; reboot {spec['reboot']}"
              f"{'; move back' if spec['move_back'] else ''}")
    out.print("steps, for each node in turn:")
    for i, s in enumerate(plan["nodes"][0]["steps"], 1):
        out.print(f"  {i}. {s['step']:<10} {_esc(s['doc'])}")
    for n in plan["nodes"]:
        out.print(f"\n[bold]{n['node']}[/] leaves, {n['peer']} carries everything: gates now")
        table = Table(show_header=True)
        for col in ("gate", "verdict", "evidence"):
            table.add_column(col)
        for g in n["gates"]:
            table.add_row(g["name"], "[green]pass[/]" if g["ok"] else "[red]FAIL[/]", _esc(g["evidence"]))
        out.print(table)
    out.print("[green]every gate passes: `saline maintenance run` would start[/]" if plan["ok"]
              else "[red]a gate fails: `saline maintenance run` would refuse to start[/]")


def _elapsed(step: dict, now: float) -> str:
    end = step.get("finished") or now
    return f"{end - step['started']:.1f}s"


def print_run(status: dict) -> None:
    out = consoles.out
    lock = status.get("lock")
    out.print(f"lock: {_esc(lock['owner'])}, run {lock['run_id']}, expires in {lock['expires'] - status['now']:.0f}s"
              if lock else "lock: free")
    run = status.get("run")
    if run is None:
        out.print("no maintenance run yet")
        return
    out.print(f"run {run['id']}: [bold]{run['status']}[/] (owner {_esc(run['owner'])}, work "
              f"{_esc(_work(run['spec']['work']))}, reboot {run['spec']['reboot']})")
    table = Table()
    for col in ("node", "step", "status", "elapsed", "evidence"):
        table.add_column(col)
    for s in run["steps"]:
        color = {"ok": "green", "failed": "red", "running": "yellow", "skipped": "dim"}.get(s["status"], "white")
        table.add_row(s["node"], s["step"], f"[{color}]{s['status']}[/]", _elapsed(s, status["now"]),
                      _esc(_brief(s["evidence"]))[:160])
    out.print(table)
    if run.get("error"):
        out.print(f"[red]error:[/] {_esc(run['error'])}")
    if run.get("safe_state"):
        out.print(f"[yellow]state left:[/] {_esc(run['safe_state'])}")


def _work(w: dict) -> str:
    return {"state": "state:" + ",".join(w.get("states", [])), "cmd": "cmd:" + " ".join(w.get("argv", []))}.get(
        w["kind"], w["kind"])


def _brief(evidence: Any) -> str:
    if not isinstance(evidence, dict):
        return "" if evidence is None else str(evidence)
    if "reason" in evidence:
        return evidence["reason"]
    if "gates" in evidence:
        return f"{sum(g['ok'] for g in evidence['gates'])}/{len(evidence['gates'])} gates pass"
    return ", ".join(f"{k}={v}" for k, v in evidence.items() if not isinstance(v, (dict, list)) or v)[:200]


def summary_rows(run: dict) -> dict[str, dict[str, float]]:
    """node → step → seconds (for the demo, the bench and the end of `run`)."""
    rows: dict[str, dict[str, float]] = {}
    for s in run["steps"]:
        if s.get("finished"):
            rows.setdefault(s["node"], {})[s["step"]] = round(s["finished"] - s["started"], 2)
    return rows


def follow(c: Ctx, run_id: str) -> dict:
    """Show progress (node, step, elapsed) until the run ends; returns the final status."""
    from rich.live import Live

    last: dict = {}
    try:
        with Live(console=consoles.err, refresh_per_second=4, transient=True) as live:
            while True:
                last = c.ask(_request("status", run_id=run_id), 30).data
                run = last["run"]
                cur = next((s for s in run["steps"] if s["status"] == "running"), None)
                live.update(f"run {run_id}: {run['status']}" + (
                    f" — {cur['node']} {cur['step']} {_elapsed(cur, last['now'])}" if cur else ""))
                if run["status"] != "running":
                    return last
                time.sleep(POLL)
    except KeyboardInterrupt:
        consoles.err.print(f"left run {run_id} running in the master; `saline maintenance status` to follow")
        sys.exit(EXIT_OK)


@main.group()
def maintenance() -> None:
    """Rolling maintenance of the two-node cluster: gated, one node at a time, resumable."""


@maintenance.command()
@_spec_options
@json_opt
@click.pass_obj
def plan(c: Ctx, **kw) -> None:
    """Show the steps and every gate's verdict now, with a crm_simulate pre-flight. Changes nothing."""
    reply = c.ask(_spec_request("plan", **kw), 300)
    if c.structured:
        dump(reply.data, c.out)
    else:
        print_plan(reply.data)
    sys.exit(EXIT_OK if reply.data["ok"] else EXIT_FAILED)


def _finish(c: Ctx, status: dict) -> None:
    if c.structured:
        dump(status, c.out)
    else:
        print_run(status)
    sys.exit(EXIT_OK if status["run"]["status"] == "done" else EXIT_FAILED)


def _started(c: Ctx, data: dict, message: str, detach: bool) -> None:
    """A run started or resumed: return at once (--detach) or follow it to its end."""
    if not c.structured:
        consoles.out.print(message)
    if detach:
        if c.structured:
            dump(data, c.out)
        sys.exit(EXIT_OK)
    _finish(c, follow(c, data["run_id"]))


@maintenance.command()
@_spec_options
@click.option("--detach", is_flag=True, help="start the run and return (follow with `status`)")
@json_opt
@click.pass_obj
def run(c: Ctx, detach: bool, **kw) -> None:
    """Run the maintenance: refuses to start when a gate fails; stops at the first failure."""
    try:
        reply = c.client.request_raw(_spec_request("run", **kw), 300)
    except MasterUnavailable as exc:
        fail(str(exc))
    if not reply.get("ok"):
        data = reply.get("data") or {}
        if c.structured:
            dump(reply, c.out)
        else:
            if isinstance(data, dict) and data.get("plan"):
                print_plan(data["plan"])
            consoles.err.print(f"[bold red]Error:[/] {_esc(reply.get('error'))}")
        sys.exit(EXIT_FAILED if reply.get("code") == "gate_failed" else EXIT_ERROR)
    _started(c, reply["data"], f"maintenance run {reply['data']['run_id']} started", detach)


@maintenance.command()
@click.argument("run_id", required=False)
@json_opt
@click.pass_obj
def status(c: Ctx, run_id: str | None) -> None:
    """The lock, and the latest run (or RUN_ID): per node and step, status, time, evidence."""
    data = c.ask(_request("status", run_id=run_id), 30).data
    if c.structured:
        dump(data, c.out)
    else:
        print_run(data)


@maintenance.command()
@click.argument("run_id", required=False)
@click.option("--detach", is_flag=True)
@json_opt
@click.pass_obj
def resume(c: Ctx, run_id: str | None, detach: bool) -> None:
    """Continue an interrupted or failed run at its recorded step (re-running that step)."""
    data = c.ask(_request("resume", run_id=run_id), 30).data
    _started(c, data, f"resuming run {data['run_id']} at {data['node']} {data['step']}", detach)


@maintenance.command()
@click.argument("run_id", required=False)
@json_opt
@click.pass_obj
def abort(c: Ctx, run_id: str | None) -> None:
    """Stop after the current step, leaving the cluster in a safe state; releases the lock."""
    data = c.ask(_request("abort", run_id=run_id), 30).data
    if c.structured:
        dump(data, c.out)
    else:
        consoles.out.print(f"run {data['run_id']}: {data['status']}" + (f" ({data['message']})" if data.get("message") else ""))
