"""``saline events``: what happened on the nodes, and what the reactor did about it."""

from __future__ import annotations

import json
import re
import sys
import time
from datetime import datetime

import click

from .base import Ctx, consoles, dump, json_opt, when
from .main import main

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
SUMMARY_FIELDS = ("rsc", "task", "rc", "desc", "node", "attribute_name", "attribute_value", "jid", "failed",
                  "error", "version")


def parse_since(text: str, now: float | None = None) -> float:
    """``10m``, ``2h``, ``1d`` ago; an ISO date/time (local); or epoch seconds."""
    now = time.time() if now is None else now
    m = _RELATIVE.match(text.strip())
    if m:
        return now - float(m.group(1)) * _UNITS[m.group(2)]
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise click.BadParameter(f"{text!r}: give 10m / 2h / 1d, an ISO time (2026-12-03T08:00) or epoch seconds") from None


def safe(value: object, limit: int = 200) -> str:
    """Event text comes from the nodes: no terminal escapes, no rich markup, bounded."""
    from rich.markup import escape

    text = str(value)
    cut = text[:limit] + ("…" if len(text) > limit else "")
    return escape(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", cut))


def summary(data: dict) -> str:
    parts = []
    for k in SUMMARY_FIELDS:
        if k in data and data[k] not in (None, "", []):
            parts.append(f"{k}={data[k]}")
    return " ".join(parts)


def reaction_line(r: dict) -> str:
    color = {"done": "green", "failed": "red", "running": "yellow"}.get(r["status"], "white")
    bits = [f"    -> [{color}]{safe(r['name'], 64)} {r['status']}[/]"]
    if r.get("jid"):
        bits.append(r["jid"])
    if r.get("latency") is not None:
        bits.append(f"started {r['latency'] * 1000:.0f} ms after the event")
    if r.get("detail"):
        bits.append(safe(r["detail"], 300))
    return " ".join(bits)


def event_line(e: dict) -> str:
    seq = f"#{e['seq']}" if e["seq"] is not None else "-"
    return (f"{when(e['at'])} {safe(e['agent_id'], 64)} {seq} [bold]{safe(e['tag'], 128)}[/] "
            f"{safe(summary(e['data']), 600)}")


def print_events(rows: list[dict]) -> None:
    """One line per event, one indented line per reaction: readable in any width and in logs."""
    out = consoles.out
    for e in rows:
        out.print(event_line(e), soft_wrap=True)
        for r in e["reactions"]:
            out.print(reaction_line(r), soft_wrap=True)


@main.command()
@click.option("--tag", help="only tags matching this glob (pacemaker/resource/*)")
@click.option("--since", "since_text", help="only events since: 10m, 2h, 1d, an ISO time or epoch seconds")
@click.option("--limit", default=50, show_default=True, help="at most this many (the newest)")
@click.option("--follow", "-f", is_flag=True, help="keep printing events as they arrive (Ctrl-C ends)")
@json_opt
@click.pass_obj
def events(c: Ctx, tag: str | None, since_text: str | None, limit: int, follow: bool) -> None:
    """Events from the nodes (Pacemaker alerts, agent starts, failed state runs …) and their reactions."""
    since = parse_since(since_text) if since_text else None
    req = {"op": "events", "limit": limit, "tag": tag, "since": since}
    rows = c.ask(req, 30).data
    if not follow:
        dump(rows, c.out) if c.structured else print_events(rows)
        return
    for e in rows:
        _print_one(c, e)
    if rows:
        last = rows[-1]["id"]
    else:  # start after the newest event of any tag
        newest = c.ask({"op": "events", "limit": 1}, 30).data
        last = newest[-1]["id"] if newest else 0
    try:
        while True:
            got = c.ask({**req, "since": None, "after_id": last, "wait": 25, "limit": 1000}, 35).data
            for e in got:
                _print_one(c, e)
                last = e["id"]
    except KeyboardInterrupt:
        sys.exit(0)


def _print_one(c: Ctx, e: dict) -> None:
    if c.as_json:
        click.echo(json.dumps(e, default=str))  # one object per line, for scripts
        return
    consoles.out.print(event_line(e), soft_wrap=True)

