"""The master's configuration (``/etc/saline/master.yaml`` by default)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from saline.protocol.config import Endpoint

from .budget import Rate
from .retention import Retention
from .defaults import DEFAULT_CONFIG, DEFAULT_CONTROL_SOCKET

__all__ = ["DEFAULT_CONFIG", "MasterConfig", "master_config_in"]


class MasterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The agent port. Agents dial out to it; it is the only network listener besides
    # the optional bootstrap port.
    bind: Endpoint = "tcp://0.0.0.0:4510"
    # Hands out the master's public keys to agents on first contact; "" disables it
    # (provision pki/master.pub on the agents instead).
    bootstrap_bind: Endpoint = "tcp://0.0.0.0:4511"
    # Where keys that are not accepted say hello (and nothing else) to be filed as pending:
    # CURVE like the agent port, but libzmq refuses any frame over max_hello_frame there
    # before reading it, and the agent port's handshake admits accepted keys only, so a
    # stranger can never make the master read a big frame. "" turns enrolment off (only
    # keys already accepted can connect).
    enrol_bind: Endpoint = "tcp://0.0.0.0:4512"
    pki_dir: Path = Path("/etc/saline/pki/master")
    db_path: Path = Path("/var/lib/saline/master/jobs.sqlite")
    # Local control socket for the saline CLI (a Unix socket, mode 0600 unless control_group).
    control_socket: Path = Path(DEFAULT_CONTROL_SOCKET)
    control_group: str | None = None
    state_roots: list[Path] = Field(default_factory=lambda: [Path("/srv/saline/states")])
    # Salt's nodegroups: name → compound expression or list of ids (N@name, saline run -N name).
    nodegroups: dict[str, str | list[str]] = Field(default_factory=dict)
    pillar_roots: list[Path] = Field(default_factory=lambda: [Path("/srv/saline/pillar")])
    log_file: Path | None = None
    log_level: str = "INFO"
    auto_accept: bool = False
    heartbeat_timeout: float = Field(default=20.0, gt=0)
    default_timeout: float = Field(default=30.0, gt=0)
    # State runs take longer than a `run`; a run past its timeout still returns (late).
    apply_timeout: float = Field(default=300.0, gt=0)
    max_frame: int = Field(default=16 * 1024 * 1024, ge=1024)
    # Bad frames per agent connection per minute before that connection's frames are dropped unread.
    bad_frame_limit: int = 100
    # What one peer may cost (master/intake.py). A key that is not accepted may only send a
    # hello of at most max_hello_frame bytes, which also bounds an agent's facts.
    max_hello_frame: int = Field(default=64 * 1024, ge=1024)
    max_event_frame: int = Field(default=64 * 1024, ge=1024)
    # Per accepted agent key, and per key / per address for keys that are not accepted.
    agent_budget: Rate = Rate(bytes_per_s=32 * 1024 * 1024, decode_per_s=0.25)
    stranger_budget: Rate = Rate(bytes_per_s=64 * 1024, decode_per_s=0.02)
    # Events one agent may send per second (burst: 10 s worth); over it they are not
    # acked, so the agent's spool sends them again later.
    events_per_s: float = Field(default=20.0, gt=0)
    # Pending keys (master/enrolment.py): at most max_pending in all (the oldest is evicted to
    # make room) and pending_per_source from one address (more are refused).
    max_pending: int = Field(default=1000, ge=1)
    pending_per_source: int = Field(default=16, ge=1)
    # How long jobs and events are kept (master/retention.py).
    retention: Retention = Retention()
    # Reaction files (*.yaml) for events; read at start, errors refuse the start.
    reactor_dir: Path | None = Path("/etc/saline/reactor.d")


def master_config_in(base: Path, **settings) -> dict:
    """A master config (as YAML-ready data) with every file under ``base``: for labs,
    tests and benchmarks that run a master unprivileged in a temp dir."""
    base = Path(base)
    return {
        "pki_dir": str(base / "pki"),
        "db_path": str(base / "jobs.sqlite"),
        "control_socket": str(base / "run" / "master.sock"),
        "state_roots": [str(base / "states")],
        "pillar_roots": [str(base / "pillar")],
        "log_file": str(base / "master.log"),
        "reactor_dir": str(base / "reactor.d"),
        **settings,
    }
