"""The ``saline`` command group. Each verb lives in its own module of this package."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from saline.master.defaults import DEFAULT_CONFIG

from saline.protocol import __version__

from .base import EXIT_ERROR, OUT_FORMATS, STATE_OUTPUTS, Ctx, control_socket_from


class _MainGroup(click.Group):
    """Loads the commands that do not talk to the master (masterless ``call``, the cluster
    ``lab``) only when one of them is used: they import the state compiler and the lab,
    which would otherwise add ~0.1 s to every ``saline run``."""

    lazy = {"call": ("saline.states.call", "call"), "lab": ("saline.lab.cli", "lab")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def main(self, *args, **kwargs):
        """Usage errors exit 1, not click's 2: the README gives 2 to failed agents."""
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.ClickException as exc:
            exc.show()
            sys.exit(EXIT_ERROR)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(EXIT_ERROR)
        sys.exit(code if isinstance(code, int) else 0)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy and name not in self.commands:
            import importlib

            module, attr = self.lazy[name]
            self.add_command(getattr(importlib.import_module(module), attr), name)
        return super().get_command(ctx, name)


@click.group(cls=_MainGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="saline", message="%(prog)s %(version)s")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help=f"master config (default {DEFAULT_CONFIG})")
@click.option("--socket", "socket_path", type=click.Path(readable=False), help="master control socket (overrides the config)")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output (same as --out json)")
@click.option("--out", "out", type=click.Choice(OUT_FORMATS), default=None, help="output format: json, yaml, highstate")
@click.option("--state-output", "state_output", type=click.Choice(STATE_OUTPUTS), default="full",
              help="state runs: full (every state), changes (only changed or failed in full), terse (one line each)")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, socket_path: str | None, as_json: bool, out: str | None,
         state_output: str) -> None:
    """saline: Salt-style orchestration for two-node HA clusters."""
    if socket_path is None:
        socket_path = control_socket_from(config_path)
    ctx.obj = Ctx(Path(socket_path), "json" if as_json else out, state_output)


# The verbs register themselves on ``main``; imported here so ``saline --help`` lists them.
from . import agents, events, jobs, keys, maintenance, run, schedule  # noqa: E402,F401
