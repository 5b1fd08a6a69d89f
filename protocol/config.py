"""Loading YAML configuration files into pydantic models (shared by master, agent and CLI)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, ValidationError

from .codec import describe_validation_error

C = TypeVar("C", bound=BaseModel)


class ConfigError(ValueError):
    pass


def _check_endpoint(value: str) -> str:
    """A ZeroMQ endpoint with its transport: ``tcp://HOST:PORT`` or ``ipc:///path`` ("" = off)."""
    if value and not value.startswith(("tcp://", "ipc://")):
        raise ValueError(f"{value!r} needs a scheme: tcp://HOST:PORT (or ipc:///path for a local socket)")
    return value


Endpoint = Annotated[str, AfterValidator(_check_endpoint)]


def load_config(model: type[C], path: str | Path | None, default_path: str | Path, overrides: dict | None = None) -> C:
    """Read ``path`` (or ``default_path`` if it exists), apply ``overrides``, validate.

    A missing explicit path is an error; a missing default path means "all defaults".
    """
    data: dict = {}
    chosen = Path(path) if path else Path(default_path)
    if path and not chosen.exists():
        raise ConfigError(f"config file {chosen} does not exist")
    if chosen.exists():
        try:
            loaded = yaml.safe_load(chosen.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{chosen}: not valid YAML: {exc}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{chosen}: top level must be a mapping")
        data.update(loaded)
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{chosen}: {describe_validation_error(exc)}") from None


def run_daemon(prog: str, model: type[C], config_path: str | None, default_path: str, overrides: dict,
               serve, fatal: tuple[type[BaseException], ...]) -> None:
    """Load the config, set up logging, run ``serve(cfg)``; expected failures (bad config,
    key files, bind errors …) end the process with one clear line and exit status 1."""
    import logging
    import sys

    from .logsetup import LogSetupError, setup_logging

    try:
        cfg = load_config(model, config_path, default_path, overrides)
        setup_logging(cfg.log_level, cfg.log_file)
    except (ConfigError, LogSetupError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        sys.exit(1)
    try:
        serve(cfg)
    except (*fatal, ConfigError) as exc:
        logging.getLogger(prog).error("%s", exc)
        print(f"{prog}: {exc}", file=sys.stderr)
        sys.exit(1)
