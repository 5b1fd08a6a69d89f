"""CLI key=value arguments mean what an SLS means: a leading-zero number stays as typed."""

from __future__ import annotations

from saline.master.cli.run import parse_cli_args
from saline.states.engine.modes import parse_mode


def test_cli_mode_0640_is_0640_not_416() -> None:
    # Before: yaml.safe_load("0640") == 416, and state.single … mode=0640 wrote a 0416 file.
    args, kwargs = parse_cli_args(("file.managed", "/etc/x", "mode=0640", "count=10", "on=true", "umask=022"))
    assert args == ["file.managed", "/etc/x"]
    assert kwargs == {"mode": "0640", "count": 10, "on": True, "umask": "022"}
    assert parse_mode(kwargs["mode"]) == 0o640
