"""``saline jobs``: stored jobs and their returns, what runs now, waiting for and stopping a job."""

from __future__ import annotations

import re
import sys

import click

from saline.protocol.patterns import JID_PATTERN

from .base import EXIT_OK, Ctx, Table, consoles, dump, fail, json_opt, plain, when
from .main import main
from .run import print_job, show_job


def _check_jid(jid: str) -> None:
    if not re.match(JID_PATTERN, jid):
        fail(f"{jid!r} is not a job id (expected 20 digits, '-', 8 hex digits)")


@main.group()
@json_opt
def jobs() -> None:
    """Look at stored jobs and their returns; wait for or stop a running job."""


@jobs.command("list")
@click.option("--limit", default=20, show_default=True)
@json_opt
@click.pass_obj
def jobs_list(c: Ctx, limit: int) -> None:
    """The most recent jobs. "failed" counts failed returns, agents that were down and
    agents that did not return; "running" the returns still to come."""
    rows = c.ask({"op": "jobs_list", "limit": limit}, 10).data
    if c.structured:
        dump(rows, c.out)
        return
    table = Table()
    table.add_column("jid", no_wrap=True)
    for col in ("function", "target", "started", "returned", "failed", "running"):
        table.add_column(col)
    for r in rows:
        fun = r["fun"] + (" (test)" if r.get("test") else "")
        table.add_row(r["jid"], plain(fun), plain(r["target"]), when(r["created_at"]),
                      f"{r['returned']}/{r['targeted']}", str(r["failed"]), str(r.get("running", 0)))
    consoles.out.print(table)


@jobs.command("show")
@click.argument("jid")
@json_opt
@click.pass_obj
def jobs_show(c: Ctx, jid: str) -> None:
    """One job with every agent's return (state runs are shown like a highstate).
    Exit code as for run/apply, in every output format."""
    _check_jid(jid)
    job = c.ask({"op": "job_show", "jid": jid}, 10).data
    sys.exit(show_job(job, c))


@jobs.command("wait")
@click.argument("jid")
@click.option("--timeout", type=float, default=3600, show_default=True, help="seconds to wait at most")
@json_opt
@click.pass_obj
def jobs_wait(c: Ctx, jid: str, timeout: float) -> None:
    """Wait until every agent has returned job JID (or the timeout), then show it like jobs show."""
    _check_jid(jid)
    sys.exit(show_job(c.wait_job(jid, timeout), c))


@jobs.command("active")
@json_opt
@click.pass_obj
def jobs_active(c: Ctx) -> None:
    """What runs where now (the agents report their running jobs in every heartbeat)."""
    rows = c.ask({"op": "jobs_active"}, 10).data
    if c.structured:
        dump(rows, c.out)
        return
    if not rows:
        consoles.out.print("no job is running")
        return
    table = Table()
    table.add_column("jid", no_wrap=True)
    for col in ("agent", "function", "target", "started", "running for"):
        table.add_column(col)
    for r in rows:
        since = f"{r['seconds']:.0f}s" + (" (past its timeout)" if r["overdue"] else "")
        table.add_row(r["jid"], plain(r["agent_id"]), plain(r["fun"]), plain(r["target"]), when(r["created_at"]), since)
    consoles.out.print(table)


@jobs.command("kill")
@click.argument("jid")
@json_opt
@click.pass_obj
def jobs_kill(c: Ctx, jid: str) -> None:
    """Stop job JID on the agents still running it: no further state runs, the command in
    flight is terminated; the job's own return then says what was done."""
    _check_jid(jid)
    job = c.ask({"op": "job_kill", "jid": jid}, 30).data
    code = print_job(job, c)
    if code == EXIT_OK and not c.structured:
        consoles.out.print(f"job {jid} is stopping; its return: saline jobs wait {jid}", markup=False)
    sys.exit(code)


@jobs.command("prune")
@click.option("--older-than", "older_than", type=float, default=None,
              help="delete jobs older than this many days (default: the master's retention.jobs_days)")
@click.option("--events-older-than", "events_older_than", type=float, default=None,
              help="delete events older than this many days (default: retention.events_days)")
@json_opt
@click.pass_obj
def jobs_prune(c: Ctx, older_than: float | None, events_older_than: float | None) -> None:
    """Delete old jobs (with their returns) and events now; the master also does this by itself
    every retention.interval seconds, and keeps at most retention.max_jobs / max_events."""
    done = c.ask({"op": "jobs_prune", "older_than_days": older_than, "events_older_than_days": events_older_than},
                 60).data
    if c.structured:
        dump(done, c.out)
        return
    consoles.out.print(f"pruned {done['jobs']} job(s) with {done['returns']} return(s), "
                       f"{done['events']} event(s) with {done['reactions']} reaction(s)", markup=False)
