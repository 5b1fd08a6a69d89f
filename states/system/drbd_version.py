"""Which DRBD a node runs (8.4 or 9), and where the installed packages put its handlers.

The configuration syntax follows the kernel module, not drbd-utils: Debian 12's in-tree
module is 8.4.11 while drbd-utils is 9.22, whose ``drbdadm`` hands 8.4 configurations to
``drbdadm-84`` when the module (or ``DRBD_DRIVER_VERSION_OVERRIDE``) says 8.4. Sources, in
the order they are trusted:

* ``/proc/drbd`` (module loaded): ``version: 8.4.11 (api:1/proto:86-101)``;
* ``modinfo -F version drbd`` (module installed, not loaded): ``8.4.11``;
* ``drbdadm --version``: ``DRBD_KERNEL_VERSION=…`` when a module answers (``0`` when none).
"""

from __future__ import annotations

import re
from typing import Literal

Syntax = Literal["8.4", "9"]

PROC_DRBD = "/proc/drbd"
MODINFO_ARGV = ["modinfo", "-F", "version", "drbd"]
DRBDADM_VERSION_ARGV = ["drbdadm", "--version"]
# What drbdadm needs in its environment to read and check 8.4 syntax when no 8.4 module
# is loaded (drbd-utils: the driver version it assumes instead of asking the kernel).
OVERRIDE_ENV = "DRBD_DRIVER_VERSION_OVERRIDE"
DEFAULT_84 = "8.4.11"  # Debian 12's in-tree module

_PROC = re.compile(r"^version:\s*(\d+\.\d+\.\d+)", re.M)
_PLAIN = re.compile(r"^\s*(\d+\.\d+\.\d+)\S*\s*$")
_KERNEL = re.compile(r"^DRBD_KERNEL_VERSION=(\S+)\s*$", re.M)


def from_proc(text: str) -> str | None:
    m = _PROC.search(text)
    return m.group(1) if m else None


def from_modinfo(text: str) -> str | None:
    m = _PLAIN.match(text)
    return m.group(1) if m else None


def from_drbdadm(text: str) -> str | None:
    """DRBD_KERNEL_VERSION of ``drbdadm --version``; None when it is 0 (no module)."""
    m = _KERNEL.search(text)
    return m.group(1) if m and m.group(1) not in ("0", "0.0.0") else None


def syntax_of(version: str) -> Syntax:
    major_minor = tuple(int(p) for p in version.split(".")[:2])
    return "9" if major_minor >= (9, 0) else "8.4"


def parse_dpkg_search(text: str) -> dict[str, str]:
    """``dpkg-query -S PATTERN`` lines (``pkg[, pkg]: /path``) → {path: package}."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        packages, sep, path = line.partition(": ")
        if sep and path.startswith("/") and not packages.startswith("diversion"):
            out[path.strip()] = packages.split(",")[0].strip()
    return out
