"""``apt-get upgrade`` as data: what it would (or did) install, and whether the node needs
a reboot afterwards.

``apt-get upgrade`` honours dpkg holds (the seed holds lxc, screen, resource-agents and
lvm2): held packages are never in its ``Inst`` lines, so upgrading is safe to run as is.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

SIMULATE_ARGV = ["apt-get", "-s", "-o", "Debug::NoLocking=1", "upgrade"]
UPDATE_ARGV = ["apt-get", "update"]
UPGRADE_ARGV = ["apt-get", "-y", "-o", "Dpkg::Options::=--force-confold", "upgrade"]
APT_ENV = {"DEBIAN_FRONTEND": "noninteractive", "LANG": "C"}
REBOOT_REQUIRED = Path("/run/reboot-required")

_INST = re.compile(r"^Inst (\S+) (?:\[(\S+)\] )?\((\S+)")


class Upgrade(BaseModel):
    package: str
    old: str | None = None
    new: str


def parse_simulation(text: str) -> list[Upgrade]:
    """The ``Inst`` lines of ``apt-get -s upgrade``."""
    found = []
    for line in text.splitlines():
        m = _INST.match(line)
        if m:
            found.append(Upgrade(package=m.group(1), old=m.group(2), new=m.group(3)))
    return found


def newest_kernel(boot: Path = Path("/boot")) -> str | None:
    """The newest ``vmlinuz-*`` release in /boot."""
    releases = [p.name.removeprefix("vmlinuz-") for p in boot.glob("vmlinuz-*")]
    if not releases:
        return None
    return max(releases, key=_natural)


def _natural(release: str) -> list:
    # 6.1.0-28-amd64 > 6.1.0-9-amd64: numbers compare as numbers.
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", release)]


def reboot_needed(running_kernel: str, boot: Path = Path("/boot"), flag: Path = REBOOT_REQUIRED) -> str | None:
    """Why the node must reboot (Debian's reboot-required flag, or a newer kernel installed), or None."""
    if flag.exists():
        return f"{flag} exists"
    newest = newest_kernel(boot)
    if newest is not None and newest != running_kernel:
        return f"kernel {newest} is installed, {running_kernel} is running"
    return None
