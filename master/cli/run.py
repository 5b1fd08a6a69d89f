"""``saline run`` and ``saline apply``: publish a job, print its id, show every agent's return."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from .base import (
    EXIT_OK, Ctx, Table, consoles, dump, fail, interrupted, job_exit_code, json_opt, plain, safe,
)
from .batch import batch_options, run_batched
from .main import main

# The master waits this long past a job's timeout for its last returns (jobstore.RETURN_GRACE).
RETURN_GRACE = 2.0
# Functions that return a state run (shown like Salt's highstate output).
STATE_RUN_FUNS = ("state.apply", "state.single", "state.sls_id")


def parse_cli_args(raw: tuple[str, ...]) -> tuple[list[Any], dict[str, Any]]:
    """Salt style: ``key=value`` is a keyword argument, anything else positional; values are YAML,
    a leading-zero number kept as typed (``mode=0640`` is "0640", as in an SLS)."""
    import yaml

    from saline.protocol.yamlvalues import load

    args, kwargs = [], {}
    for item in raw:
        key, sep, value = item.partition("=")
        try:
            if sep and key.isidentifier():
                kwargs[key] = load(value) if value else ""
            else:
                args.append(load(item))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            fail(f"argument {item!r} is not a valid YAML value ({mark}); quote it, e.g. {key}='\"…\"'"
                 if sep else f"argument {item!r} is not a valid YAML value ({mark}); quote it")
    return args, kwargs


_STATUS = {
    "no_return": ("[red]no return[/]", "did not return before the timeout"),
    "not_connected": ("[red]agent down[/]", "agent was not connected when the job was published"),
    "pending": ("[yellow]running[/]", "still running"),
    "running": ("[yellow]running[/]", "still running past the timeout; its result will be stored when it returns"),
}


def print_job(job: dict, c: Ctx) -> int:
    """Any job as a table of agents (or JSON/YAML). Returns the exit code."""
    if c.structured:
        dump(job, c.out)
        return job_exit_code(job)
    returns = job["returns"]
    consoles.out.print(f"job {job['jid']}  {safe(job['fun'])}", style="bold")
    table = Table()
    for col in ("agent", "status", "result"):
        table.add_column(col)
    for r in returns:
        if r["status"] == "returned":
            status = "[green]ok[/]" if r["success"] else "[red]failed[/]"
            if r.get("late"):
                status += " [yellow](late)[/]"
            value = r["data"] if r["success"] else (r["error"] or r["data"])
            text = value if isinstance(value, str) else json.dumps(value, indent=1, default=str)
        else:
            status, text = _STATUS[r["status"]]
        table.add_row(plain(r["agent_id"]), status, plain(text))
    consoles.out.print(table)
    ok = sum(1 for r in returns if r["status"] == "returned" and r["success"])
    code = job_exit_code(job)
    consoles.out.print(f"{ok} of {len(returns)} agent(s) succeeded", style="green" if code == EXIT_OK else "red")
    return code


def print_state_job(job: dict, c: Ctx) -> int:
    """A state.apply job like Salt's highstate output, per agent."""
    if c.structured:
        dump(job, c.out)
        return job_exit_code(job)
    from saline.states.engine.report import render_run

    for r in job["returns"]:
        if r["status"] == "returned" and isinstance(r["data"], dict) and "results" in r["data"]:
            if r.get("late"):
                consoles.out.print(f"[yellow]{safe(r['agent_id'])}: returned after the timeout (late)[/]")
            try:
                render_run(consoles.out, r["agent_id"], r["data"], c.state_output)
            except Exception as exc:  # noqa: BLE001 - a malformed return: say so, show the other agents
                consoles.out.print(f"[bold]{safe(r['agent_id'])}[/]: [red]unreadable state run result[/] "
                                   f"{safe(str(exc).splitlines()[0])}")
        elif r["status"] == "returned":
            consoles.out.print(f"[bold]{safe(r['agent_id'])}[/]: [red]failed[/] {safe(r.get('error') or '')}")
        else:
            label, text = _STATUS[r["status"]]
            consoles.out.print(f"[bold]{safe(r['agent_id'])}[/]: {label} {text}")
    return job_exit_code(job)


def show_job(job: dict, c: Ctx) -> int:
    """The one renderer for run, apply, jobs show and jobs wait: same exit code in every format.
    State runs are shown like Salt's highstate (``--out highstate``), other jobs as a table;
    ``--out salt-json`` is Salt's JSON keyed by agent (``saltout``)."""
    if c.out == "salt-json":
        from .saltout import salt_view

        dump(salt_view(job), "json")
        return job_exit_code(job)
    if job["fun"] in STATE_RUN_FUNS:
        return print_state_job(job, c)
    return print_job(job, c)


def publish_and_show(c: Ctx, req: dict, as_async: bool) -> None:
    """Publish detached, print the job id at once (stderr for JSON/YAML), then wait for it."""
    published = c.ask({**req, "detach": True}, 60).data
    jid, agents = published["jid"], published["agents"]
    if as_async:
        if c.structured:
            dump({"jid": jid, "agents": agents}, c.out)
        else:
            consoles.out.print(f"job {jid} published to {len(agents)} agent(s); "
                               f"see it with: saline jobs show {jid}  (or saline jobs wait {jid})", markup=False)
        sys.exit(EXIT_OK)
    note = consoles.err if c.structured else consoles.out
    try:
        note.print(f"job {jid} published to {len(agents)} agent(s), waiting up to {published['timeout']:g}s "
                   "(Ctrl-C stops waiting, not the job)", markup=False, style="dim")
        job = c.wait_job(jid, published["timeout"] + RETURN_GRACE)
    except KeyboardInterrupt:
        interrupted(jid)
    sys.exit(show_job(job, c))


def publish_or_batch(c: Ctx, req: dict, as_async: bool, batch: str | None, batch_wait: float) -> None:
    if batch is None:
        if batch_wait:
            fail("--batch-wait needs --batch")
        publish_and_show(c, req, as_async)
    run_batched(c, req, batch, batch_wait, as_async)


def target_type_options(f):
    """Salt's target types: -G grain, -P grain_pcre, -I pillar, -J pillar_pcre, -C compound,
    -N nodegroup, -E pcre, -L list, -S ipcidr (default: a glob, a comma list or 'all')."""
    for short, long, kind in reversed((("-G", "--grain", "grain"), ("-P", "--grain-pcre", "grain_pcre"),
                                       ("-I", "--pillar", "pillar"), ("-J", "--pillar-pcre", "pillar_pcre"),
                                       ("-C", "--compound", "compound"), ("-N", "--nodegroup", "nodegroup"),
                                       ("-E", "--pcre", "pcre"), ("-L", "--list", "list"), ("-S", "--ipcidr", "ipcidr"))):
        f = click.option(short, long, "tgt_type", flag_value=kind, help=f"TARGET is a {kind} expression")(f)
    return click.option("--glob", "tgt_type", flag_value="glob", default=True, hidden=True)(f)


@main.command()
@click.argument("target")
@click.argument("function")
@click.argument("args", nargs=-1)
@click.option("--timeout", type=float, default=None, help="seconds to wait for returns (master default 30)")
@click.option("--async", "as_async", is_flag=True, help="print the job id and return at once")
@batch_options
@target_type_options
@json_opt
@click.pass_obj
def run(c: Ctx, target: str, function: str, args: tuple[str, ...], timeout: float | None, as_async: bool,
        batch: str | None, batch_wait: float, tgt_type: str) -> None:
    """Run FUNCTION on the agents matching TARGET (glob, comma list, or 'all').

    Arguments are YAML values; key=value gives a keyword argument:
    saline run 'node*' test.sleep seconds=2
    """
    pos, kw = parse_cli_args(args)
    publish_or_batch(c, {"op": "run", "target": target, "tgt_type": tgt_type, "fun": function, "args": pos,
                         "kwargs": kw, "timeout": timeout}, as_async, batch, batch_wait)


@main.command()
@click.argument("target")
@click.argument("states", nargs=-1)
@click.option("--test", is_flag=True, help="dry run: show what would change, change nothing")
@click.option("--timeout", type=float, default=None,
              help="seconds to wait (master default 300); a state run goes on past it and returns late")
@click.option("--queue", is_flag=True, help="wait behind a state run already running on an agent instead of failing")
@click.option("--saltenv", default=None, help="only this environment of the top file (default: all, merged, base first)")
@click.option("--async", "as_async", is_flag=True, help="print the job id and return at once")
@batch_options
@target_type_options
@json_opt
@click.pass_obj
def apply(c: Ctx, target: str, states: tuple[str, ...], test: bool, timeout: float | None, queue: bool,
          saltenv: str | None, as_async: bool, batch: str | None, batch_wait: float, tgt_type: str) -> None:
    """Apply STATES (or the highstate from the top file) on the agents matching TARGET."""
    publish_or_batch(c, {"op": "apply", "target": target, "tgt_type": tgt_type, "states": list(states), "test": test,
                         "timeout": timeout, "queue": queue, **({"saltenv": saltenv} if saltenv else {})}, as_async,
                     batch, batch_wait)
