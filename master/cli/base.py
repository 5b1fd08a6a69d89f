"""What every ``saline`` command shares: the control-socket context, output, errors, exit codes."""

from __future__ import annotations

import functools
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from saline.master.client import ControlClient, MasterUnavailable
from saline.master.defaults import DEFAULT_CONFIG, DEFAULT_CONTROL_SOCKET
from saline.protocol.safetext import terminal_safe

# The CLI imports neither pydantic nor rich up front: `saline run` should cost little more
# than its round trip. The master validates every request; rich loads when a table prints.
# Exit codes (README "Exit codes"): 3 = returns still to come (the job runs on);
# 130 = interrupted with Ctrl-C while waiting (the job runs on).
EXIT_OK, EXIT_ERROR, EXIT_FAILED, EXIT_RUNNING, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
# Not a terminal (a pipe, a file): no wrapping or truncating, so `| grep` sees whole lines.
UNLIMITED_WIDTH = 100_000


def _console(stderr: bool):
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else UNLIMITED_WIDTH
    # emoji=False: fingerprints like "c8:25:cd:9a" must not turn into emoji.
    return Console(stderr=stderr, emoji=False, highlight=False, width=width, soft_wrap=width is not None)


class _Consoles:
    @functools.cached_property
    def out(self):
        return _console(stderr=False)

    @functools.cached_property
    def err(self):
        return _console(stderr=True)


def safe(value: Any) -> str:
    """Text from agents or the master, for rich: control characters escaped (no terminal
    escape sequences) and markup escaped (``[red]`` in data is printed, not interpreted)."""
    from rich.markup import escape

    return escape(terminal_safe(value))


def plain(value: Any):
    """A table cell holding data: a rich Text (never markup), control characters escaped."""
    from rich.text import Text

    return Text(terminal_safe(value))


consoles = _Consoles()


def Table(**kw):  # noqa: N802 - rich's class, imported when a table is printed
    from rich.table import Table as RichTable

    return RichTable(**kw)


class Reply(dict):
    @property
    def data(self) -> Any:
        return self.get("data")


class Ctx:
    def __init__(self, socket: Path, out: str | None = None, state_output: str = "full"):
        self.client = ControlClient(socket)
        self.out = out  # None (text), "json", "yaml" or "highstate"
        self.state_output = state_output

    @property
    def as_json(self) -> bool:
        return self.out == "json"

    @as_json.setter
    def as_json(self, value: bool) -> None:
        if value:
            self.out = "json"

    @property
    def structured(self) -> bool:
        """Machine-readable output (json, yaml, salt-json): progress goes to stderr."""
        return self.out in ("json", "yaml", "salt-json")

    def ask(self, req: dict[str, Any], timeout: float) -> Reply:
        try:
            reply = Reply(self.client.request_raw(req, timeout))
        except MasterUnavailable as exc:
            fail(str(exc))
        if not reply.get("ok"):
            if self.structured:
                dump(dict(reply), self.out)
                sys.exit(EXIT_ERROR)
            detail = reply.data.get("errors") if isinstance(reply.data, dict) else None
            fail(reply.get("error") or "request failed", detail)
        return reply

    def wait_job(self, jid: str, timeout: float) -> dict:
        """Wait for job ``jid``'s returns (the job goes on if the wait ends, however it ends)."""
        try:
            reply = Reply(self.client.request_raw({"op": "job_wait", "jid": jid, "timeout": timeout}, timeout + 30))
        except MasterUnavailable as exc:
            fail(f"{exc}; job {jid} goes on on the agents, see it later with: saline jobs show {jid}")
        except KeyboardInterrupt:
            interrupted(jid)
        if not reply.get("ok"):
            fail(reply.get("error") or "request failed")
        return reply.data


def interrupted(jid: str) -> None:
    """Ctrl-C while waiting: the job is not stopped (that is `saline jobs kill`)."""
    consoles.err.print(f"\nInterrupted: job {jid} goes on on the agents; its returns are stored as they come."
                       f"\nSee it with: saline jobs show {jid}   (or wait for it: saline jobs wait {jid})",
                       highlight=False, markup=False)
    sys.exit(EXIT_INTERRUPTED)


def job_exit_code(job: dict) -> int:
    """0 every agent succeeded; 2 one failed, was down or did not return; 3 returns still to come."""
    statuses = [(r["status"], r.get("success")) for r in job["returns"]]
    if any(st in ("no_return", "not_connected") or (st == "returned" and not ok) for st, ok in statuses):
        return EXIT_FAILED
    if any(st in ("pending", "running") for st, _ in statuses):
        return EXIT_RUNNING
    return EXIT_OK


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
    err.print(f"[bold red]Error:[/] {safe(message)}", highlight=False)
    if isinstance(detail, dict):
        for agent, errors in detail.items():
            for e in errors if isinstance(errors, list) else [errors]:
                err.print(f"  {safe(agent)}: {safe(e)}", highlight=False)
    sys.exit(EXIT_ERROR)


def when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


def dump(data: Any, out: str | None = "json") -> None:
    """Machine-readable output: JSON (default) or YAML (``--out yaml``). Data is printed
    as it is, escaped by the format itself (JSON escapes control characters)."""
    if out == "yaml":
        import yaml

        click.echo(yaml.safe_dump(json.loads(json.dumps(data, default=str)), sort_keys=False, allow_unicode=False))
    else:
        click.echo(json.dumps(data, indent=2, default=str))


OUT_FORMATS = ("json", "yaml", "highstate", "salt-json")
STATE_OUTPUTS = ("full", "changes", "terse")


def json_opt(f):
    """`--json`, `--out` and `--state-output` are accepted after the subcommand too
    (``saline run '*' test.ping --json``), on groups as well (``saline keys --json list``)."""
    def set_json(ctx: click.Context, _param, value: bool):
        if value:
            ctx.find_object(Ctx).as_json = True
        return value

    def set_out(ctx: click.Context, _param, value: str | None):
        if value:
            ctx.find_object(Ctx).out = value
        return value

    def set_state_output(ctx: click.Context, _param, value: str | None):
        if value:
            ctx.find_object(Ctx).state_output = value
        return value

    f = click.option("--state-output", "state_output_local", type=click.Choice(STATE_OUTPUTS), expose_value=False,
                     callback=set_state_output, help="state runs: every state, only changes/failures, or one line each")(f)
    f = click.option("--out", "out_local", type=click.Choice(OUT_FORMATS), expose_value=False, callback=set_out,
                     help="output format (like Salt's --out)")(f)
    return click.option("--json", "as_json_local", is_flag=True, expose_value=False, callback=set_json,
                        help="machine-readable output (same as --out json)")(f)
