"""blockdev.formatted planned from facts (real on loop devices in tests/real/test_mod_blockdev.py)."""

from __future__ import annotations

import pytest

from saline.states.engine.base import CommandStep, Refuse
from saline.states.system.blkid import BlockContent
from saline.states.modules.blockdev import FormattedArgs, FormattedFacts, formatted


def argvs(plan):
    return [s.argv for s in plan.steps if isinstance(s, CommandStep)]


def test_formatted_plans():
    empty = FormattedFacts(content=BlockContent(device="/dev/vg_node1/lv_node1", exists=True), mounted_at=[])
    assert argvs(formatted(FormattedArgs(name="/dev/vg_node1/lv_node1"), empty)) == [["mkfs.ext4", "-q", "/dev/vg_node1/lv_node1"]]
    swap = FormattedFacts(content=BlockContent(device="/dev/md2", exists=True, tags={"TYPE": "swap"}), mounted_at=[])
    assert formatted(FormattedArgs(name="/dev/md2", fs_type="swap"), swap).empty
    with pytest.raises(Refuse, match="mounted"):
        formatted(FormattedArgs(name="/dev/md0", fs_type="xfs"), FormattedFacts(content=BlockContent(device="/dev/md0", exists=True, tags={"TYPE": "ext4"}), mounted_at=["/"]))
