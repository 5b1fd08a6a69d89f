"""The agent's configuration (``/etc/saline/agent.yaml`` by default)."""

from __future__ import annotations

from pathlib import Path

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from saline.protocol.config import Endpoint

from saline.protocol.ids import AgentId

DEFAULT_CONFIG = "/etc/saline/agent.yaml"


# What a master's `saline maintenance` needs an agent to allow (besides state.* for state work).
MAINTENANCE_FUNCTIONS = ["cluster.*", "work.*", "system.reboot"]


class AgentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The id this agent asks to be known by. The master binds it to this agent's key
    # when an operator accepts the key; it is never trusted from later messages.
    id: AgentId
    # Where the master's ROUTER socket is: tcp://HOST:4510, or ipc:///path for agents
    # in namespaces on the master's machine (the cluster lab).
    master: Endpoint = "tcp://127.0.0.1:4510"
    # Plain endpoint that hands out the master's public keys on first contact (TOFU).
    # Empty when the master's key is provisioned into pki_dir/master.pub.
    master_bootstrap: Endpoint = "tcp://127.0.0.1:4511"
    # The master's enrolment port, where a key that is not accepted yet says hello (the
    # agent port admits accepted keys only). null: the host of `master`, port 4512 (the
    # master's default enrol_bind); an ipc:// `master` needs it set.
    master_enrol: Endpoint | None = None
    # If set, first contact only pins a master key with this fingerprint.
    master_fingerprint: str | None = None
    pki_dir: Path = Path("/etc/saline/pki/agent")
    state_dir: Path = Path("/var/lib/saline/agent")  # replay cache + return spool (SQLite)
    log_file: Path | None = None
    log_level: str = "INFO"
    heartbeat_interval: float = Field(default=5.0, gt=0)
    workers: int = Field(default=4, ge=1, le=64)
    max_clock_skew: float = Field(default=30.0, ge=0)
    max_frame: int = Field(default=64 * 1024 * 1024, ge=1024)
    # Which functions a master may call (fnmatch patterns).
    functions: list[str] = Field(default_factory=lambda: ["test.*", "facts.*", "state.*", "net.garp", "cluster.resources"])
    # File paths that state modules manage are mapped under this root (tests: a temp dir).
    state_root: Path = Path("/")
    # Extra environment for state commands (e.g. LVM_SYSTEM_DIR, CIB_file in labs).
    state_env: dict[str, str] = Field(default_factory=dict)
    # What `system.reboot` runs (a maintenance run's reboot step); detached, so the agent
    # can return before the node goes down. The lab "reboots" a node with `saline lab reboot`.
    reboot_command: list[str] = Field(default_factory=lambda: ["shutdown", "-r", "now"])
    # Paths the maintenance gate treats as the node's data volumes, besides every mount on
    # DRBD (a process holding one open that Pacemaker does not manage blocks a drain).
    data_paths: list[str] = Field(default_factory=list)
    reconnect_min: float = 0.2
    reconnect_max: float = 10.0
    spool_resend_interval: float = Field(default=5.0, gt=0)
    # Pacemaker alerts: the agent listens on this datagram socket (owned by alert_user,
    # mode 0600) and installs saline's alert agent script at alert_agent_path; a
    # pacemaker.alert state points Pacemaker at both. null turns either off.
    alert_socket: Path | None = Path("/run/saline/agent-events.sock")
    alert_user: str | None = "hacluster"
    alert_agent_path: Path | None = Path("/usr/lib/saline/pacemaker-alert")
    # /proc/mdstat is read this often; a change of an array's health is an event (null: off).
    md_watch_interval: float | None = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _enrol_endpoint_known(self) -> "AgentConfig":
        if self.master_enrol is None and not self.master.startswith("tcp://"):
            raise ValueError(f"master_enrol must be set for master {self.master!r} (only a tcp:// master's "
                             "enrolment port, 4512 on the same host, is assumed)")
        return self

    @property
    def enrol_endpoint(self) -> str:
        if self.master_enrol:
            return self.master_enrol
        host = urlsplit(self.master).netloc.rpartition(":")[0]
        return f"tcp://{host}:4512"


def agent_config_in(base: Path, agent_id: str, master: str, master_bootstrap: str, **settings) -> dict:
    """An agent config (as YAML-ready data) with every file under ``base`` (labs, tests, benchmarks)."""
    base = Path(base)
    return {
        "id": agent_id,
        "master": master,
        "master_bootstrap": master_bootstrap,
        "pki_dir": str(base / "pki"),
        "state_dir": str(base / "state"),
        "log_file": str(base / "agent.log"),
        "alert_socket": str(base / "agent-events.sock"),
        "alert_agent_path": str(base / "pacemaker-alert"),
        **settings,
    }
