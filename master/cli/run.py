"""``saline run`` and ``saline apply``: publish a job and show every agent's return."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from .base import EXIT_FAILED, EXIT_OK, Ctx, Table, consoles, dump, json_opt
from .main import main


def parse_cli_args(raw: tuple[str, ...]) -> tuple[list[Any], dict[str, Any]]:
    """Salt style: ``key=value`` is a keyword argument, anything else positional; values are YAML."""
    import yaml

    args, kwargs = [], {}
    for item in raw:
        key, sep, value = item.partition("=")
        if sep and key.isidentifier():
            kwargs[key] = yaml.safe_load(value) if value else ""
        else:
            args.append(yaml.safe_load(item))
    return args, kwargs


def print_job(job: dict, c: Ctx) -> int:
    returns = job["returns"]
    failed = [r for r in returns if r["status"] != "returned" or not r["success"]]
    if c.as_json:
        dump(job)
        return EXIT_FAILED if failed else EXIT_OK
    consoles.out.print(f"job {job['jid']}  {job['fun']}", style="bold")
    table = Table()
    for col in ("agent", "status", "result"):
        table.add_column(col)
    for r in returns:
        if r["status"] == "returned":
            status = "[green]ok[/]" if r["success"] else "[red]failed[/]"
            value = r["data"] if r["success"] else (r["error"] or r["data"])
            text = value if isinstance(value, str) else json.dumps(value, indent=1, default=str)
        else:
            status = {"no_return": "[red]no return[/]", "not_connected": "[red]agent down[/]",
                      "pending": "[yellow]pending[/]"}[r["status"]]
            text = {"no_return": "did not return before the timeout",
                    "not_connected": "agent was not connected when the job was published",
                    "pending": "still running"}[r["status"]]
        table.add_row(r["agent_id"], status, text)
    consoles.out.print(table)
    ok = len(returns) - len(failed)
    consoles.out.print(f"{ok} of {len(returns)} agent(s) succeeded", style="green" if not failed else "red")
    return EXIT_FAILED if failed else EXIT_OK


@main.command()
@click.argument("target")
@click.argument("function")
@click.argument("args", nargs=-1)
@click.option("--timeout", type=float, default=None, help="seconds to wait for returns (master default 30)")
@json_opt
@click.pass_obj
def run(c: Ctx, target: str, function: str, args: tuple[str, ...], timeout: float | None) -> None:
    """Run FUNCTION on the agents matching TARGET (glob, comma list, or 'all').

    Arguments are YAML values; key=value gives a keyword argument:
    saline run 'node*' test.sleep seconds=2
    """
    pos, kw = parse_cli_args(args)
    reply = c.ask({"op": "run", "target": target, "fun": function, "args": pos, "kwargs": kw, "timeout": timeout},
                  (timeout or 30) + 30)
    sys.exit(print_job(reply.data, c))


@main.command()
@click.argument("target")
@click.argument("states", nargs=-1)
@click.option("--test", is_flag=True, help="dry run: show what would change, change nothing")
@click.option("--timeout", type=float, default=None)
@json_opt
@click.pass_obj
def apply(c: Ctx, target: str, states: tuple[str, ...], test: bool, timeout: float | None) -> None:
    """Apply STATES (or the highstate from the top file) on the agents matching TARGET."""
    from saline.states.engine.report import render_run

    reply = c.ask({"op": "apply", "target": target, "states": list(states), "test": test, "timeout": timeout},
                  (timeout or 30) + 60)
    job = reply.data
    failed = False
    if c.as_json:
        dump(job)
    for r in job["returns"]:
        bad = r["status"] != "returned" or not r["success"]
        failed = failed or bad
        if c.as_json:
            continue
        if r["status"] == "returned" and isinstance(r["data"], dict) and "results" in r["data"]:
            render_run(consoles.out, r["agent_id"], r["data"])
        else:
            consoles.out.print(f"[bold]{r['agent_id']}[/]: [red]{r['status']}[/] {r.get('error') or ''}")
    sys.exit(EXIT_FAILED if failed else EXIT_OK)
