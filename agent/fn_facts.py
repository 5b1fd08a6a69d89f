"""``facts.items``: what the node is (Salt's grains, reduced to what saline uses)."""

from __future__ import annotations

import os
import platform
import socket
from pathlib import Path
from typing import Any

from .functions import FunctionContext, agent_function


def _os_release() -> dict[str, str]:
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            text = Path(path).read_text()
        except OSError:
            continue
        out = {}
        for line in text.splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip():
                out[key.strip()] = value.strip().strip('"')
        return out
    return {}


def _meminfo_kib() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _interfaces() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    base = Path("/sys/class/net")
    if not base.is_dir():
        return out
    for dev in sorted(base.iterdir()):
        info: dict[str, Any] = {}
        for attr in ("address", "operstate", "mtu"):
            try:
                info[attr] = (dev / attr).read_text().strip()
            except OSError:
                pass
        info["bridge"] = (dev / "bridge").is_dir()
        out[dev.name] = info
    return out


def gather_facts(agent_id: str, version: str) -> dict[str, Any]:
    osr = _os_release()
    try:
        boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot_id = None
    return {
        "id": agent_id,
        "hostname": socket.gethostname(),
        "os": osr.get("ID", platform.system().lower()),
        "os_version": osr.get("VERSION_ID", ""),
        "os_pretty": osr.get("PRETTY_NAME", ""),
        "kernel": platform.release(),
        "arch": platform.machine(),
        "boot_id": boot_id,
        "cpus": os.cpu_count(),
        "mem_total_kib": _meminfo_kib(),
        "interfaces": _interfaces(),
        "init": "systemd" if Path("/run/systemd/system").is_dir() else "sysvinit",
        "saline_version": version,
    }


@agent_function("facts.items")
def items(args, ctx: FunctionContext) -> dict[str, Any]:
    """Hostname, OS, kernel, boot id, CPU/memory, interfaces and agent version."""
    return gather_facts(ctx.agent_id, ctx.version)
