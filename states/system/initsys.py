"""What a node's init system says about a service, and the argv that changes it.

Two init systems, told apart the way systemd itself documents it (``sd_booted``):
``/run/systemd/system`` exists (under the runner's root) → systemd, else sysvinit.

* systemd: ``systemctl is-active`` / ``is-enabled``, ``systemctl start|stop|restart|reload|
  enable|disable``; with a root other than ``/`` enable/disable/is-enabled take
  ``--root=ROOT`` (systemctl works on a directory tree offline).
* sysvinit (Debian, the seed's Ubuntu 12.04 era): ``/etc/init.d/NAME start|stop|restart|
  reload|status`` (LSB status codes) and the ``rcN.d`` links, changed with
  ``update-rc.d``, which honours ``DPKG_ROOT`` for a root other than ``/`` (Debian's
  init-system-helpers when insserv is not installed — true in test roots).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel

from saline.states.engine.runner import Runner

_SERVICE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9@._:+-]*$")
RUNLEVEL_DIRS = ("rcS.d", "rc2.d", "rc3.d", "rc4.d", "rc5.d")
# LSB init script status codes: 0 running; 1 dead, pid file left; 2 dead, lock left; 3 not running.
LSB_STOPPED = (1, 2, 3)
# `systemctl is-enabled` answers that mean the unit starts at boot without an `enable` to run.
SYSTEMD_ENABLED = ("enabled", "enabled-runtime", "alias", "static", "indirect", "generated")
SYSTEMD_FIXED = ("static", "indirect", "generated")  # cannot be disabled by `systemctl disable`

InitSystem = Literal["systemd", "sysvinit"]


def check_service_name(name: str) -> str:
    if not _SERVICE.match(name):
        raise ValueError(f"{name!r} is not a service name")
    return name


ServiceName = Annotated[str, AfterValidator(check_service_name)]


def parse_is_active(stdout: str) -> bool | None:
    """``systemctl is-active`` answer → running?; None when systemctl could not tell (no bus...)."""
    word = stdout.strip()
    if word in ("active", "reloading", "activating", "refreshing"):
        return True
    if word in ("inactive", "failed", "deactivating", "maintenance"):
        return False
    return None


def detect(runner: Runner) -> InitSystem:
    return "systemd" if runner.path("/run/systemd/system").is_dir() else "sysvinit"


class RcLinks(BaseModel):
    """The service's links in the boot runlevels, e.g. ``["rc2.d/S01drbd", "rc0.d/K01drbd"]``."""

    links: list[str]

    @property
    def starts_at_boot(self) -> bool:
        return any(link.split("/")[0] in RUNLEVEL_DIRS and link.split("/")[1].startswith("S") for link in self.links)


def rc_links(runner: Runner, name: str) -> RcLinks:
    etc = runner.path("/etc")
    pattern = re.compile(rf"^[SK][0-9][0-9]{re.escape(name)}$")
    links = sorted(
        f"{d.name}/{entry.name}"
        for d in etc.glob("rc?.d")
        for entry in d.iterdir()
        if pattern.match(entry.name)
    ) if etc.is_dir() else []
    return RcLinks(links=links)


class SysvCommands(BaseModel):
    """argv for a sysvinit service; ``script`` is the init script's host path."""

    name: str
    script: str

    def action(self, verb: str) -> list[str]:
        return [self.script, verb]


def update_rc_d_env(root: str | None) -> dict[str, str]:
    """update-rc.d works on the links under ``DPKG_ROOT`` (Debian's way to act on another root)."""
    return {"DPKG_ROOT": root} if root else {}


class SystemdCommands(BaseModel):
    name: str
    root: str | None = None

    def action(self, verb: str) -> list[str]:
        return ["systemctl", verb, self.name]

    def unit_file(self, verb: str) -> list[str]:
        return ["systemctl", *([f"--root={self.root}"] if self.root else []), verb, self.name]


def root_of(runner: Runner) -> str | None:
    return None if str(runner.root) == "/" else str(runner.root)


def init_script(runner: Runner, name: str) -> Path:
    return runner.path(f"/etc/init.d/{name}")
