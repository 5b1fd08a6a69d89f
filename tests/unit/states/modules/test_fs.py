"""fs.grown planned from facts: the seed's lvextend + e2fsck + resize2fs as exact argv (real on a loop device in tests/real/test_mod_fs.py)."""

from __future__ import annotations

import pytest

from saline.states.engine.base import CommandStep, Refuse
from saline.states.system.blkid import BlockContent
from saline.states.modules.fs import Ext4Geometry, GrownArgs, GrownFacts, grown, parse_dumpe2fs
from saline.states.system.lvm import LV, VG

G = 1024**3
VG1 = VG(vg_name="vg_node1", vg_extent_size=4 * 1024**2, vg_free=100 * G, pv_count=1)


def argvs(plan):
    return [s.argv for s in plan.steps if isinstance(s, CommandStep)]


def test_fs_grown_is_the_seed_recipe():
    """lvextend -L+8G; e2fsck -f; resize2fs -p — as one plan, with an absolute size."""
    lv = LV(lv_name="www", vg_name="vg_node2", lv_size=4 * G, lv_attr="-wi-a-----")
    facts = GrownFacts(
        content=BlockContent(device="/dev/vg_node2/www", exists=True, tags={"TYPE": "ext4"}),
        mounted_at=[], device_size=4 * G, geometry=Ext4Geometry(block_count=1048576, block_size=4096), lv=lv, vg=VG1,
    )
    plan = grown(GrownArgs(name="/dev/vg_node2/www", size="12G"), facts)
    assert argvs(plan) == [
        ["lvextend", "-L", f"{12 * G}b", "/dev/vg_node2/www"],
        ["e2fsck", "-f", "-p", "/dev/vg_node2/www"],
        ["resize2fs", "-p", "/dev/vg_node2/www"],
    ]
    assert plan.steps[1].ok_rc == [0, 1]
    with pytest.raises(Refuse, match="never shrinks"):
        grown(GrownArgs(name="/dev/vg_node2/www", size="2G"), facts)
    with pytest.raises(Refuse, match="mounted on /lxc2"):
        grown(GrownArgs(name="/dev/vg_node2/www", size="12G"), facts.model_copy(update={"mounted_at": ["/lxc2"]}))


def test_dumpe2fs_header():
    text = "dumpe2fs 1.47.0 (5-Feb-2023)\nFilesystem volume name:   <none>\nBlock count:              8192\nBlock size:               4096\n"
    assert parse_dumpe2fs(text).size == 8192 * 4096
