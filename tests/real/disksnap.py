"""Snapshots of real disk targets for the harness: what blkid, sfdisk and LVM report."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path


def _out(argv: list[str], env: dict | None = None) -> tuple[int, str]:
    p = subprocess.run(argv, capture_output=True, text=True, env=env)
    return p.returncode, p.stdout


def blkid_snapshot(*devices: str) -> Callable[[], object]:
    """Every signature on the devices, probed directly (no cache)."""
    return lambda: [_out(["blkid", "-p", "-o", "export", d]) for d in devices]


def disk_snapshot(disk: str, *files: Path) -> Callable[[], object]:
    """Partition table (sfdisk --json), every partition's signatures, and file contents."""

    def snap():
        rc, table = _out(["sfdisk", "--json", disk])
        parts = sorted(str(p) for p in Path("/dev").glob(Path(disk).name + "p*"))
        return table, [_out(["blkid", "-p", "-o", "export", p]) for p in parts], [f.read_bytes() if f.exists() else None for f in files]

    return snap


def lvm_snapshot(env: dict) -> Callable[[], object]:
    """PVs, VGs and LVs with sizes, as the isolated LVM reports them."""
    report = ["--reportformat", "json", "--units", "b"]
    return lambda: (
        _out(["pvs", *report, "-o", "pv_name,vg_name,pv_size"], env),
        _out(["vgs", *report, "-o", "vg_name,pv_count,vg_size"], env),
        _out(["lvs", *report, "-o", "lv_name,vg_name,lv_size"], env),
    )
