"""Processes holding a data volume open, found in /proc for real."""

from __future__ import annotations

import subprocess
import sys
import time

from saline.states.system.holders import data_paths, holders, mounts

MOUNTINFO = (
    "22 1 8:2 / / rw,relatime shared:1 - ext4 /dev/md0 rw\n"
    "40 22 147:0 / /lxc1 rw,relatime shared:20 - ext4 /dev/drbd0 rw\n"
    "41 22 253:3 / /srv/my\\040data rw,relatime shared:21 - ext4 /dev/mapper/vg_node1-lv_ct1 rw\n"
)


def test_mounts_and_which_are_on_drbd(tmp_path):
    assert mounts(MOUNTINFO) == [("/dev/md0", "/"), ("/dev/drbd0", "/lxc1"),
                                 ("/dev/mapper/vg_node1-lv_ct1", "/srv/my data")]
    sys_block = tmp_path / "block"
    # No such dm device under this sys/block: only the DRBD mount and the configured path count.
    assert data_paths(MOUNTINFO, ["/srv/extra/"], sys_block) == ["/lxc1", "/srv/extra"]


def _spawn(argv, cwd):
    p = subprocess.Popen(argv, cwd=cwd)
    time.sleep(0.3)
    return p


def test_an_unmanaged_holder_is_found_and_a_resource_agents_child_is_not(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    free = _spawn(["sleep", "30"], data)
    # A stand-in for pacemaker-execd (its comm name) whose child holds the volume: managed.
    execd = _spawn([sys.executable, "-c",
                    "import subprocess; open('/proc/self/comm','w').write('pacemaker-execd');"
                    f"subprocess.run(['sleep', '30'], cwd={str(data)!r})"], tmp_path)
    try:
        time.sleep(0.3)
        found = holders([str(data)])
        assert [(h.pid, h.comm, h.path) for h in found] == [(free.pid, "sleep", str(data))]
        assert holders([str(tmp_path / "elsewhere")]) == []
    finally:
        for p in (free, execd):
            p.kill()
            p.wait()
