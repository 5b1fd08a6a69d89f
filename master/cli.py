"""``saline``: the operator CLI. Talks to the master over its local control socket."""

from __future__ import annotations

import functools
import json
import re
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from saline.protocol.patterns import JID_PATTERN

from .client import ControlClient, MasterUnavailable
from .defaults import DEFAULT_CONFIG, DEFAULT_CONTROL_SOCKET

# The CLI imports neither pydantic nor rich up front: `saline run` should cost little more
# than its round trip. The master validates every request; rich loads when a table prints.
EXIT_OK, EXIT_ERROR, EXIT_FAILED = 0, 1, 2


class _Consoles:
    @functools.cached_property
    def out(self):
        from rich.console import Console

        # emoji=False: fingerprints like "c8:25:cd:9a" must not turn into emoji.
        return Console(emoji=False, highlight=False)

    @functools.cached_property
    def err(self):
        from rich.console import Console

        return Console(stderr=True, emoji=False, highlight=False)


consoles = _Consoles()


def Table(**kw):  # noqa: N802 - rich's class, imported when a table is printed
    from rich.table import Table as RichTable

    return RichTable(**kw)


class Reply(dict):
    @property
    def data(self) -> Any:
        return self.get("data")


class Ctx:
    def __init__(self, socket: Path, as_json: bool):
        self.client = ControlClient(socket)
        self.as_json = as_json

    def ask(self, req: dict[str, Any], timeout: float) -> Reply:
        try:
            reply = Reply(self.client.request_raw(req, timeout))
        except MasterUnavailable as exc:
            fail(str(exc))
        if not reply.get("ok"):
            if self.as_json:
                click.echo(json.dumps(reply, indent=2, default=str))
                sys.exit(EXIT_ERROR)
            detail = reply.data.get("errors") if isinstance(reply.data, dict) else None
            fail(reply.get("error") or "request failed", detail)
        return reply


def control_socket_from(config_path: str | None) -> str:
    """Only ``control_socket`` is needed from the master's config; the master validates the rest."""
    import yaml

    path = Path(config_path or DEFAULT_CONFIG)
    if not path.exists():
        if config_path:
            fail(f"config file {path} does not exist")
        return DEFAULT_CONTROL_SOCKET
    try:
        data = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    except yaml.YAMLError as exc:
        fail(f"{path}: not valid YAML: {exc}")
    if not isinstance(data, dict):
        fail(f"{path}: top level must be a mapping")
    return str(data.get("control_socket", DEFAULT_CONTROL_SOCKET))


def fail(message: str, detail: Any = None) -> None:
    err = consoles.err
    err.print(f"[bold red]Error:[/] {message}", highlight=False)
    if isinstance(detail, dict):
        for agent, errors in detail.items():
            for e in errors if isinstance(errors, list) else [errors]:
                err.print(f"  {agent}: {e}", highlight=False)
    sys.exit(EXIT_ERROR)


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


def _dump(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


class _MainGroup(click.Group):
    """Loads the commands that do not talk to the master (masterless ``call``, the cluster
    ``lab``) only when one of them is used: they import the state compiler and the lab,
    which would otherwise add ~0.1 s to every ``saline run``."""

    lazy = {"call": ("saline.states.cli_call", "call"), "lab": ("saline.lab.cli", "lab")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy and name not in self.commands:
            import importlib

            module, attr = self.lazy[name]
            self.add_command(getattr(importlib.import_module(module), attr), name)
        return super().get_command(ctx, name)


@click.group(cls=_MainGroup)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help=f"master config (default {DEFAULT_CONFIG})")
@click.option("--socket", "socket_path", type=click.Path(), help="master control socket (overrides the config)")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, socket_path: str | None, as_json: bool) -> None:
    """saline: Salt-style orchestration for two-node HA clusters."""
    if socket_path is None:
        socket_path = control_socket_from(config_path)
    ctx.obj = Ctx(Path(socket_path), as_json)


def _json_opt(f):
    """`--json` is accepted after the subcommand too (``saline run '*' test.ping --json``)."""
    def set_json(ctx: click.Context, _param, value: bool):
        if value:
            ctx.find_object(Ctx).as_json = True
        return value

    return click.option("--json", "as_json_local", is_flag=True, expose_value=False, callback=set_json,
                        help="machine-readable output")(f)


# ---- run / apply --------------------------------------------------------------------------------


def _parse_cli_args(raw: tuple[str, ...]) -> tuple[list[Any], dict[str, Any]]:
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


def _print_job(job: dict, c: Ctx) -> int:
    returns = job["returns"]
    failed = [r for r in returns if r["status"] != "returned" or not r["success"]]
    if c.as_json:
        _dump(job)
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
@_json_opt
@click.pass_obj
def run(c: Ctx, target: str, function: str, args: tuple[str, ...], timeout: float | None) -> None:
    """Run FUNCTION on the agents matching TARGET (glob, comma list, or 'all').

    Arguments are YAML values; key=value gives a keyword argument:
    saline run 'node*' test.sleep seconds=2
    """
    pos, kw = _parse_cli_args(args)
    reply = c.ask({"op": "run", "target": target, "fun": function, "args": pos, "kwargs": kw, "timeout": timeout},
                  (timeout or 30) + 30)
    sys.exit(_print_job(reply.data, c))


@main.command()
@click.argument("target")
@click.argument("states", nargs=-1)
@click.option("--test", is_flag=True, help="dry run: show what would change, change nothing")
@click.option("--timeout", type=float, default=None)
@_json_opt
@click.pass_obj
def apply(c: Ctx, target: str, states: tuple[str, ...], test: bool, timeout: float | None) -> None:
    """Apply STATES (or the highstate from the top file) on the agents matching TARGET."""
    from saline.states.report import render_run

    reply = c.ask({"op": "apply", "target": target, "states": list(states), "test": test, "timeout": timeout},
                  (timeout or 30) + 60)
    job = reply.data
    failed = False
    if c.as_json:
        _dump(job)
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


# ---- keys -------------------------------------------------------------------------------------


@main.group()
def keys() -> None:
    """Manage agent keys (like salt-key): list, accept, reject, delete."""


@keys.command("list")
@_json_opt
@click.pass_obj
def keys_list(c: Ctx) -> None:
    """List keys by state."""
    rows = c.ask({"op": "keys", "action": "list"}, 10).data
    if c.as_json:
        _dump(rows)
        return
    table = Table()
    for col in ("agent", "state"):
        table.add_column(col)
    table.add_column("fingerprint", no_wrap=True)
    table.add_column("first seen")
    colors = {"accepted": "green", "pending": "yellow", "rejected": "red"}
    for r in rows:
        table.add_row(r["id"], f"[{colors[r['state']]}]{r['state']}[/]", r["fingerprint"], _when(r["first_seen"]))
    consoles.out.print(table)


def _key_action(action: str):
    @click.argument("match", required=action == "delete", default=None)
    @click.option("--fingerprint", default=None, help="only act on the key with this fingerprint")
    @click.option("--include-rejected", is_flag=True, help="accept: also rejected keys; reject: also accepted keys")
    @click.option("--yes", "-y", is_flag=True, help="do not ask for confirmation")
    @_json_opt
    @click.pass_obj
    def command(c: Ctx, match: str | None, fingerprint: str | None, include_rejected: bool, yes: bool) -> None:
        if match is None and not yes and not c.as_json and not fingerprint:
            click.confirm(f"{action} ALL pending keys?", abort=True)
        reply = c.ask({"op": "keys", "action": action, "match": match, "fingerprint": fingerprint,
                       "include_rejected": include_rejected}, 10)
        if c.as_json:
            _dump(reply.data)
        else:
            for aid in reply.data["agents"]:
                consoles.out.print(f"{action}ed key: {aid}" if action != "delete" else f"deleted key: {aid}")

    command.__doc__ = f"{action.capitalize()} the key(s) of MATCH (agent id or glob)."
    return command


for _action in ("accept", "reject", "delete"):
    keys.command(_action)(_key_action(_action))


@keys.command("finger")
@click.argument("match", required=False)
@_json_opt
@click.pass_obj
def keys_finger(c: Ctx, match: str | None) -> None:
    """Show fingerprints (the master's and the agents') to compare out of band."""
    data = c.ask({"op": "keys", "action": "finger", "match": match}, 10).data
    if c.as_json:
        _dump(data)
        return
    consoles.out.print(f"master: {data['master']}")
    for r in data["agents"]:
        consoles.out.print(f"{r['id']} ({r['state']}): {r['fingerprint']}")


# ---- agents and jobs ----------------------------------------------------------------------------


@main.command()
@_json_opt
@click.pass_obj
def agents(c: Ctx) -> None:
    """Agents known to the master: up/down/pending, last seen, version, address."""
    rows = c.ask({"op": "agents"}, 10).data
    if c.as_json:
        _dump(rows)
        return
    table = Table()
    for col in ("agent", "state", "last seen", "version", "address"):
        table.add_column(col)
    colors = {"up": "green", "down": "red", "pending": "yellow", "rejected": "red"}
    for r in rows:
        ago = f"{time.time() - r['last_seen']:.0f}s ago" if r["last_seen"] else "never"
        table.add_row(r["id"], f"[{colors.get(r['state'], 'white')}]{r['state']}[/]", ago, r["version"] or "-",
                      r["address"] or "-")
    consoles.out.print(table)


@main.group()
def jobs() -> None:
    """Look at stored jobs and their returns."""


@jobs.command("list")
@click.option("--limit", default=20, show_default=True)
@_json_opt
@click.pass_obj
def jobs_list(c: Ctx, limit: int) -> None:
    """The most recent jobs."""
    rows = c.ask({"op": "jobs_list", "limit": limit}, 10).data
    if c.as_json:
        _dump(rows)
        return
    table = Table()
    table.add_column("jid", no_wrap=True)
    for col in ("function", "target", "started", "returned", "failed"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["jid"], r["fun"], r["target"], _when(r["created_at"]), f"{r['returned']}/{r['targeted']}",
                      str(r["failed"]))
    consoles.out.print(table)


@jobs.command("show")
@click.argument("jid")
@_json_opt
@click.pass_obj
def jobs_show(c: Ctx, jid: str) -> None:
    """One job with every agent's return (state runs are shown like a highstate)."""
    if not re.match(JID_PATTERN, jid):
        fail(f"{jid!r} is not a job id (expected 20 digits, '-', 8 hex digits)")
    job = c.ask({"op": "job_show", "jid": jid}, 10).data
    if job["fun"] == "state.apply" and not c.as_json:
        from saline.states.report import render_run

        for r in job["returns"]:
            if r["status"] == "returned" and isinstance(r["data"], dict) and "results" in r["data"]:
                render_run(consoles.out, r["agent_id"], r["data"])
            else:
                consoles.out.print(f"[bold]{r['agent_id']}[/]: {r['status']} {r.get('error') or ''}")
        return
    sys.exit(_print_job(job, c))


@main.command()
@_json_opt
@click.pass_obj
def status(c: Ctx) -> None:
    """Is the master running? Prints its version and key fingerprint."""
    data = c.ask({"op": "ping"}, 5).data
    if c.as_json:
        _dump(data)
    else:
        consoles.out.print(f"master is running: saline {data['version']}, key fingerprint {data['fingerprint']}")
