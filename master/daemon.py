"""``saline-master``: run the master."""

from __future__ import annotations

import click

from saline.protocol import __version__
from saline.protocol.config import ConfigError, run_daemon
from saline.protocol.keys import KeyFileError

from .config import DEFAULT_CONFIG, MasterConfig


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="saline-master", message="%(prog)s %(version)s")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help=f"YAML config (default {DEFAULT_CONFIG})")
@click.option("--log-level", default=None, help="DEBUG, INFO, WARNING …")
@click.option("--auto-accept", is_flag=True, default=None, help="Accept every new agent key (labs only!)")
def main(config_path: str | None, log_level: str | None, auto_accept: bool | None) -> None:
    """Run the saline master in the foreground."""
    import zmq

    from .ctlsocket import ControlSocketError
    from .server import Master

    run_daemon("saline-master", MasterConfig, config_path, DEFAULT_CONFIG,
               {"log_level": log_level, "auto_accept": auto_accept},
               lambda cfg: Master(cfg).serve_forever(), (KeyFileError, zmq.ZMQError, OSError, ControlSocketError,
                                                         ConfigError))
