"""The ``saline`` command group. Each verb lives in its own module of this package."""

from __future__ import annotations

from pathlib import Path

import click

from saline.master.defaults import DEFAULT_CONFIG

from .base import Ctx, control_socket_from


class _MainGroup(click.Group):
    """Loads the commands that do not talk to the master (masterless ``call``, the cluster
    ``lab``) only when one of them is used: they import the state compiler and the lab,
    which would otherwise add ~0.1 s to every ``saline run``."""

    lazy = {"call": ("saline.states.call", "call"), "lab": ("saline.lab.cli", "lab")}

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


# The verbs register themselves on ``main``; imported here so ``saline --help`` lists them.
from . import agents, jobs, keys, run  # noqa: E402,F401
