"""Real saline-master and saline-agent processes in a temp dir, for end-to-end tests.

Each process gets its own config file, keys, database and log; ports are picked free
on 127.0.0.1. ``Deployment.close()`` (called from a fixture finalizer) SIGKILLs
everything it started, also when a test fails half-way.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from saline.agent.config import agent_config_in
from saline.master.config import master_config_in

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Proc:
    def __init__(self, argv: list[str], log: Path):
        self.argv, self.log = argv, log
        self.p: subprocess.Popen | None = None

    def start(self) -> None:
        assert self.p is None or self.p.poll() is not None, "already running"
        err = open(self.log.with_suffix(".stderr"), "ab")
        self.p = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)

    def kill(self) -> None:
        if self.p is not None and self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait(5)

    def stop(self) -> None:
        if self.p is not None and self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def alive(self) -> bool:
        return self.p is not None and self.p.poll() is None

    def log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""


class Deployment:
    """A master and any number of agents. ``cli(...)`` runs the real ``saline`` CLI."""

    def __init__(self, base: Path, **master_cfg: Any):
        self.base = base
        self.port, self.bport, self.eport = free_port(), free_port(), free_port()
        self.master_dir = base / "master"
        self.master_dir.mkdir(parents=True)
        self.socket = self.master_dir / "run" / "master.sock"
        cfg = master_config_in(self.master_dir, **{
            "bind": f"tcp://127.0.0.1:{self.port}", "bootstrap_bind": f"tcp://127.0.0.1:{self.bport}",
            "enrol_bind": f"tcp://127.0.0.1:{self.eport}",
            "state_roots": [str(base / "states")], "pillar_roots": [str(base / "pillar")],
            "log_level": "DEBUG", "heartbeat_timeout": 3, "default_timeout": 10, **master_cfg,
        })
        self.master_config = self.master_dir / "master.yaml"
        self.master_config.write_text(yaml.safe_dump(cfg))
        self.master = Proc([str(BIN / "saline-master"), "--config", str(self.master_config)], self.master_dir / "master.log")
        self.agents: dict[str, Proc] = {}
        self.agent_dirs: dict[str, Path] = {}

    @property
    def enrol(self) -> str:
        """The master's enrolment endpoint (where keys that are not accepted say hello)."""
        return yaml.safe_load(self.master_config.read_text())["enrol_bind"]

    # ---- processes ----------------------------------------------------------------
    def start_master(self) -> None:
        self.master.start()
        wait_for(lambda: self.cli("status").returncode == 0, what="master control socket")

    def add_agent(self, agent_id: str, start: bool = True, **agent_cfg: Any) -> Proc:
        d = self.base / agent_id
        (d / "root").mkdir(parents=True, exist_ok=True)
        cfg = agent_config_in(
            d, agent_id, f"tcp://127.0.0.1:{self.port}", f"tcp://127.0.0.1:{self.bport}",
            **{"master_enrol": self.enrol, "state_root": str(d / "root"), "log_level": "DEBUG", "heartbeat_interval": 0.5,
               "spool_resend_interval": 1.0, "reconnect_max": 1.0, **agent_cfg},
        )
        (d / "agent.yaml").write_text(yaml.safe_dump(cfg))
        proc = Proc([str(BIN / "saline-agent"), "--config", str(d / "agent.yaml")], d / "agent.log")
        self.agents[agent_id], self.agent_dirs[agent_id] = proc, d
        if start:
            proc.start()
        return proc

    def close(self) -> None:
        for proc in [*self.agents.values(), self.master]:
            proc.kill()

    # ---- the CLI ------------------------------------------------------------------------
    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "saline"), "--socket", str(self.socket), *args],
                              capture_output=True, text=True, timeout=timeout)

    def cli_json(self, *args: str, timeout: float = 60) -> tuple[int, Any]:
        r = self.cli("--json", *args, timeout=timeout)
        try:
            return r.returncode, json.loads(r.stdout)
        except json.JSONDecodeError:
            raise AssertionError(f"not JSON (rc={r.returncode}): {r.stdout!r} {r.stderr!r}") from None

    def agent_states(self) -> dict[str, str]:
        rc, rows = self.cli_json("agents")
        return {r["id"]: r["state"] for r in rows} if rc == 0 else {}

    def wait_agent_state(self, agent_id: str, state: str, timeout: float = 15) -> None:
        wait_for(lambda: self.agent_states().get(agent_id) == state, timeout, 0.2, f"{agent_id} to be {state}")

    def accept(self, *agent_ids: str) -> None:
        for aid in agent_ids:
            self.wait_agent_state(aid, "pending")
            r = self.cli("keys", "accept", aid)
            assert r.returncode == 0, r.stderr
        for aid in agent_ids:
            self.wait_agent_state(aid, "up")
