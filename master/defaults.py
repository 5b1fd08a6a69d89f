"""Default paths, importable without pydantic (the CLI needs them and must start fast)."""

DEFAULT_CONFIG = "/etc/saline/master.yaml"
DEFAULT_CONTROL_SOCKET = "/run/saline/master.sock"
