"""lvm.* planned from facts (exact argv); real LVM runs in tests/real/test_mod_lvm.py."""

from __future__ import annotations

import pytest

from saline.states.engine.base import CommandStep, Refuse
from saline.states.modules.lvm import LvArgs, LvFacts, lv_present
from saline.states.system.lvm import LV, VG, parse_report, parse_size

G = 1024**3
VG1 = VG(vg_name="vg_node1", vg_extent_size=4 * 1024**2, vg_free=100 * G, pv_count=1)


def argvs(plan):
    return [s.argv for s in plan.steps if isinstance(s, CommandStep)]


def test_lv_create_inactive_as_the_seed_does():
    plan = lv_present(LvArgs(name="lv_node1", vgname="vg_node1", size="1G", active=False), LvFacts(vg=VG1, lv=None))
    assert argvs(plan) == [["lvcreate", "-n", "lv_node1", "-L", f"{G}b", "--activate", "n", "--zero", "n", "vg_node1"]]


@pytest.mark.parametrize("attr, active, want", [("-wi-a-----", False, [["lvchange", "-an", "vg_node1/lv"]]), ("-wi-------", True, [["lvchange", "-ay", "vg_node1/lv"]]), ("-wi-a-----", True, [])])
def test_lv_activation(attr, active, want):
    lv = LV(lv_name="lv", vg_name="vg_node1", lv_size=G, lv_attr=attr)
    assert argvs(lv_present(LvArgs(name="lv", vgname="vg_node1", size="1G", active=active), LvFacts(vg=VG1, lv=lv))) == want


def test_lv_activation_unknown_is_refused():
    lv = LV(lv_name="lv", vg_name="vg_node1", lv_size=G, lv_attr="-wi-XX----")
    with pytest.raises(Refuse, match="unknown"):
        lv_present(LvArgs(name="lv", vgname="vg_node1", size="1G", active=False), LvFacts(vg=VG1, lv=lv))


def test_lvm_json_report_and_sizes():
    text = '{"report": [{"lv": [{"lv_name":"lv1", "vg_name":"vgt", "lv_size":"8388608B", "lv_attr":"-wi-XX----"}]}]}'
    assert parse_report(text, "lv") == [{"lv_name": "lv1", "vg_name": "vgt", "lv_size": "8388608", "lv_attr": "-wi-XX----"}]
    assert parse_size("1G") == G and parse_size("512m") == 512 * 1024**2 and parse_size("2TiB") == 2 * 1024**4
    with pytest.raises(ValueError):
        parse_size("1 gallon")
