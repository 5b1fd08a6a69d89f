"""A small local facts gatherer for masterless runs (``saline call``), with Salt's grain names."""

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


def gather(os_release_path: Path = OS_RELEASE) -> dict[str, Any]:
    try:
        os_release = parse_os_release(os_release_path.read_text())
    except OSError:
        os_release = {}
    uname = os.uname()
    return facts_from(os_release, socket.gethostname(), platform.system(), uname.release)
