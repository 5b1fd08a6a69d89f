"""Loop devices and an isolated LVM for the disk state tests.

Import the fixtures into a test module (``from tests.real.loopdev import loops, lvm_env``).
Every loop device is detached (partition nodes removed first) and its backing file
deleted by a finalizer, even when the test fails. Backing files carry a random name so
parallel test runs never share one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REQUIRED = ["losetup", "partx", "blkid"]


def _need_tools(*tools: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("loop devices need root")
    missing = [t for t in (*REQUIRED, *tools) if shutil.which(t) is None]
    if missing:
        pytest.skip(f"missing tools: {', '.join(missing)}")


def _sh(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout.strip()


class LoopFactory:
    def __init__(self, directory: Path):
        self.directory = directory
        self.devices: list[tuple[str, Path]] = []

    def __call__(self, size_mb: int = 64) -> str:
        backing = self.directory / f"saline-disk-{uuid.uuid4().hex[:12]}.img"
        with open(backing, "wb") as f:
            f.truncate(size_mb * 1024 * 1024)
        device = _sh("losetup", "--find", "--show", str(backing))
        self.devices.append((device, backing))
        return device

    def grow(self, device: str, size_mb: int) -> None:
        """Grow the backing file and tell the loop driver (``losetup -c``)."""
        backing = dict(self.devices)[device]
        with open(backing, "r+b") as f:
            f.truncate(size_mb * 1024 * 1024)
        _sh("losetup", "-c", device)

    def partitions_appeared(self, device: str) -> None:
        """Create the partition nodes (``partx -a``) after a table was written."""
        subprocess.run(["partx", "-a", device], capture_output=True)

    def cleanup(self) -> None:
        for device, backing in reversed(self.devices):
            subprocess.run(["umount", "--quiet", device], capture_output=True)
            subprocess.run(["partx", "-d", device], capture_output=True)
            subprocess.run(["losetup", "-d", device], capture_output=True)
            backing.unlink(missing_ok=True)
        self.devices.clear()


@pytest.fixture
def loops(tmp_path: Path) -> Iterator[LoopFactory]:
    """``loops(size_mb)`` → a fresh loop device node; all detached at teardown."""
    _need_tools()
    factory = LoopFactory(tmp_path)
    try:
        yield factory
    finally:
        factory.cleanup()


LVM_CONF = """\
devices {{
    filter = [ {accept} "r|.*|" ]
    global_filter = [ {accept} "r|.*|" ]
    use_devicesfile = 0
    obtain_device_list_from_udev = 0
}}
global {{
    activation = 0
    locking_dir = "{run}"
    use_lvmlockd = 0
}}
activation {{
    udev_sync = 0
    udev_rules = 0
    monitoring = 0
}}
backup {{
    backup = 0
    archive = 0
    backup_dir = "{run}/backup"
    archive_dir = "{run}/archive"
}}
"""


@pytest.fixture
def lvm_env(tmp_path: Path) -> Callable[[list[str]], dict[str, str]]:
    """``lvm_env([devices])`` → an environment whose LVM sees only those devices, never
    touches device-mapper (activation = 0), and keeps its lock/backup dirs in tmp."""
    _need_tools("pvcreate", "lvs")

    def make(devices: list[str]) -> dict[str, str]:
        system_dir = tmp_path / f"lvm-{uuid.uuid4().hex[:8]}"
        run = system_dir / "run"
        run.mkdir(parents=True)
        accept = " ".join(f'"a|^{d}$|",' for d in devices)
        (system_dir / "lvm.conf").write_text(LVM_CONF.format(accept=accept, run=run))
        return {**os.environ, "LVM_SYSTEM_DIR": str(system_dir), "LVM_SUPPRESS_FD_WARNINGS": "1"}

    return make


def need_tools(*tools: str) -> None:
    _need_tools(*tools)
