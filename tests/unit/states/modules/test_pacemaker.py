"""pacemaker.* planners from observed facts: real captured CIBs and metadata.

The CIB is the one captured from the saline lab after an operator set it up with pcs
(see tests/fixtures/pacemaker/README.md), so these tests also check that saline keeps
pcs's ids and spellings ("0s", "20s") when they already mean what the state declares.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from saline.states.system import cib
from saline.states.engine.apply import StateArgsError, lookup, validate_args
from saline.states.engine.base import Refuse
from saline.states.modules import pacemaker as pm
from saline.states.system.pcmk_metadata import check_value, parse_parameters
from tests.paths import FIXTURES

FIXTURES = FIXTURES / "pacemaker"
CONFIG = (FIXTURES / "lab-configuration-pcs-created.xml").read_text()
EMPTY = ET.tostring(ET.fromstring(
    "<configuration><crm_config/><nodes/><resources/><constraints/></configuration>"), encoding="unicode")


def options() -> dict:
    found = {}
    for d in ("schedulerd", "controld", "based"):
        found.update(parse_parameters((FIXTURES / f"metadata-pacemaker-{d}.xml").read_text()))
    return found


def agent(name: str) -> dict:
    return parse_parameters((FIXTURES / f"metadata-ocf-{name}.xml").read_text())


FS_META = {p: pm.ParamMeta(name=p, required=p in ("device", "directory", "fstype"))
           for p in ("device", "directory", "fstype", "options")}


def args(fun: str, **kw):
    return validate_args(lookup(fun), kw)


def plan(fun: str, facts, **kw):
    return lookup(fun).plan(args(fun, **kw), facts)


def stdin_xml(p) -> ET.Element:
    assert len(p.steps) == 1
    return ET.fromstring(p.steps[0].stdin)


# ---- properties --------------------------------------------------------------------------


def props_facts(config: str = CONFIG) -> pm.PropertiesFacts:
    return pm.PropertiesFacts(cib=config, options=options())


def test_properties_plan_sets_only_what_differs():
    p = plan("pacemaker.properties", props_facts(), name="p",
             properties={"stonith-enabled": False, "no-quorum-policy": "ignore", "start-failure-is-fatal": False})
    assert [s.argv for s in p.steps] == [
        ["crm_attribute", "--type=crm_config", "--set-name=cib-bootstrap-options", "--name=no-quorum-policy", "--update=ignore"],
        ["crm_attribute", "--type=crm_config", "--set-name=cib-bootstrap-options", "--name=start-failure-is-fatal", "--update=false"],
    ]
    assert p.changes == {"no-quorum-policy": {"old": None, "new": "ignore"}, "start-failure-is-fatal": {"old": None, "new": "false"}}


def test_properties_already_set_is_empty():
    p = plan("pacemaker.properties", props_facts(), name="p", properties={"stonith-enabled": "false", "dc-deadtime": "2s"})
    assert p.empty and p.changes == {}


@pytest.mark.parametrize("props, match", [
    ({"stonith-enabld": False}, "unknown cluster property stonith-enabld"),
    ({"no-quorum-policy": "maybe"}, "must be one of stop, freeze, ignore, demote, suicide"),
    ({"stonith-enabled": "perhaps"}, "is a boolean"),
])
def test_properties_refused_by_daemon_metadata(props, match):
    with pytest.raises(Refuse, match=match):
        plan("pacemaker.properties", props_facts(), name="p", properties=props)


# ---- primitive ---------------------------------------------------------------------------


def prim_facts(meta=FS_META, config: str = CONFIG) -> pm.PrimitiveFacts:
    return pm.PrimitiveFacts(cib=config, agent_params=meta)


FS_ARGS = dict(name="res_Filesystem_1", agent="ocf:heartbeat:Filesystem",
               params={"device": "/dev/vg_node1/lv_node1", "directory": "/lxc1", "fstype": "ext4"},
               ops=[{"name": "monitor", "interval": "20", "timeout": "40s"},
                    {"name": "start", "timeout": "1min"}, {"name": "stop", "timeout": "60000ms"}])


def test_primitive_matching_pcs_definition_is_empty():
    # Same meaning, other spellings (20 vs 20s, 1min vs 60s, 0 vs 0s): nothing to do.
    p = plan("pacemaker.primitive", prim_facts(), **FS_ARGS)
    assert p.empty, p.changes


def test_primitive_change_keeps_ids_and_undeclared_meta():
    changed = dict(FS_ARGS, ops=[*FS_ARGS["ops"][:2], {"name": "stop", "timeout": "240s"}], meta={"resource-stickiness": 100})
    p = plan("pacemaker.primitive", prim_facts(), **changed)
    step = p.steps[0]
    assert step.argv == ["cibadmin", "--replace", "--scope", "resources", "--xml-pipe"]
    new = stdin_xml(p)
    stop = new.find("./operations/op[@name='stop']")
    assert stop.get("id") == "res_Filesystem_1-stop-interval-0s" and stop.get("timeout") == "240s"
    assert new.find("./operations/op[@name='start']").get("timeout") == "60s", "equal duration keeps pcs's spelling"
    meta = cib.nvpairs(new, "meta_attributes")
    assert meta == {"target-role": "Stopped", "resource-stickiness": "100"}, "operator's target-role survives"
    assert '-    <op id="res_Filesystem_1-stop-interval-0s" interval="0s" name="stop" timeout="60s" />' in p.changes["diff"]
    assert p.changes["updated"] == "primitive res_Filesystem_1"


def test_primitive_params_are_exact_and_ops_dropped_when_undeclared():
    p = plan("pacemaker.primitive", prim_facts(), name="res_Filesystem_1", agent="ocf:heartbeat:Filesystem",
             params={"device": "/dev/md3", "directory": "/lxc1", "fstype": "ext4"})
    new = stdin_xml(p)
    assert cib.nvpairs(new, "instance_attributes")["device"] == "/dev/md3"
    assert new.find("operations") is None


def test_primitive_new_uses_pcs_style_ids_and_create():
    p = plan("pacemaker.primitive", prim_facts(agent("heartbeat-lxc")), name="res_lxc_test", agent="ocf:heartbeat:lxc",
             params={"container": "test", "config": "/lxc1/test/config"},
             ops=[{"name": "start", "timeout": "60s"}, {"name": "monitor", "interval": "60s", "timeout": "30s"}])
    assert p.steps[0].argv[:2] == ["cibadmin", "--create"]
    new = stdin_xml(p)
    assert new.attrib == {"id": "res_lxc_test", "class": "ocf", "provider": "heartbeat", "type": "lxc"}
    assert [o.get("id") for o in new.iter("op")] == ["res_lxc_test-start-interval-0", "res_lxc_test-monitor-interval-60s"]
    assert p.changes["created"] == "primitive res_lxc_test"


@pytest.mark.parametrize("kw, meta, match", [
    (dict(agent="ocf:heartbeat:nope"), None, "unknown resource agent ocf:heartbeat:nope"),
    (dict(agent="ocf:heartbeat:lxc", params={"container": "c", "config": "/x", "colour": "red"}), "heartbeat-lxc", "has no parameter colour"),
    (dict(agent="ocf:heartbeat:lxc", params={"container": "c"}), "heartbeat-lxc", "requires parameter config"),
    (dict(agent="ocf:linbit:drbd"), "linbit-drbd", "requires parameter drbd_resource"),
])
def test_primitive_refused_against_agent_metadata(kw, meta, match):
    facts = prim_facts(agent(meta) if meta else None)
    with pytest.raises(Refuse, match=match):
        plan("pacemaker.primitive", facts, name="r", **kw)


def test_primitive_id_used_by_a_constraint_is_refused():
    with pytest.raises(Refuse, match="already used by a rsc_location"):
        plan("pacemaker.primitive", prim_facts({}), name="location-res_Dummy_1-node1-100", agent="ocf:pacemaker:Dummy")


@pytest.mark.parametrize("ops, match", [
    ([{"name": "monitor", "interval": "every minute"}], "not a Pacemaker duration"),
    ([{"name": "monitor", "interval": "-5s"}], "not a Pacemaker duration"),
    ([{"name": "start", "timeout": "60 parsecs"}], "not a Pacemaker duration"),
    ([{"name": "monitor", "interval": "10s"}, {"name": "monitor", "interval": "10000ms"}], "duplicate ops"),
    ([{"name": "monitor", "intervall": "10s"}], "intervall"),
    # Only the op attributes Pacemaker's schema has; a bad name used to crash the planner (invalid XML).
    ([{"name": "monitor", "options": {"on fail": "stop"}}], "on-fail"),
    ([{"name": "monitor", "options": {"requires": "nothing"}}], "on-fail"),
    ([{"name": "monitor", "options": {"id": "other"}}], "on-fail"),
])
def test_bad_ops_are_argument_errors(ops, match):
    with pytest.raises(StateArgsError, match=match):
        args("pacemaker.primitive", name="r", agent="ocf:pacemaker:Dummy", ops=ops)


@pytest.mark.parametrize("spec", ["ocf:heartbeat", "lxc", "ocf:heartbeat:lxc;rm", "foo:bar"])
def test_bad_agent_specs_are_argument_errors(spec):
    with pytest.raises(StateArgsError, match="not an agent spec"):
        args("pacemaker.primitive", name="r", agent=spec)


@pytest.mark.parametrize("text, ms", [("0", 0), ("0s", 0), ("30", 30000), ("500ms", 500), ("2min", 120000), ("1h", 3600000), (45, 45000)])
def test_duration_ms(text, ms):
    assert cib.duration_ms(text) == ms


# ---- group / clone -----------------------------------------------------------------------


def cib_facts(config: str = CONFIG) -> pm.CibFacts:
    return pm.CibFacts(cib=config)


def test_group_moves_primitives_in_order_and_is_then_stable():
    p = plan("pacemaker.group", cib_facts(), name="grp_lxc1", members=["res_Filesystem_1", "res_Dummy_1"])
    assert p.steps[0].argv == ["cibadmin", "--replace", "--scope", "resources", "--xml-pipe"]
    res = stdin_xml(p)
    assert res.tag == "resources" and [c.tag for c in res] == ["group"]
    assert [c.get("id") for c in res.find("group")] == ["res_Filesystem_1", "res_Dummy_1"]
    # Planned against its own result, the group is in the desired state.
    after = ET.fromstring(CONFIG)
    after.remove(after.find("resources"))
    after.insert(3, res)
    assert plan("pacemaker.group", cib_facts(ET.tostring(after, encoding="unicode")),
                name="grp_lxc1", members=["res_Filesystem_1", "res_Dummy_1"]).empty


@pytest.mark.parametrize("members, match", [
    (["res_Dummy_1", "missing"], "'missing' is not a primitive"),
    (["res_Dummy_1", "res_Dummy_1"], "twice"),
])
def test_group_refusals(members, match):
    with pytest.raises(Refuse, match=match):
        plan("pacemaker.group", cib_facts(), name="g", members=members)


def test_group_taking_the_last_member_of_a_cloned_group_is_refused():
    # Used to plan an empty <clone>, which cibadmin rejected with a schema error and a CIB dump.
    p = plan("pacemaker.group", cib_facts(), name="g_in_clone", members=["res_Dummy_1"])
    res = stdin_xml(p)
    res.append(cl := ET.Element("clone", id="cl"))
    g = res.find("group")
    res.remove(g)
    cl.append(g)
    config = ET.fromstring(CONFIG)
    config.remove(config.find("resources"))
    config.insert(3, res)
    with pytest.raises(Refuse, match="would empty group 'g_in_clone', which clone 'cl' holds"):
        plan("pacemaker.group", cib_facts(ET.tostring(config, encoding="unicode")), name="other", members=["res_Dummy_1"])


def test_promotable_clone_wraps_in_place():
    p = plan("pacemaker.clone", cib_facts(), name="ms_dummy", resource="res_Dummy_1", promotable=True,
             meta={"promoted-max": 1, "notify": True})
    res = stdin_xml(p)
    assert [c.get("id") for c in res] == ["ms_dummy", "res_Filesystem_1"], "the clone takes the primitive's place"
    clone = res.find("clone")
    assert cib.nvpairs(clone, "meta_attributes") == {"promoted-max": "1", "notify": "true", "promotable": "true"}
    assert clone.find("primitive").get("id") == "res_Dummy_1"


def test_clone_of_missing_resource_refused():
    with pytest.raises(Refuse, match="'nope' is not a primitive or group"):
        plan("pacemaker.clone", cib_facts(), name="c", resource="nope")


# ---- constraints -------------------------------------------------------------------------


def test_location_same_as_existing_is_empty_and_changed_score_replaces():
    same = plan("pacemaker.location", cib_facts(), name="location-res_Dummy_1-node1-100", resource="res_Dummy_1", node="node1", score=100)
    assert same.empty
    other = plan("pacemaker.location", cib_facts(), name="location-res_Dummy_1-node1-100", resource="res_Dummy_1", node="node1", score="INFINITY")
    assert other.steps[0].argv == ["cibadmin", "--replace", "--scope", "constraints", "--xml-pipe"]
    assert stdin_xml(other).get("score") == "INFINITY"


def test_order_and_colocation_elements():
    o = plan("pacemaker.order", cib_facts(), name="o1", first="res_Filesystem_1", then="res_Dummy_1", symmetrical=False)
    assert stdin_xml(o).attrib == {"id": "o1", "first": "res_Filesystem_1", "first-action": "start", "then": "res_Dummy_1",
                                   "then-action": "start", "kind": "Mandatory", "symmetrical": "false"}
    c = plan("pacemaker.colocation", cib_facts(), name="c1", resource="res_Dummy_1", with_resource="res_Filesystem_1",
             with_rsc_role="Promoted", score=-100)
    assert stdin_xml(c).attrib == {"id": "c1", "rsc": "res_Dummy_1", "with-rsc": "res_Filesystem_1", "score": "-100",
                                   "with-rsc-role": "Promoted"}
    assert c.steps[0].argv[:2] == ["cibadmin", "--create"]


def test_constraint_on_missing_resource_refused():
    with pytest.raises(Refuse, match="resource 'ghost' does not exist"):
        plan("pacemaker.location", cib_facts(), name="l", resource="ghost", node="node1")


@pytest.mark.parametrize("score", ["lots", "1.5", "INF"])
def test_bad_score_is_argument_error(score):
    with pytest.raises(StateArgsError, match="INFINITY"):
        args("pacemaker.location", name="l", resource="r", node="n", score=score)


# ---- alert -------------------------------------------------------------------------------


def test_alert_creates_alerts_section_when_missing():
    p = plan("pacemaker.alert", cib_facts(EMPTY), name="saline", path="/usr/lib/saline/alert", recipients=["/run/a.sock"])
    assert p.steps[0].argv == ["cibadmin", "--create", "--scope", "configuration", "--xml-pipe"]
    wrapped = stdin_xml(p)
    assert wrapped.tag == "alerts" and wrapped.find("alert/recipient").get("value") == "/run/a.sock"


def test_alert_unchanged_is_empty_and_recipient_change_replaces():
    alerts = ('<alerts><alert id="saline" path="/x"><meta_attributes id="m1"><nvpair id="n1" name="timeout" value="10s"/>'
              '</meta_attributes><recipient id="rcp" value="/a"/></alert></alerts>')
    config = CONFIG.replace("</configuration>", alerts + "</configuration>")
    assert plan("pacemaker.alert", cib_facts(config), name="saline", path="/x", recipients=["/a"], meta={"timeout": "10s"}).empty
    p = plan("pacemaker.alert", cib_facts(config), name="saline", path="/x", recipients=["/a", "/b"], meta={"timeout": "10s"})
    assert p.steps[0].argv[:4] == ["cibadmin", "--replace", "--scope", "alerts"]
    assert [r.get("value") for r in stdin_xml(p).findall("recipient")] == ["/a", "/b"]


def test_alert_path_must_be_absolute():
    with pytest.raises(StateArgsError, match="must be absolute"):
        args("pacemaker.alert", name="a", path="alert.sh")


# ---- metadata ----------------------------------------------------------------------------


def test_daemon_metadata_covers_the_seed_properties():
    opts = options()
    for name in ("stonith-enabled", "no-quorum-policy", "start-failure-is-fatal", "dc-deadtime", "enable-acl"):
        assert name in opts
    assert opts["stonith-enabled"].type == "boolean"
    assert check_value(opts["no-quorum-policy"], "ignore") is None
    assert check_value(opts["batch-limit"], "ten") == "batch-limit is an integer, got 'ten'"


def test_agent_metadata_required_params():
    lxc = agent("heartbeat-lxc")
    assert {n for n, p in lxc.items() if p.required} == {"container", "config"}


def test_primitive_with_meta_after_operations_is_stable():
    # crm_resource --meta appends meta_attributes after operations (seen on the lab):
    # the order of the sets must not make saline see a change.
    config = CONFIG.replace(
        '<meta_attributes id="res_Filesystem_1-meta_attributes">\n        <nvpair id="res_Filesystem_1-meta_attributes-target-role" name="target-role" value="Stopped"/>\n      </meta_attributes>\n', ""
    ).replace("</operations>\n    </primitive>\n  </resources>",
              '</operations>\n      <meta_attributes id="m"><nvpair id="m-d" name="description" value="x"/></meta_attributes>\n'
              "    </primitive>\n  </resources>")
    assert '<nvpair id="m-d"' in config and "res_Filesystem_1-meta_attributes-target-role" not in config
    assert plan("pacemaker.primitive", prim_facts(config=config), **FS_ARGS).empty
