"""cib_meaning: objects spelled the crmsh/LCMC way mean what saline writes."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from saline.states.system.cib_meaning import meaning, same


def el(xml: str) -> ET.Element:
    return ET.fromstring(xml)


@pytest.mark.parametrize("theirs, ours", [
    # implicit default actions, kind and symmetrical
    ('<rsc_order id="o" first="a" then="b"/>',
     '<rsc_order id="o" first="a" first-action="start" then="b" then-action="start" kind="Mandatory"/>'),
    # then-action defaults to first-action, not to start
    ('<rsc_order id="o" first="ms" first-action="promote" then="g"/>',
     '<rsc_order id="o" first="ms" first-action="promote" then="g" then-action="promote" symmetrical="true"/>'),
    # deprecated score on an order
    ('<rsc_order id="o" score="INFINITY" first="a" then="b"/>', '<rsc_order id="o" kind="Mandatory" first="a" then="b"/>'),
    ('<rsc_order id="o" score="0" first="a" then="b"/>', '<rsc_order id="o" kind="Optional" first="a" then="b"/>'),
    # roles and scores
    ('<rsc_colocation id="c" score="+INFINITY" rsc="g" with-rsc="ms" with-rsc-role="Master"/>',
     '<rsc_colocation id="c" score="INFINITY" rsc="g" with-rsc="ms" with-rsc-role="Promoted"/>'),
    ('<rsc_colocation id="c" score="inf" rsc="g" with-rsc="d" rsc-role="Started"/>',
     '<rsc_colocation id="c" score="INFINITY" rsc="g" with-rsc="d"/>'),
    # <master> is a promotable clone; master-max is promoted-max; notify=yes is true
    ('<master id="ms"><meta_attributes id="x"><nvpair id="x1" name="master-max" value="1"/>'
     '<nvpair id="x2" name="notify" value="yes"/></meta_attributes><primitive id="p" class="ocf" provider="linbit" type="drbd"/></master>',
     '<clone id="ms"><meta_attributes id="ms-meta_attributes"><nvpair id="a" name="promotable" value="true"/>'
     '<nvpair id="b" name="notify" value="true"/><nvpair id="c" name="promoted-max" value="1"/></meta_attributes>'
     '<primitive id="p" class="ocf" provider="linbit" type="drbd"/></clone>'),
    # pcs puts a clone's meta after its primitive
    ('<clone id="c"><primitive id="p" class="ocf" provider="pacemaker" type="Stateful"/><meta_attributes id="m">'
     '<nvpair id="n" name="promotable" value="true"/></meta_attributes></clone>',
     '<clone id="c"><meta_attributes id="c-meta_attributes"><nvpair id="x" name="promotable" value="true"/>'
     '</meta_attributes><primitive id="p" class="ocf" provider="pacemaker" type="Stateful"/></clone>'),
    # op ids, op order, role names and duration spelling
    ('<primitive id="p" class="ocf" provider="linbit" type="drbd"><operations>'
     '<op id="p-monitor-31s" name="monitor" interval="31s" role="Slave" timeout="20s"/>'
     '<op id="p-monitor-29s" name="monitor" interval="29s" role="Master" timeout="20"/></operations></primitive>',
     '<primitive id="p" class="ocf" provider="linbit" type="drbd"><operations>'
     '<op id="p-monitor-interval-29s" name="monitor" interval="29000ms" role="Promoted" timeout="20s"/>'
     '<op id="p-monitor-interval-31s" name="monitor" interval="31s" role="Unpromoted" timeout="20s"/></operations></primitive>'),
])
def test_same_meaning(theirs, ours):
    assert same(el(theirs), el(ours)), (meaning(el(theirs)), meaning(el(ours)))


@pytest.mark.parametrize("a, b", [
    ('<rsc_order id="o" first="ms" first-action="promote" then="g"/>',
     '<rsc_order id="o" first="ms" first-action="promote" then="g" then-action="start"/>'),
    ('<rsc_order id="o" kind="Serialize" first="a" then="b"/>', '<rsc_order id="o" kind="Serialize" first="a" then="b" symmetrical="true"/>'),
    ('<rsc_colocation id="c" score="INFINITY" rsc="g" with-rsc="ms" with-rsc-role="Slave"/>',
     '<rsc_colocation id="c" score="INFINITY" rsc="g" with-rsc="ms" with-rsc-role="Promoted"/>'),
    ('<master id="ms"><primitive id="p" class="ocf" provider="linbit" type="drbd"/></master>',
     '<clone id="ms"><primitive id="p" class="ocf" provider="linbit" type="drbd"/></clone>'),
    ('<primitive id="p" class="ocf" provider="pacemaker" type="Dummy"><operations><op id="x" name="monitor" interval="10s"/></operations></primitive>',
     '<primitive id="p" class="ocf" provider="pacemaker" type="Dummy"><operations><op id="x" name="monitor" interval="11s"/></operations></primitive>'),
    ('<primitive id="p" class="ocf" provider="pacemaker" type="Dummy"/>', '<primitive id="q" class="ocf" provider="pacemaker" type="Dummy"/>'),
    # a group's members keep their order
    ('<group id="g"><primitive id="a" class="ocf" provider="pacemaker" type="Dummy"/><primitive id="b" class="ocf" provider="pacemaker" type="Dummy"/></group>',
     '<group id="g"><primitive id="b" class="ocf" provider="pacemaker" type="Dummy"/><primitive id="a" class="ocf" provider="pacemaker" type="Dummy"/></group>'),
])
def test_different_meaning(a, b):
    assert not same(el(a), el(b))
