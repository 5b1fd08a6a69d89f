"""``saline agents`` and ``saline status``: who is connected, is the master running."""

from __future__ import annotations

import time

import click

from .base import Ctx, Table, consoles, dump, json_opt, plain, safe
from .main import main


@main.command()
@json_opt
@click.pass_obj
def agents(c: Ctx) -> None:
    """Agents known to the master: up/down/pending, last seen, version, address."""
    rows = c.ask({"op": "agents"}, 10).data
    if c.structured:
        dump(rows, c.out)
        return
    table = Table()
    for col in ("agent", "state", "last seen", "version", "address"):
        table.add_column(col)
    colors = {"up": "green", "down": "red", "pending": "yellow", "rejected": "red"}
    for r in rows:
        ago = f"{time.time() - r['last_seen']:.0f}s ago" if r["last_seen"] else "never"
        table.add_row(plain(r["id"]), f"[{colors.get(r['state'], 'white')}]{safe(r['state'])}[/]", ago,
                      plain(r["version"] or "-"), plain(r["address"] or "-"))
    consoles.out.print(table)
    _hints(rows)


def _hints(rows: list[dict]) -> None:
    """What to do about agents that are not up: the master cannot run jobs on them."""
    pending = [r["id"] for r in rows if r["state"] == "pending"]
    down = [r["id"] for r in rows if r["state"] == "down"]
    if pending:
        consoles.out.print(f"{len(pending)} key(s) pending; those agents wait and take no jobs: compare "
                           f"`saline keys finger {pending[0]}` with the fingerprint in the agent's log, then "
                           f"`saline keys accept {pending[0]}`", markup=False)
    if down:
        consoles.out.print(f"{len(down)} agent(s) down (no heartbeat): check that saline-agent runs there; its log "
                           f"says whether it cannot reach the master or its key was refused", markup=False)


@main.command()
@json_opt
@click.pass_obj
def status(c: Ctx) -> None:
    """Is the master running? Prints its version and key fingerprint."""
    data = c.ask({"op": "ping"}, 5).data
    if c.structured:
        dump(data, c.out)
    else:
        consoles.out.print(f"master is running: saline {safe(data['version'])}, key fingerprint {safe(data['fingerprint'])}")
