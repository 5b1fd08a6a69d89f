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


def when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


def dump(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def json_opt(f):
    """`--json` is accepted after the subcommand too (``saline run '*' test.ping --json``)."""
    def set_json(ctx: click.Context, _param, value: bool):
        if value:
            ctx.find_object(Ctx).as_json = True
        return value

    return click.option("--json", "as_json_local", is_flag=True, expose_value=False, callback=set_json,
                        help="machine-readable output")(f)
