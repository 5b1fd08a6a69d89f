"""``saline call``: compile and run states on this machine, masterless (first boot, debugging, CI).

Same compiler, same engine, same report as ``saline apply``; only the transport is
missing. Exit codes: 0 all states ok, 2 some state failed, 1 compile or usage error.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from saline.protocol.ids import is_agent_id

from saline.states.engine.base import StateContext
from saline.states.compile.compiled import CompiledRun
from saline.states.compile.compiler import CompileError, compile_file, compile_highstate
from saline.states.compile.render import parse_yaml
from saline.states.engine.run import RunResult
from saline.states.engine.run import run as run_states
from saline.protocol import __version__
from saline.states.system.localfacts import node_facts
from saline.states.compile.pillar import deep_merge, load_pillar
from saline.states.engine.report import render_run
from saline.states.engine.saltret import salt_keyed
from saline.states.engine.runner import Runner

EXIT_OK, EXIT_USAGE, EXIT_FAILED = 0, 1, 2


class _CallCommand(click.Command):
    """Usage errors exit 1 here, because 2 means "a state failed" (Salt's retcode)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            exc.exit_code = EXIT_USAGE
            raise

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            exc.exit_code = EXIT_USAGE
            raise


def default_agent_id() -> str:
    host = socket.gethostname().split(".", 1)[0]
    return host if is_agent_id(host) else "local"


def read_pillar_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise CompileError(f"{path}: cannot read pillar: {exc}") from None
    data = parse_yaml(text, str(path))  # the SLS loader: pillar values mean the same as in a pillar tree
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CompileError(f"{path}: pillar must be a mapping, got {type(data).__name__}")
    return data


def compile_local(target: Path, states: tuple[str, ...], pillar: dict[str, Any], node: dict[str, Any], agent_id: str,
                  saltenv: str | None = None) -> CompiledRun:
    if target.is_dir():
        return compile_highstate([target], pillar, node, agent_id, list(states) or None, saltenv=saltenv)
    if states:
        raise CompileError(f"{target} is a single state file; name states only with a tree directory")
    return compile_file(target, pillar, node, agent_id)


@click.command("call", cls=_CallCommand)
@click.option("--local", "local", is_flag=True, help="Accepted for Salt familiarity: saline call always runs locally.")
@click.option("--test", "test", is_flag=True, help="Dry run: show what would change, change nothing.")
@click.option("--root", "root", type=click.Path(file_okay=False, path_type=Path), default=Path("/"),
              show_default=True, help="Map the node's file paths under this directory.")
@click.option("--pillar", "pillar_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML file with pillar data (merged over --pillar-root).")
@click.option("--pillar-root", "pillar_roots", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Pillar tree with a top file (repeatable).")
@click.option("--id", "agent_id", default=None, help="Agent id for top-file matching (default: the short hostname).")
@click.option("--backup-dir", "backup_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("/var/cache/saline/file_backup"), show_default=True,
              help="Where file.managed's backup: minion keeps old files.")
@click.option("--saltenv", "saltenv", default=None, help="Only this environment of the top file (default: all, merged).")
@click.option("--json", "as_json", is_flag=True, help="Print the run result as JSON.")
@click.option("--out", "out", type=click.Choice(["highstate", "json", "salt-json"]), default=None,
              help="highstate (default), json (saline's), salt-json (keyed like salt-call --out json).")
@click.argument("target", type=click.Path(exists=True, path_type=Path))
@click.argument("states", nargs=-1)
def call(local: bool, test: bool, root: Path, pillar_file: Path | None, pillar_roots: tuple[Path, ...],
         agent_id: str | None, backup_dir: Path, saltenv: str | None, as_json: bool, out: str | None, target: Path, states: tuple[str, ...]) -> None:
    """Run STATE_FILE_OR_TREE here: an .sls file, or a tree (its top file, or the named STATEs)."""
    agent_id = agent_id or default_agent_id()
    if not is_agent_id(agent_id):
        raise click.UsageError(f"--id {agent_id!r} is not a valid agent id")
    node = node_facts(agent_id, __version__)  # what an agent reports to its master, id included
    try:
        pillar = load_pillar(list(pillar_roots), agent_id, node) if pillar_roots else {}
        if pillar_file is not None:
            pillar = deep_merge(pillar, read_pillar_file(pillar_file))
        compiled = compile_local(target, states, pillar, node, agent_id, saltenv)
    except CompileError as exc:
        raise click.ClickException(f"compile failed: {exc}") from None
    ctx = StateContext(runner=Runner(root=root, env=os.environ), test=test, node=node, backup_dir=backup_dir)
    result: RunResult = run_states(compiled, ctx)
    if out == "salt-json":
        click.echo(json.dumps({"local": salt_keyed(result)}, indent=4))
    elif as_json or out == "json":
        click.echo(result.model_dump_json(indent=2))
    else:
        render_run(Console(), agent_id, result)
    raise SystemExit(EXIT_OK if result.ok else EXIT_FAILED)


if __name__ == "__main__":  # python -m saline.states.call, as well as through `saline call`
    call()
