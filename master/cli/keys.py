"""``saline keys``: accept, reject, delete and compare agent keys (like salt-key)."""

from __future__ import annotations

import click

from .base import Ctx, Table, consoles, dump, json_opt, plain, safe, when
from .main import main


@main.group()
@json_opt
def keys() -> None:
    """Manage agent keys (like salt-key): list, accept, reject, delete."""


@keys.command("list")
@json_opt
@click.pass_obj
def keys_list(c: Ctx) -> None:
    """List keys by state."""
    rows = c.ask({"op": "keys", "action": "list"}, 10).data
    if c.structured:
        dump(rows, c.out)
        return
    table = Table()
    for col in ("agent", "state"):
        table.add_column(col)
    table.add_column("fingerprint", no_wrap=True)
    table.add_column("first seen")
    colors = {"accepted": "green", "pending": "yellow", "rejected": "red"}
    for r in rows:
        table.add_row(plain(r["id"]), f"[{colors[r['state']]}]{r['state']}[/]", plain(r["fingerprint"]), when(r["first_seen"]))
    consoles.out.print(table)
    _print_flood(c.ask({"op": "keys", "action": "flood"}, 10).data)


def _print_flood(flood: dict) -> None:
    """Say so when strangers have been flooding the master with new keys (the last hour)."""
    for s in flood["sources"][:10]:
        consoles.err.print(f"[yellow]pending-key flood from {safe(s['source'])}[/]: {s['refused']} new key(s) refused "
                           f"(over {flood['per_source']} pending per address), {s['evicted']} pending key(s) evicted "
                           f"(oldest first, over {flood['max_pending']} in all); last at {when(s['last'])}")
    more = len(flood["sources"]) - 10
    if more > 0:
        consoles.err.print(f"[yellow]… and {more} more flooding address(es)[/]; see saline keys flood --json")


@keys.command("flood")
@json_opt
@click.pass_obj
def keys_flood(c: Ctx) -> None:
    """Pending-key floods of the last hour: per address, new keys refused and pending keys evicted."""
    flood = c.ask({"op": "keys", "action": "flood"}, 10).data
    if c.structured:
        dump(flood, c.out)
        return
    consoles.out.print(f"{flood['pending']} pending key(s) of at most {flood['max_pending']}", markup=False)
    _print_flood(flood)


def _key_action(action: str):
    @click.argument("match", required=action == "delete", default=None)
    @click.option("--fingerprint", default=None, help="only act on the key with this fingerprint")
    @click.option("--include-rejected", is_flag=True, help="accept: also rejected keys; reject: also accepted keys")
    @click.option("--yes", "-y", is_flag=True, help="do not ask for confirmation")
    @json_opt
    @click.pass_obj
    def command(c: Ctx, match: str | None, fingerprint: str | None, include_rejected: bool, yes: bool) -> None:
        if match is None and not yes and not c.structured and not fingerprint:
            click.confirm(f"{action} ALL pending keys?", abort=True)
        reply = c.ask({"op": "keys", "action": action, "match": match, "fingerprint": fingerprint,
                       "include_rejected": include_rejected}, 10)
        if c.structured:
            dump(reply.data, c.out)
        else:
            for aid in reply.data["agents"]:
                consoles.out.print(f"{action}ed key: {safe(aid)}" if action != "delete" else f"deleted key: {safe(aid)}")

    command.__doc__ = f"{action.capitalize()} the key(s) of MATCH (agent id or glob)."
    return command


for _action in ("accept", "reject", "delete"):
    keys.command(_action)(_key_action(_action))


@keys.command("finger")
@click.argument("match", required=False)
@json_opt
@click.pass_obj
def keys_finger(c: Ctx, match: str | None) -> None:
    """Show fingerprints (the master's and the agents') to compare out of band."""
    data = c.ask({"op": "keys", "action": "finger", "match": match}, 10).data
    if c.structured:
        dump(data, c.out)
        return
    consoles.out.print(f"master: {safe(data['master'])}")
    for r in data["agents"]:
        consoles.out.print(f"{safe(r['id'])} ({r['state']}): {safe(r['fingerprint'])}")


# ---- agents and jobs ----------------------------------------------------------------------------
