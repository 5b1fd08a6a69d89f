"""``saline-master``: run the master."""

from __future__ import annotations

import sys

import click

from saline.protocol.config import ConfigError, load_config
from saline.protocol.keys import KeyFileError
from saline.protocol.logsetup import setup_logging

from .config import DEFAULT_CONFIG, MasterConfig


@click.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help=f"YAML config (default {DEFAULT_CONFIG})")
@click.option("--log-level", default=None, help="DEBUG, INFO, WARNING …")
@click.option("--auto-accept", is_flag=True, default=None, help="Accept every new agent key (labs only!)")
def main(config_path: str | None, log_level: str | None, auto_accept: bool | None) -> None:
    """Run the saline master in the foreground."""
    try:
        cfg = load_config(MasterConfig, config_path, DEFAULT_CONFIG, {"log_level": log_level, "auto_accept": auto_accept})
    except ConfigError as exc:
        click.echo(f"saline-master: {exc}", err=True)
        sys.exit(1)
    setup_logging(cfg.log_level, cfg.log_file)
    from .server import Master

    try:
        Master(cfg).serve_forever()
    except KeyFileError as exc:
        click.echo(f"saline-master: {exc}", err=True)
        sys.exit(1)
    except Exception as exc:  # zmq bind errors and the like: say it plainly
        click.echo(f"saline-master: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
