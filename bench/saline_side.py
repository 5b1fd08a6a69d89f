"""A real saline-master and saline agents under a temp dir, driven through the
master's Python API (``ControlClient``) and through the ``saline`` CLI."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from saline.agent.config import agent_config_in
from saline.master.client import ControlClient, MasterUnavailable
from saline.master.config import master_config_in
from saline.protocol.control import ApplyRequest, PingRequest, RunRequest

from common import BIN, Procs, free_port, wait_for


class SalineDeployment:
    def __init__(self, base: Path, procs: Procs, log_level: str = "WARNING"):
        self.base, self.procs, self.log_level = base, procs, log_level
        self.port, self.bport, self.eport = free_port(), free_port(), free_port()
        self.master_dir = base / "master"
        self.master_dir.mkdir(parents=True)
        self.socket = self.master_dir / "run" / "master.sock"
        self.states = base / "states"
        self.states.mkdir()
        (base / "pillar").mkdir()
        cfg = master_config_in(
            self.master_dir, bind=f"tcp://127.0.0.1:{self.port}", bootstrap_bind=f"tcp://127.0.0.1:{self.bport}",
            enrol_bind=f"tcp://127.0.0.1:{self.eport}",
            state_roots=[str(self.states)], pillar_roots=[str(base / "pillar")], log_level=log_level,
            auto_accept=True,  # the benchmark only; never in production
            heartbeat_timeout=60, default_timeout=30,
            # Every simulated agent comes from 127.0.0.1: the per-address budget for keys that
            # are not accepted yet (a few hundred hellos a second) would pace a mass enrolment.
            stranger_budget={"bytes_per_s": 64 * 1024 * 1024, "decode_per_s": 1.0},
        )
        self.master_config = self.master_dir / "master.yaml"
        self.master_config.write_text(yaml.safe_dump(cfg))
        self.client = ControlClient(self.socket)
        self.master: subprocess.Popen | None = None
        self.agents: dict[str, subprocess.Popen] = {}

    # ---- processes ----------------------------------------------------------------
    def start_master(self) -> None:
        self.master = self.procs.start([str(BIN / "saline-master"), "--config", str(self.master_config)],
                                       self.master_dir / "stdout.log")
        wait_for(self._master_answers, 30, "saline-master control socket", 0.05)

    def _master_answers(self) -> bool:
        try:
            return self.client.request(PingRequest(), 1.0).ok
        except MasterUnavailable:
            return False

    def agent_root(self, agent_id: str) -> Path:
        return self.base / agent_id / "root"

    def start_agent(self, agent_id: str) -> subprocess.Popen:
        d = self.base / agent_id
        cfg_path = d / "agent.yaml"
        if not cfg_path.exists():
            self.agent_root(agent_id).mkdir(parents=True)
            cfg = agent_config_in(d, agent_id, f"tcp://127.0.0.1:{self.port}", f"tcp://127.0.0.1:{self.bport}",
                                  master_enrol=f"tcp://127.0.0.1:{self.eport}", state_root=str(self.agent_root(agent_id)), log_level=self.log_level)
            cfg_path.write_text(yaml.safe_dump(cfg))
        p = self.procs.start([str(BIN / "saline-agent"), "--config", str(cfg_path)], d / "stdout.log")
        self.agents[agent_id] = p
        return p

    def stop_agent(self, agent_id: str) -> None:
        self.procs.stop(self.agents.pop(agent_id))

    def wait_up(self, agent_ids: list[str], timeout: float = 60) -> None:
        """Until every agent answers test.ping (keys auto-accepted, connected)."""
        wait_for(lambda: self.ping(",".join(agent_ids), len(agent_ids), timeout=2)[1], timeout,
                 f"saline agents {agent_ids} to answer", 0.1)

    # ---- work (the master's Python API) ------------------------------------------------
    def ping(self, target: str, expect: int, timeout: float = 30) -> tuple[float, bool]:
        """One test.ping through the master. Returns (seconds, every expected agent returned True)."""
        t0 = time.perf_counter()
        try:
            reply = self.client.request(RunRequest(target=target, fun="test.ping", timeout=timeout), timeout + 10)
        except MasterUnavailable:
            return time.perf_counter() - t0, False
        dt = time.perf_counter() - t0
        if not reply.ok:
            return dt, False
        good = [r for r in reply.data["returns"] if r["status"] == "returned" and r["data"] is True]
        return dt, len(good) == expect

    def apply(self, target: str, states: list[str], test: bool, timeout: float = 120) -> tuple[float, dict[str, Any]]:
        """One state apply; returns (seconds, summary of the one agent's run)."""
        t0 = time.perf_counter()
        reply = self.client.request(ApplyRequest(target=target, states=states, test=test, timeout=timeout), timeout + 30)
        dt = time.perf_counter() - t0
        if not reply.ok:
            raise RuntimeError(f"saline apply failed: {reply.error} {reply.data}")
        rets = reply.data["returns"]
        if len(rets) != 1 or rets[0]["status"] != "returned":
            raise RuntimeError(f"saline apply: unexpected returns {rets}")
        return dt, summarize_saline_run(rets[0]["data"])

    def cli_ping(self, target: str) -> float:
        argv = [str(BIN / "saline"), "--socket", str(self.socket), "run", target, "test.ping"]
        t0 = time.perf_counter()
        r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        dt = time.perf_counter() - t0
        if r.returncode != 0:
            raise RuntimeError(f"saline run failed (rc {r.returncode}): {r.stdout} {r.stderr}")
        return dt


def summarize_saline_run(data: dict[str, Any]) -> dict[str, Any]:
    results = data.get("results", [])
    return {
        "states": len(results),
        "changed": sum(1 for r in results if r.get("changes")),
        "would_change": sum(1 for r in results if r.get("result") is None),
        "failed": sum(1 for r in results if r.get("result") is False),
    }
