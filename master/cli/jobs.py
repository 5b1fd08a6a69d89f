"""``saline jobs``: stored jobs and their returns."""

from __future__ import annotations

import re
import sys

import click

from saline.protocol.patterns import JID_PATTERN

from .base import Ctx, Table, consoles, dump, fail, json_opt, when
from .main import main
from .run import print_job


@main.group()
def jobs() -> None:
    """Look at stored jobs and their returns."""


@jobs.command("list")
@click.option("--limit", default=20, show_default=True)
@json_opt
@click.pass_obj
def jobs_list(c: Ctx, limit: int) -> None:
    """The most recent jobs."""
    rows = c.ask({"op": "jobs_list", "limit": limit}, 10).data
    if c.as_json:
        dump(rows)
        return
    table = Table()
    table.add_column("jid", no_wrap=True)
    for col in ("function", "target", "started", "returned", "failed"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["jid"], r["fun"], r["target"], when(r["created_at"]), f"{r['returned']}/{r['targeted']}",
                      str(r["failed"]))
    consoles.out.print(table)


@jobs.command("show")
@click.argument("jid")
@json_opt
@click.pass_obj
def jobs_show(c: Ctx, jid: str) -> None:
    """One job with every agent's return (state runs are shown like a highstate)."""
    if not re.match(JID_PATTERN, jid):
        fail(f"{jid!r} is not a job id (expected 20 digits, '-', 8 hex digits)")
    job = c.ask({"op": "job_show", "jid": jid}, 10).data
    if job["fun"] == "state.apply" and not c.as_json:
        from saline.states.engine.report import render_run

        for r in job["returns"]:
            if r["status"] == "returned" and isinstance(r["data"], dict) and "results" in r["data"]:
                render_run(consoles.out, r["agent_id"], r["data"])
            else:
                consoles.out.print(f"[bold]{r['agent_id']}[/]: {r['status']} {r.get('error') or ''}")
        return
    sys.exit(print_job(job, c))
