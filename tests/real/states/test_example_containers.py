"""The example tree deploy/examples/containers plans cleanly with ``saline call --test``.

Real planning: the containers' VG exists in real LVM metadata on a loop device (isolated
LVM config, no activation), the Pacemaker side is a real CIB file (``CIB_file``) holding
the node's group members the seed creates before the containers (LVM, Filesystem /lxc1),
and the node root has the Pacemaker-mounted /lxc1 as an empty directory.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.paths import REPO
from tests.real.loopdev import loops, lvm_env, need_tools  # noqa: F401  (fixtures)

pytestmark = pytest.mark.real

TREE = REPO / "deploy" / "examples" / "containers"


def cib_with_group_members(path: Path) -> None:
    env = {"CIB_file": str(path), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    path.write_text(subprocess.run(["cibadmin", "--empty"], capture_output=True, text=True, check=True, env=env).stdout)
    for rid in ("lvm_1", "fs_1"):
        subprocess.run(["cibadmin", "--create", "-o", "resources", "-X",
                        f'<primitive id="{rid}" class="ocf" provider="pacemaker" type="Dummy"/>'], check=True, env=env)


def test_container_stack_plans_cleanly_for_node1(loops, lvm_env, tmp_path: Path):
    need_tools("cibadmin", "lxc-create")
    disk = loops(64)
    env = lvm_env([disk])
    for argv in (["pvcreate", disk], ["vgcreate", "vg_node1", disk]):
        subprocess.run(argv, env=env, check=True, capture_output=True)
    cib_file = tmp_path / "cib.xml"
    cib_with_group_members(cib_file)
    root = tmp_path / "node1"
    (root / "lxc1").mkdir(parents=True)
    cib_before = cib_file.read_text()

    proc = subprocess.run(
        [sys.executable, "-m", "saline.states.call", "--test", "--json", "--id", "node1", "--root", str(root),
         "--pillar-root", str(TREE / "pillar"), str(TREE / "states")],
        capture_output=True, text=True, env={**env, "CIB_file": str(cib_file), "PYTHONPATH": str(REPO)}, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    results = {r["id"]: r for r in json.loads(proc.stdout)["results"]}
    assert not [r for r in results.values() if r["result"] is False], results

    www = results["www"]
    assert www["result"] is None and "create container www in /lxc1 (lvm backing, 4G LV vg_node1/www)" in www["comment"]
    keys = www["changes"]["keys"]
    assert keys["lxc.rootfs.path"] == "lvm:/dev/vg_node1/www" and keys["lxc.start.auto"] == "0"
    assert keys["lxc.cgroup.memory.limit_in_bytes"] == "512M" and keys["lxc.cgroup.memory.memsw.limit_in_bytes"] == "768M"
    assert results["test"]["changes"]["keys"]["lxc.cgroup.cpu.shares"] == "768"
    prim = results["res_lxc_www"]
    assert prim["result"] is None and 'timeout="60s"' in prim["changes"]["diff"] and 'value="/lxc1/www/config"' in prim["changes"]["diff"]
    assert results["grp_lxc1"]["result"] is None
    # A dry run: nothing made.
    assert list((root / "lxc1").iterdir()) == [] and cib_file.read_text() == cib_before
