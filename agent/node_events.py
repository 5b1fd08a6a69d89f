"""The events an agent raises about its own node: its start, a failed state run, and the
Pacemaker alert socket (with saline's alert agent script installed next to it)."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

from saline.protocol.messages import ReturnBody

from .alert_listener import AlertListener, escape
from .config import AgentConfig

log = logging.getLogger("saline.agent.events")

Emit = Callable[[str, dict[str, Any]], int]
MAX_FAILED_LISTED = 20
ALERT_AGENT_SOURCE = Path(__file__).with_name("pacemaker_alert.py")


def agent_started(emit: Emit, version: str, facts: dict[str, Any]) -> int:
    return emit("saline/agent/start", {"version": version, "boot_id": facts.get("boot_id"), "pid": os.getpid()})


def state_run_failed(emit: Emit, body: ReturnBody) -> int:
    """saline/state/failed: which states failed (the first twenty), or the job's error."""
    results = body.data.get("results", []) if isinstance(body.data, dict) else []
    failed = [r for r in results if isinstance(r, dict) and r.get("result") is False]
    data: dict[str, Any] = {
        "jid": body.jid,
        "failed": [escape(str(r.get("id")), 200) for r in failed[:MAX_FAILED_LISTED]],
        "failed_count": len(failed),
    }
    if body.error:
        data["error"] = escape(body.error, 1000)
    return emit("saline/state/failed", data)


def install_alert_agent(path: Path) -> bool:
    """Install saline's Pacemaker alert agent at ``path`` (root-owned, 0755) unless it is
    there already with the same bytes. True if it was written."""
    text = ALERT_AGENT_SOURCE.read_bytes()
    if path.is_file() and not path.is_symlink() and path.read_bytes() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".saline-alert.")  # O_EXCL: no planted symlink
    try:
        os.write(fd, text)
        os.fchmod(fd, 0o755)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    log.info("installed the Pacemaker alert agent at %s", path)
    return True


def start_alerts(cfg: AgentConfig, emit: Emit) -> AlertListener | None:
    """Listen for alerts if configured. A failure here is logged, not fatal: the agent's
    jobs matter more than its alerts."""
    if cfg.alert_agent_path is not None:
        try:
            install_alert_agent(cfg.alert_agent_path)
        except OSError as exc:
            log.error("could not install the alert agent at %s: %s", cfg.alert_agent_path, exc)
    if cfg.alert_socket is None:
        return None
    try:
        listener = AlertListener(cfg.alert_socket, cfg.alert_user, emit)
    except OSError as exc:
        log.error("no Pacemaker alerts: cannot listen on %s: %s", cfg.alert_socket, exc)
        return None
    listener.start()
    return listener
