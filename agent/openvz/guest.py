"""Fixes inside the migrated guest, as the seed lists them: gettys on the LXC consoles in
``/etc/inittab`` (OpenVZ guests have none) and ``venet0`` → ``eth0`` in
``/etc/network/interfaces``. Pure text → text functions; the caller writes the files."""

from __future__ import annotations

import re

# The seed's lines, verbatim.
SEED_INITTAB = [
    "0:2345:respawn:/sbin/getty 38400 console",
    "1:2345:respawn:/sbin/getty 38400 tty1",
    "2:23:respawn:/sbin/getty 38400 tty2",
    "3:23:respawn:/sbin/getty 38400 tty3",
    "p0::powerfail:/sbin/init 0",
]


def _active_ids(text: str) -> set[str]:
    return {line.split(":", 1)[0] for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")}


def is_sysvinit(text: str) -> bool:
    """A sysvinit inittab has an ``initdefault`` entry; busybox or systemd guests do not."""
    return any(re.match(r"^[^#:]*:\d:initdefault:", line) for line in text.splitlines())


def inittab_fixed(text: str) -> tuple[str, list[str]]:
    """The inittab with the seed's console gettys added where their ids are not in use."""
    ids = _active_ids(text)
    added = [line for line in SEED_INITTAB if line.split(":", 1)[0] not in ids]
    if not added:
        return text, []
    body = text if text.endswith("\n") or not text else text + "\n"
    return body + "# LXC consoles (added by saline openvz.migrate)\n" + "\n".join(added) + "\n", added


def interfaces_fixed(text: str) -> tuple[str, int]:
    """``venet0`` (and its aliases ``venet0:N``) → ``eth0``; the number of replacements."""
    return re.subn(r"\bvenet0\b", "eth0", text)
