"""``saline schedule`` (drift-correction schedules) and ``saline drift`` (what drifted)."""

from __future__ import annotations

import sys
import time

import click

from .base import EXIT_FAILED, Ctx, consoles, dump, json_opt, when
from .events import safe
from .main import main


@main.group()
def schedule() -> None:
    """Scheduled drift runs: state.apply test=True on a target, report or fix what drifted."""


def _print_schedules(rows: list[dict]) -> None:
    out = consoles.out
    if not rows:
        out.print("no schedules")
    for s in rows:
        state = "paused" if s["paused"] else ("running" if s["running"] else f"next {when(s['next_run'])}")
        states = ",".join(s["states"]) or "highstate"
        out.print(f"[bold]{safe(s['name'], 64)}[/] {safe(s['target'], 100)} {safe(states, 200)} "
                  f"policy={s['policy']} {safe(s['trigger'], 100)} ({state})", soft_wrap=True)


@schedule.command("list")
@json_opt
@click.pass_obj
def schedule_list(c: Ctx) -> None:
    """Every schedule with its next run."""
    rows = c.ask({"op": "schedule", "action": "list"}, 10).data
    dump(rows, c.out) if c.structured else _print_schedules(rows)


@schedule.command("add")
@click.argument("name")
@click.argument("target")
@click.option("--states", default="", help="comma-separated SLS names (default: the highstate)")
@click.option("--every", help="interval: 30s, 10m, 1h, 1d")
@click.option("--cron", help="crontab fields: '*/15 * * * *'")
@click.option("--policy", type=click.Choice(["report", "fix"]), default="report", show_default=True,
              help="fix: re-apply the SLS files that drifted (never Pacemaker's)")
@json_opt
@click.pass_obj
def schedule_add(c: Ctx, name: str, target: str, states: str, every: str | None, cron: str | None,
                 policy: str) -> None:
    """Add schedule NAME checking TARGET (glob, list or 'all')."""
    if bool(every) == bool(cron):
        raise click.UsageError("give exactly one of --every and --cron")
    trigger = f"every {every}" if every else f"cron {cron}"
    req = {"op": "schedule", "action": "add", "name": name, "target": target, "policy": policy, "trigger": trigger,
           "states": [s.strip() for s in states.split(",") if s.strip()]}
    row = c.ask(req, 10).data
    dump(row, c.out) if c.structured else _print_schedules([row])


def _simple(action: str, doc: str):
    @click.argument("name")
    @json_opt
    @click.pass_obj
    def command(c: Ctx, name: str) -> None:
        data = c.ask({"op": "schedule", "action": action, "name": name}, 10).data
        if c.structured:
            dump(data, c.out)
        elif isinstance(data, dict) and "paused" in data:
            _print_schedules([data])
        else:
            consoles.out.print(f"{action}: {safe(name, 64)}" + (f" (job {data['jid']})" if data.get("jid") else ""))

    command.__doc__ = doc
    schedule.command(action)(command)


_simple("remove", "Remove a schedule (and its drift records).")
_simple("pause", "Stop running a schedule until it is resumed (kept across restarts).")
_simple("resume", "Run a paused schedule again.")
_simple("run-now", "Start a run of a schedule now (see the result with `saline drift`).")


@main.command()
@json_opt
@click.pass_obj
def drift(c: Ctx) -> None:
    """The latest drift per agent and state: what would change, since when, what was done."""
    rows = c.ask({"op": "drift"}, 10).data
    if c.structured:
        dump(rows, c.out)
    else:
        out = consoles.out
        if not rows:
            out.print("no drift")
        now = time.time()
        for r in rows:
            color = {"fixed": "green", "reported": "yellow"}.get(r["status"], "red")
            out.print(f"[bold]{safe(r['agent_id'], 64)}[/] {safe(r['item'], 200)} ({safe(r['fun'], 64)}"
                      f"{', ' + safe(r['sls'], 100) if r['sls'] else ''}) [{color}]{r['status']}[/] "
                      f"since {when(r['since'])} ({(now - r['since']) / 60:.0f} min), schedule {safe(r['schedule'], 64)}",
                      soft_wrap=True)
            if r["comment"]:
                out.print(f"    {safe(r['comment'], 500)}", soft_wrap=True)
            for key, value in (r["changes"] or {}).items():
                text = value if isinstance(value, str) else repr(value)
                for line in str(text).splitlines()[:40]:
                    out.print(f"    {safe(key, 40)}: {safe(line, 300)}", soft_wrap=True)
    # Scripts can tell "drift found" from "all converged".
    sys.exit(EXIT_FAILED if any(r["status"] not in ("fixed",) for r in rows) else 0)
