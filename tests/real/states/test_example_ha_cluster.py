"""The example tree deploy/examples/ha-cluster plans cleanly with ``saline call --test``.

Real planning, not a render check: two loop-device "disks" partitioned like the seed's
sda/sdb (ESP + five RAID partitions; sda's ESP already carries GRUB as the installer left
it), a loop device standing in for /dev/drbd1 under an isolated LVM, and a node root with
Debian's /etc/default/grub, an fstab, the lvm2 udev rule and a dpkg status that knows
lvm2. The pillar override only renames devices to those loop devices (the root maps
/dev/<loop> back to the real node so every probe reads the real device).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.real.disksnap import blkid_snapshot
from tests.real.loopdev import loops, lvm_env, need_tools  # noqa: F401  (fixtures)

pytestmark = pytest.mark.real

from tests.paths import REPO  # noqa: E402
TREE = REPO / "deploy" / "examples" / "ha-cluster"
FIXTURES = REPO / "tests" / "fixtures" / "file"
MTOOLS = {"MTOOLS_SKIP_CHECK": "1", "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}


def seed_disk(loops) -> tuple[str, list[str]]:
    disk = loops(64)
    argv = ["sgdisk", "-n", "1:2048:+8M", "-t", "1:EF00"]
    for n in range(2, 7):
        argv += ["-n", f"{n}:0:+8M", "-t", f"{n}:FD00"]
    subprocess.run([*argv, disk], check=True, capture_output=True)
    loops.partitions_appeared(disk)
    parts = [f"{disk}p{n}" for n in range(1, 7)]
    assert all(Path(p).exists() for p in parts)
    return disk, parts


def node_root(root: Path, devices: list[str], esp_uuid: str) -> None:
    (root / "dev").mkdir(parents=True)
    for dev in devices:
        (root / dev.lstrip("/")).symlink_to(dev)
    (root / "etc/default").mkdir(parents=True)
    (root / "etc/default/grub").write_text((FIXTURES / "grub.default").read_text().replace("GRUB_TIMEOUT=5", "GRUB_TIMEOUT=2"))
    (root / "etc/fstab").write_text(f"/dev/md0 / ext4 errors=remount-ro 0 1\nUUID={esp_uuid} /boot/efi vfat defaults 0 1\n")
    (root / "lib/udev/rules.d").mkdir(parents=True)
    (root / "lib/udev/rules.d/85-lvm2.rules").write_text((FIXTURES / "85-lvm2.rules").read_text())
    dpkg = root / "var/lib/dpkg"
    for sub in ("info", "updates"):
        (dpkg / sub).mkdir(parents=True)
    # The host's real status entry for lvm2 (installed by CI for these tests).
    (dpkg / "status").write_text(subprocess.run(["dpkg-query", "-s", "lvm2"], capture_output=True, text=True, check=True).stdout + "\n")


def tree_files(root: Path):
    return {str(p): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}


def test_example_tree_plans_cleanly_for_node1(loops, lvm_env, tmp_path):
    need_tools("sgdisk", "mkfs.vfat", "mdadm", "dpkg-query")
    sda, sda_parts = seed_disk(loops)
    sdb, sdb_parts = seed_disk(loops)
    drbd1 = loops(32)
    subprocess.run(["mkfs.vfat", sda_parts[0]], check=True, capture_output=True)
    subprocess.run(["mmd", "-i", sda_parts[0], "::/EFI", "::/EFI/ubuntu"], check=True, capture_output=True, env=MTOOLS)
    subprocess.run(["mcopy", "-i", sda_parts[0], "/etc/hostname", "::/EFI/ubuntu/grubx64.efi"], check=True, capture_output=True, env=MTOOLS)
    esp_uuid = subprocess.run(["blkid", "-p", "-s", "UUID", "-o", "value", sda_parts[0]], capture_output=True, text=True, check=True).stdout.strip()

    root = tmp_path / "node1"
    devices = [sda, sdb, drbd1, *sda_parts, *sdb_parts]
    node_root(root, devices, esp_uuid)
    override = {
        "raid": {"arrays": {f"/dev/md{i}": [sda_parts[i + 1], sdb_parts[i + 1]] for i in range(5)}},
        "esp": {"disks": [{"disk": sda, "partition": 1, "bootloader_id": "ubuntu"}, {"disk": sdb, "partition": 1, "bootloader_id": "ubuntu2"}]},
        "lvm": {"pv": drbd1},
    }
    pillar_file = tmp_path / "devices.yaml"
    pillar_file.write_text(yaml.safe_dump(override))
    env = {**lvm_env([drbd1]), "PYTHONPATH": str(REPO)}

    disks_before, files_before = blkid_snapshot(*devices)(), tree_files(root)
    proc = subprocess.run(
        [sys.executable, "-m", "saline.states.call", "--test", "--json", "--id", "node1", "--root", str(root),
         "--pillar-root", str(TREE / "pillar"), "--pillar", str(pillar_file), str(TREE / "states")],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    results = {r["id"]: r for r in json.loads(proc.stdout)["results"]}

    assert not [r for r in results.values() if r["result"] is False]
    for i in range(5):
        md = results[f"/dev/md{i}"]
        assert md["result"] is None and md["changes"]["created"] == f"/dev/md{i}", md
    esp = results["esp-on-both-disks"]
    # sda: GRUB is there, only the ESP flag is missing (sgdisk set EF00: so nothing); sdb: the seed's recipe.
    assert sda not in esp["changes"] and set(esp["changes"][sdb]) == {"vfat", "bootloader"}
    assert esp["changes"]["fstab"]["new"] == f"UUID={esp_uuid} /boot/efi vfat defaults,nofail 0 1"
    assert results["/etc/default/grub"]["changes"]["GRUB_TIMEOUT"] == {"old": "2", "new": "5"}
    assert results["lvm2-udev-autoactivation"]["result"] is None
    assert results["lvm2"]["result"] is None
    assert results["vg_node1"]["changes"] == {"created": "vg_node1", "devices": [drbd1]}
    assert results["lv_node1"]["changes"] == {"created": "vg_node1/lv_node1", "size": "1G"}
    assert results["/dev/vg_node1/lv_node1"]["result"] is None
    assert results["/lxc1"]["result"] is None and results["/lxc2"]["result"] is None
    # A dry run: not one byte changed on the disks or in the node's files.
    assert blkid_snapshot(*devices)() == disks_before
    assert tree_files(root) == files_before
