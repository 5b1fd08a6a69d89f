"""The node's facts (Salt calls them grains), with Salt's grain names where Salt has one.

One gatherer for every consumer: the agent's ``facts.items`` and its hello to the master
(the master renders SLS templates with them), and masterless ``saline call``.
"""

from __future__ import annotations

import os
import platform
import shlex
import socket
from pathlib import Path
from typing import Any

OS_RELEASE = Path("/etc/os-release")


def parse_os_release(text: str) -> dict[str, str]:
    """``/etc/os-release`` (KEY=value, shell quoting) → dict."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        try:
            parts = shlex.split(raw)
        except ValueError:
            continue
        values[key.strip()] = parts[0] if parts else ""
    return values


def facts_from(os_release: dict[str, str], hostname: str, kernel: str, kernelrelease: str) -> dict[str, Any]:
    return {
        "hostname": hostname,
        "host": hostname.split(".", 1)[0],
        "fqdn": hostname,
        "os": os_release.get("NAME", "").split(" ", 1)[0] or kernel,
        "os_id": os_release.get("ID", ""),
        "osrelease": os_release.get("VERSION_ID", ""),
        "oscodename": os_release.get("VERSION_CODENAME", ""),
        "kernel": kernel,
        "kernelrelease": kernelrelease,
    }


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def _mem_total_mib() -> int | None:
    for line in (_read("/proc/meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return None


def _interfaces() -> dict[str, dict[str, Any]]:
    base = Path("/sys/class/net")
    out: dict[str, dict[str, Any]] = {}
    for dev in sorted(base.iterdir()) if base.is_dir() else []:
        out[dev.name] = {
            "hwaddr": _read(f"{dev}/address"),
            "operstate": _read(f"{dev}/operstate"),
            "bridge": (dev / "bridge").is_dir(),
        }
    return out


def gather(os_release_path: Path = OS_RELEASE) -> dict[str, Any]:
    try:
        os_release = parse_os_release(os_release_path.read_text())
    except OSError:
        os_release = {}
    uname = os.uname()
    facts = facts_from(os_release, socket.gethostname(), platform.system(), uname.release)
    facts.update({
        "os_pretty": os_release.get("PRETTY_NAME", ""),
        "cpuarch": uname.machine,
        "num_cpus": os.cpu_count(),
        "mem_total": _mem_total_mib(),
        "boot_id": _read("/proc/sys/kernel/random/boot_id"),
        "init": "systemd" if Path("/run/systemd/system").is_dir() else "sysvinit",
        "interfaces": _interfaces(),
    })
    return facts
