"""cib_preview: cibadmin's create/replace applied to a CIB copy; crm_simulate's actions."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from saline.states.system.cib_preview import apply_steps, parse_actions
from tests.paths import FIXTURES

CIB = ('<cib><configuration><crm_config/><nodes/><resources><group id="g"><primitive id="a" class="ocf" '
       'provider="pacemaker" type="Dummy"/></group></resources><constraints/></configuration><status/></cib>')


def test_create_appends_and_replace_swaps_by_id_or_section():
    out = apply_steps(CIB, [
        ("create", "constraints", '<rsc_location id="l" rsc="g" node="n1" score="1"/>'),
        ("replace", "resources", '<primitive id="a" class="ocf" provider="pacemaker" type="Stateful"/>'),
        ("create", "configuration", '<rsc_defaults><meta_attributes id="rd"/></rsc_defaults>'),
    ])
    root = ET.fromstring(out)
    assert root.find("./configuration/constraints/rsc_location").get("id") == "l"
    assert root.find("./configuration/resources/group/primitive").get("type") == "Stateful"
    assert root.find("./configuration/rsc_defaults/meta_attributes") is not None and root.find("status") is not None
    whole = apply_steps(CIB, [("replace", "resources", "<resources/>")])
    assert ET.fromstring(whole).find("./configuration/resources") is not None
    assert ET.fromstring(whole).find(".//group") is None


def test_actions_of_a_real_crm_simulate_run():
    text = "".join(line for line in (FIXTURES / "pacemaker" / "crm_simulate-actions.xml").read_text().splitlines(True)
                   if not line.startswith("<!-- Source"))
    actions = parse_actions(text)
    assert [a.describe() for a in actions] == ["stop d1 on node2 (due to node availability)",
                                               "stop d2 on node1 (due to node availability)"]
    assert actions[0].base_resource == "d1"
