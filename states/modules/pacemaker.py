"""Pacemaker configuration as states: properties, resources, constraints, alerts.

Every function reads the CIB's configuration section with ``cibadmin --query``, builds
the desired copy of the one object it manages, and changes the CIB only when the
canonical forms differ — with ``cibadmin --create/--replace`` scoped to that object
(group/clone membership: the resources section) or ``crm_attribute`` for properties.
Objects and attributes the state does not manage survive: an operator's other
resources and constraints, and meta attributes the state does not declare (such as
``target-role`` set by ``crm resource stop``).

What a state owns of its object:

* ``pacemaker.primitive``: the agent, ``params`` (exactly), ``ops`` (exactly, matched
  by name + interval + role so existing op ids stay), the declared ``meta`` keys;
* ``pacemaker.group``: its members and their order (exactly), the declared ``meta`` keys;
* ``pacemaker.clone``: which resource it clones, ``promotable``, the declared ``meta`` keys;
* constraints and alerts: the whole element.

Like the Pacemaker tools, every command honours ``CIB_file`` in the environment (the
Runner passes it through), so a whole cluster configuration can be planned and applied
against an offline CIB file (from ``cibadmin --empty`` or ``crm_shadow``) before a
cluster exists; ``crm_simulate --simulate --xml-file FILE`` (or ``CIB_file=FILE
crm_simulate -L -s``) then shows where the resources would run.

Names are checked against Pacemaker's own metadata before anything runs: cluster
properties against the daemons (``pacemaker-schedulerd metadata`` ...), resource
parameters against ``crm_resource --show-metadata AGENT``; unknown agents, unknown or
missing parameters, bad values and malformed op intervals are refused.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from saline.states.system import cib
from saline.states.system.cib_meaning import legacy_role, same
from saline.states.system.cib_preview import DISRUPTIVE, Preview, preview
from saline.states.system.cib_rules import Action, ResourceSet, Role, Rule, check_score, rule_element, set_element
from saline.states.engine.base import CommandStep, Facts, Plan, Refuse, StateArgs, StateContext, state_function
from saline.states.system.pcmk_metadata import ParamMeta, agent_parameters, check_value, cluster_options

Scalar = bool | int | float | str
# The op attributes Pacemaker's schema allows besides id, name, interval, timeout and role.
OpOption = Literal["description", "enabled", "interval-origin", "on-fail", "record-pending", "start-delay"]
RESOURCE_TAGS = ("primitive", "group", "clone", "master", "bundle")
CLONE_TAGS = ("clone", "master")  # <master>: a promotable clone as crmsh and Pacemaker 1.x write it
_AGENT = re.compile(r"^(ocf:[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+|(lsb|service|systemd|stonith|nagios|upstart):[A-Za-z0-9_.@-]+)$")


# ---- facts -------------------------------------------------------------------------------


class CibFacts(Facts):
    cib: str  # the configuration section, as cibadmin printed it
    # The would-be CIB checked by crm_verify and simulated by crm_simulate (None: no CIB change planned).
    preview: Preview | None = None


class PrimitiveFacts(CibFacts):
    agent_params: dict[str, ParamMeta] | None  # None: Pacemaker knows no such agent


class PropertiesFacts(CibFacts):
    options: dict[str, ParamMeta]


def cib_facts(args: StateArgs, ctx: StateContext) -> CibFacts:
    return CibFacts(cib=cib.query_configuration(ctx.runner))


class CibArgs(StateArgs):
    # Refuse (instead of warning) when the simulated change would stop or move a running
    # resource this state does not name.
    require_no_disruption: bool = False


def cib_state(name: str, args_model: type[CibArgs], *, facts):
    """``state_function`` for a CIB state, with a preview: the facts also hold the CIB the
    plan would make, validated by crm_verify and simulated by crm_simulate (read-only, so a
    dry run shows it too), and the plan reports the simulated resource actions, refuses
    what crm_verify rejects, and warns about (or with ``require_no_disruption`` refuses)
    stopping or moving a running resource the state does not name. Returns the pure plan."""

    def register(plan):
        def previewing_facts(args, ctx: StateContext):
            found = facts(args, ctx)
            try:
                steps = [st for st in plan(args, found).steps if isinstance(st, CommandStep)]
            except Refuse:
                return found  # the plan refuses anyway; nothing to preview
            edits = [(st.argv[1][2:], st.argv[3], st.stdin or "") for st in steps if st.argv[0] == "cibadmin"]
            edits += _property_edits(found, [st.argv for st in steps if st.argv[0] == "crm_attribute"])
            if edits:
                found.preview = preview(ctx.runner, edits)
            return found

        def previewed_plan(args, found) -> Plan:
            return _with_preview(plan(args, found), args, found)

        previewed_plan.__doc__ = plan.__doc__
        state_function(name, args_model, facts=previewing_facts)(previewed_plan)
        return plan

    return register


def _property_edits(facts: CibFacts, argvs: list[list[str]]) -> list[tuple[str, str, str]]:
    """crm_attribute --type=crm_config updates as the cluster_property_set they make
    (a replace in crm_config), so property changes are simulated like the rest."""
    sets: dict[str, ET.Element] = {}
    for argv in argvs:
        opts = dict(a[2:].split("=", 1) for a in argv[1:] if a.startswith("--") and "=" in a)
        if opts.get("type") != "crm_config":
            continue
        set_id = opts["set-name"]
        if set_id not in sets:
            old = _root(facts).find(f"./crm_config/cluster_property_set[@id='{set_id}']")
            sets[set_id] = cib.copy(old) if old is not None else ET.Element("cluster_property_set", id=set_id)
        nv = next((n for n in sets[set_id].findall("nvpair") if n.get("name") == opts["name"]), None)
        if nv is None:
            nv = ET.SubElement(sets[set_id], "nvpair", id=f"{set_id}-{opts['name']}", name=opts["name"])
        nv.set("value", opts["update"])
    return [("replace", "crm_config", cib.to_xml(el)) for el in sets.values()]


def _named(value: object) -> set[str]:
    """Every string in the state's arguments: the resources it names."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_named(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_named(v) for v in value)) if value else set()
    return set()


def _with_preview(plan: Plan, args: CibArgs, facts: CibFacts) -> Plan:
    pv = facts.preview
    if pv is None or plan.empty:
        return plan
    if pv.verify_errors:
        raise Refuse("crm_verify rejects the CIB this change would make: " + "; ".join(pv.verify_errors)
                     + ". Nothing was changed; fix the state's arguments.")
    if pv.simulate_error:
        plan.changes["simulation"] = f"crm_simulate failed: {pv.simulate_error}"
        return plan
    plan.changes["simulation"] = [a.describe() for a in pv.actions] or ["no resource actions"]
    named = _named(args.model_dump())
    # A group or clone the state names stands for its members.
    root = _root(facts)
    for rid in list(named):
        el = cib.find_id(root, rid)
        if el is not None and el.tag in ("group", *CLONE_TAGS):
            named |= {p.get("id", "") for p in el.iter("primitive")}
    disrupted = [a.describe() for a in pv.actions if a.action in DISRUPTIVE and a.base_resource not in named]
    if disrupted:
        if args.require_no_disruption:
            raise Refuse(f"the simulation of this change would {'; '.join(disrupted)} — resources this state does not "
                         "name. Nothing was changed (require_no_disruption: true); check the constraints, or apply "
                         "it in a maintenance window without require_no_disruption.")
        plan.changes["warnings"] = [f"would {d} (not named by this state)" for d in disrupted]
    return plan


# ---- the one way every object is changed ----------------------------------------------------


def _cibadmin(op: str, scope: str, el: ET.Element, what: str) -> CommandStep:
    # --xml-pipe: a resources section can exceed the kernel's limit for one argv string.
    return CommandStep(description=what, argv=["cibadmin", f"--{op}", "--scope", scope, "--xml-pipe"], stdin=cib.to_xml(el))


def object_plan(label: str, old: ET.Element | None, new: ET.Element, scope: str, *, create_scope: str | None = None,
                create_el: ET.Element | None = None, spelling: bool = False) -> Plan:
    """Plan for one CIB object: nothing if it means the same (cib_meaning: spelling, ids
    and defaults aside), else create or replace it."""
    # spelling: the change *is* the spelling (convert_legacy), so compare the text.
    if (cib.canonical(old) == cib.canonical(new)) if spelling else same(old, new):
        return Plan(comment=f"{label} is in the desired state")
    changes = {"diff": cib.diff(old, new, label)}
    if old is None:
        step = _cibadmin("create", create_scope or scope, create_el if create_el is not None else new, f"create {label}")
        return Plan(steps=[step], changes={"created": label, **changes})
    return Plan(steps=[_cibadmin("replace", scope, new, f"update {label}")], changes={"updated": label, **changes})


def _root(facts: CibFacts) -> ET.Element:
    return cib.parse(facts.cib)


def _claim_id(root: ET.Element, tag: str, obj_id: str) -> ET.Element | None:
    """The existing ``tag`` with this id; refuse when another kind of object has it."""
    el = cib.find_id(root, obj_id)
    if el is not None and el.tag != tag:
        raise Refuse(f"id {obj_id!r} is already used by a {el.tag} in the CIB")
    return el


def _require_resources(root: ET.Element, *ids: str) -> None:
    resources = cib.section(root, "resources")
    for rid in ids:
        el = cib.find_id(resources, rid) if resources is not None else None
        if el is None or el.tag not in RESOURCE_TAGS:
            raise Refuse(f"resource {rid!r} does not exist in the CIB (declare it first and require it)")


def _values(mapping: dict[str, Scalar]) -> dict[str, str]:
    return {k: cib.cib_value(v) for k, v in mapping.items()}


# ---- pacemaker.properties ----------------------------------------------------------------


class PropertiesArgs(CibArgs):
    properties: dict[str, Scalar] = Field(min_length=1)
    set_id: str = "cib-bootstrap-options"


def properties_facts(args: PropertiesArgs, ctx: StateContext) -> PropertiesFacts:
    return PropertiesFacts(cib=cib.query_configuration(ctx.runner), options=cluster_options(ctx.runner))


@cib_state("pacemaker.properties", PropertiesArgs, facts=properties_facts)
def properties(args: PropertiesArgs, facts: PropertiesFacts) -> Plan:
    """Cluster properties (crm_config), e.g. ``stonith-enabled: false``, set by name."""
    wanted = _values(args.properties)
    unknown = sorted(set(wanted) - set(facts.options))
    if unknown:
        raise Refuse(f"unknown cluster propert{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)} "
                     "(not in the metadata of pacemaker-schedulerd/-controld/-based)")
    bad = [why for name, value in wanted.items() if (why := check_value(facts.options[name], value))]
    if bad:
        raise Refuse("; ".join(bad))
    root = _root(facts)
    pset = root.find(f"./crm_config/cluster_property_set[@id='{args.set_id}']")
    current = {nv.get("name"): nv.get("value") for nv in pset.findall("nvpair")} if pset is not None else {}
    steps, changes = [], {}
    for name, value in wanted.items():
        if current.get(name) == value:
            continue
        changes[name] = {"old": current.get(name), "new": value}
        steps.append(CommandStep(
            description=f"set cluster property {name}={value}",
            # --opt=VALUE: a value starting with '-' (node-health-red=-INFINITY) must not be read as options.
            argv=["crm_attribute", "--type=crm_config", f"--set-name={args.set_id}", f"--name={name}", f"--update={value}"],
        ))
    return Plan(steps=steps, changes=changes, comment="cluster properties are in the desired state")


# ---- pacemaker.primitive -----------------------------------------------------------------


class Op(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    interval: str = "0"
    timeout: str | None = None
    role: Role | None = None
    # Other op attributes by their CIB name: on-fail, start-delay, record-pending ...
    options: dict[OpOption, Scalar] = Field(default_factory=dict)

    @field_validator("interval", "timeout", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        if value is None:
            return value
        cib.duration_ms(value)  # ValueError names the accepted forms
        return str(value)

    def key(self) -> tuple[str, int, str | None]:
        return self.name, cib.duration_ms(self.interval), self.role


class PrimitiveArgs(CibArgs):
    agent: str
    params: dict[str, Scalar] = Field(default_factory=dict)
    meta: dict[str, Scalar] = Field(default_factory=dict)
    ops: list[Op] = Field(default_factory=list)

    @field_validator("agent")
    @classmethod
    def _agent(cls, value: str) -> str:
        if not _AGENT.match(value):
            raise ValueError(f"{value!r} is not an agent spec like ocf:heartbeat:lxc or systemd:NAME")
        return value

    @model_validator(mode="after")
    def _unique_ops(self) -> "PrimitiveArgs":
        keys = [op.key() for op in self.ops]
        dupes = {k for k in keys if keys.count(k) > 1}
        if dupes:
            raise ValueError(f"duplicate ops (name, interval ms, role): {sorted(dupes, key=str)}")
        return self


def primitive_facts(args: PrimitiveArgs, ctx: StateContext) -> PrimitiveFacts:
    return PrimitiveFacts(cib=cib.query_configuration(ctx.runner), agent_params=agent_parameters(ctx.runner, args.agent))


def _check_params(args: PrimitiveArgs, known: dict[str, ParamMeta] | None) -> None:
    if known is None:
        raise Refuse(f"unknown resource agent {args.agent} (crm_resource --show-metadata finds no such agent)")
    unknown = sorted(set(args.params) - set(known))
    if unknown:
        raise Refuse(f"{args.agent} has no parameter {', '.join(unknown)} (it has: {', '.join(sorted(known))})")
    missing = sorted(p.name for p in known.values() if p.required and p.name not in args.params)
    if missing:
        raise Refuse(f"{args.agent} requires parameter {', '.join(missing)}")


def _agent_attrs(agent: str) -> dict[str, str]:
    parts = agent.split(":")
    if parts[0] == "ocf":
        return {"class": "ocf", "provider": parts[1], "type": parts[2]}
    return {"class": parts[0], "type": parts[1]}


def _set_ops(prim: ET.Element, ops: list[Op], ids: cib.Ids) -> None:
    """``operations`` holds exactly ``ops``; an existing op with the same name, interval
    and role keeps its id, its children and its spelling of equal durations."""
    rid = prim.get("id")
    holder = prim.find("operations")
    existing = {}
    # Keep the operations element where it was: moving it would be a change.
    position = list(prim).index(holder) if holder is not None else len(prim)
    if holder is not None:
        for op_el in holder.findall("op"):
            try:
                existing[(op_el.get("name"), cib.duration_ms(op_el.get("interval", "0")), legacy_role(op_el.get("role")))] = op_el
            except ValueError:
                pass  # an interval we cannot read is not one we declared: it gets dropped
        prim.remove(holder)
    if not ops:
        return
    holder = ET.Element("operations")
    prim.insert(position, holder)
    for op in ops:
        name, interval, role = op.key()
        old = existing.get((name, interval, legacy_role(role)))
        el = ET.SubElement(holder, "op")
        el.set("id", old.get("id") if old is not None else ids.new(f"{rid}-{op.name}-interval-{op.interval}"))
        el.set("name", op.name)
        el.set("interval", old.get("interval") if old is not None else op.interval)
        if op.timeout is not None:
            keep = old is not None and cib.same_duration(old.get("timeout"), op.timeout)
            el.set("timeout", old.get("timeout") if keep else op.timeout)
        if op.role is not None:
            # The existing spelling of the same role (Master for Promoted) stays.
            el.set("role", old.get("role") if old is not None and legacy_role(old.get("role")) == legacy_role(op.role) else op.role)
        for k, v in _values(op.options).items():
            el.set(k, v)
        if old is not None:
            el.extend(list(old))


@cib_state("pacemaker.primitive", PrimitiveArgs, facts=primitive_facts)
def primitive(args: PrimitiveArgs, facts: PrimitiveFacts) -> Plan:
    """A primitive resource: agent, params, meta, ops with timeouts and intervals."""
    _check_params(args, facts.agent_params)
    root = _root(facts)
    old = _claim_id(root, "primitive", args.name)
    ids = cib.Ids(root)
    new = cib.copy(old) if old is not None else ET.Element("primitive", id=args.name)
    for attr in ("class", "provider", "type"):
        new.attrib.pop(attr, None)
    new.attrib.update(_agent_attrs(args.agent))
    cib.set_nvpairs(new, "instance_attributes", _values(args.params), ids, exclusive=True)
    cib.set_nvpairs(new, "meta_attributes", _values(args.meta), ids, exclusive=False)
    _set_ops(new, args.ops, ids)
    return object_plan(f"primitive {args.name}", old, new, "resources")


# ---- pacemaker.group / pacemaker.clone ------------------------------------------------------


class GroupArgs(CibArgs):
    members: list[str] = Field(min_length=1)
    meta: dict[str, Scalar] = Field(default_factory=dict)


class CloneArgs(CibArgs):
    resource: str
    promotable: bool = False
    meta: dict[str, Scalar] = Field(default_factory=dict)
    # An existing <master> (crmsh "ms") is adopted as is; true converts it to a promotable <clone>.
    convert_legacy: bool = False


def _resources_copy(facts: CibFacts) -> tuple[ET.Element, ET.Element, cib.Ids]:
    root = _root(facts)
    resources = cib.section(root, "resources")
    if resources is None:
        raise Refuse("the CIB has no resources section")
    return resources, cib.copy(resources), cib.Ids(root)


def _detach(el: ET.Element, parents: dict[ET.Element, ET.Element]) -> None:
    parent = parents[el]
    parent.remove(el)
    # Pacemaker rejects an empty group: a group left without members goes too, unless it is
    # cloned (removing it would leave an empty clone, which Pacemaker rejects as well).
    if parent.tag == "group" and parent.find("primitive") is None and parent in parents:
        if parents[parent].tag in CLONE_TAGS:
            raise Refuse(f"taking {el.get('id')!r} would empty group {parent.get('id')!r}, "
                         f"which clone {parents[parent].get('id')!r} holds; change the clone first")
        parents[parent].remove(parent)


def _resources_plan(label: str, old: ET.Element, new: ET.Element, spelling: bool = False) -> Plan:
    plan = object_plan("resources", old, new, "resources", spelling=spelling)
    if plan.empty:
        plan.comment = f"{label} is in the desired state"
    else:
        plan.changes = {"updated": label, "diff": plan.changes["diff"]}
        plan.steps[0].description = f"update {label} (replace the resources section)"
    return plan


@cib_state("pacemaker.group", GroupArgs, facts=cib_facts)
def group(args: GroupArgs, facts: CibFacts) -> Plan:
    """A group of primitives (started in order, on one node); members exactly as listed."""
    if len(set(args.members)) != len(args.members):
        raise Refuse(f"group {args.name} lists a member twice: {args.members}")
    old_res, res, ids = _resources_copy(facts)
    _claim_id(_root(facts), "group", args.name)
    parents = cib.parent_map(res)
    grp = cib.find(res, "group", args.name)
    for member in args.members:
        el = cib.find_id(res, member)
        if el is None or el.tag != "primitive":
            raise Refuse(f"group member {member!r} is not a primitive in the CIB (declare it first and require it)")
        if parents[el].tag in CLONE_TAGS:
            raise Refuse(f"{member!r} is cloned ({parents[el].get('id')}); a cloned primitive cannot join a group")
    if grp is None:
        grp = ET.SubElement(res, "group", id=args.name)
        parents[grp] = res
    wanted = [cib.find_id(res, m) for m in args.members]
    # Members not listed leave the group but stay defined, at the top level.
    for el in grp.findall("primitive"):
        if el.get("id") not in args.members:
            grp.remove(el)
            res.append(el)
    for el in wanted:
        if parents.get(el) is not grp:
            _detach(el, parents)
        elif el in list(grp):
            grp.remove(el)
    grp.extend(wanted)
    cib.set_nvpairs(grp, "meta_attributes", _values(args.meta), ids, exclusive=False, position=0)
    return _resources_plan(f"group {args.name}", old_res, res)


@cib_state("pacemaker.clone", CloneArgs, facts=cib_facts)
def clone(args: CloneArgs, facts: CibFacts) -> Plan:
    """A clone (``promotable: true`` for DRBD's ``ocf:linbit:drbd``) of a primitive or group.
    A ``<master>`` of that id (crmsh's ``ms``) is adopted as the promotable clone it is, and
    converted to ``<clone promotable=true>`` only with ``convert_legacy: true``."""
    old_res, res, ids = _resources_copy(facts)
    existing = cib.find_id(_root(facts), args.name)
    if existing is not None and existing.tag == "master" and not args.promotable:
        raise Refuse(f"{args.name!r} is a master/slave resource (<master>, a promotable clone) in the CIB; "
                     "declare it with promotable: true to adopt it")
    if existing is not None and existing.tag not in CLONE_TAGS:
        raise Refuse(f"id {args.name!r} is already used by a {existing.tag} in the CIB")
    parents = cib.parent_map(res)
    child = cib.find_id(res, args.resource)
    if child is None or child.tag not in ("primitive", "group"):
        raise Refuse(f"resource {args.resource!r} is not a primitive or group in the CIB (declare it first and require it)")
    holder = parents[child]
    clone_el = next((el for el in (cib.find(res, t, args.name) for t in CLONE_TAGS) if el is not None), None)
    if clone_el is not None and holder is not clone_el:
        held = [c.get("id") for c in clone_el if c.tag in ("primitive", "group")]
        raise Refuse(f"clone {args.name} already holds {', '.join(held)}, not {args.resource}")
    if clone_el is None:
        if holder.tag != "resources":
            raise Refuse(f"{args.resource!r} is inside {holder.tag} {holder.get('id')}; only a top-level resource can be cloned")
        clone_el = ET.Element("clone", id=args.name)
        holder.insert(list(holder).index(child), clone_el)
        holder.remove(child)
        clone_el.append(child)
    if clone_el.tag == "master" and args.convert_legacy:
        _convert_master(clone_el)
    meta = _legacy_spelling(_values(args.meta), cib.nvpairs(clone_el, "meta_attributes"))
    if clone_el.tag == "clone":
        current = cib.nvpairs(clone_el, "meta_attributes").get("promotable", "false")
        if args.promotable or current.lower() in ("true", "yes", "1"):
            meta["promotable"] = cib.cib_value(args.promotable)
    cib.set_nvpairs(clone_el, "meta_attributes", meta, ids, exclusive=False, position=0)
    converting = existing is not None and existing.tag == "master" and clone_el.tag == "clone"
    plan = _resources_plan(f"clone {args.name}", old_res, res, spelling=converting)
    if converting:
        plan.changes["converted"] = f"<master> {args.name} → <clone promotable=true> (one replace of the resources section)"
    return plan


# Pacemaker 1.x / crmsh names of clone meta attributes, and the names they have today.
LEGACY_META = {"promoted-max": "master-max", "promoted-node-max": "master-node-max"}


def _legacy_spelling(wanted: dict[str, str], current: dict[str, str]) -> dict[str, str]:
    """``wanted`` with each name as the CIB already spells it (master-max for
    promoted-max), so an adopted object is edited in place, not given a twin."""
    return {(LEGACY_META[k] if k in LEGACY_META and LEGACY_META[k] in current and k not in current else k): v
            for k, v in wanted.items()}


def _convert_master(el: ET.Element) -> None:
    """<master> → <clone> with promotable=true, today's meta names and op roles."""
    el.tag = "clone"
    modern = {v: k for k, v in LEGACY_META.items()}
    meta = el.find("meta_attributes")
    for nv in meta.findall("nvpair") if meta is not None else []:
        nv.set("name", modern.get(nv.get("name", ""), nv.get("name", "")))
    for op in el.iter("op"):
        if op.get("role") is not None:
            op.set("role", legacy_role(op.get("role")) or "")


# ---- constraints ---------------------------------------------------------------------------


class ConstraintArgs(CibArgs):
    score: int | str = "INFINITY"

    @field_validator("score")
    @classmethod
    def _score(cls, value: int | str) -> str:
        return check_score(value)


class LocationArgs(ConstraintArgs):
    resource: str
    node: str | None = None  # with score: prefer (or avoid) this node
    rules: list[Rule] = Field(default_factory=list)  # or: scores from node attributes and dates
    role: Role | None = None
    resource_discovery: Literal["always", "never", "exclusive"] | None = None

    @model_validator(mode="after")
    def _node_or_rules(self) -> "LocationArgs":
        if (self.node is None) == (not self.rules):
            raise ValueError("a location needs either node (with score) or rules, not both")
        return self


class OrderArgs(CibArgs):
    first: str | None = None
    then: str | None = None
    first_action: Action = "start"
    then_action: Action = "start"
    sets: list[ResourceSet] = Field(default_factory=list)  # instead of first/then: ordered sets
    kind: Literal["Mandatory", "Optional", "Serialize"] = "Mandatory"
    symmetrical: bool | None = None

    @model_validator(mode="after")
    def _pair_or_sets(self) -> "OrderArgs":
        if (self.first is None or self.then is None) == (not self.sets) or (self.sets and (self.first or self.then)):
            raise ValueError("an order needs first and then, or sets (not both)")
        return self


class ColocationArgs(ConstraintArgs):
    resource: str | None = None
    with_resource: str | None = None
    sets: list[ResourceSet] = Field(default_factory=list)  # instead of resource/with_resource
    rsc_role: Role | None = None
    with_rsc_role: Role | None = None

    @model_validator(mode="after")
    def _pair_or_sets(self) -> "ColocationArgs":
        pair = self.resource is not None and self.with_resource is not None
        if pair == bool(self.sets) or (self.sets and (self.resource or self.with_resource)):
            raise ValueError("a colocation needs resource and with_resource, or sets (not both)")
        return self


def _constraint_plan(tag: str, args: StateArgs, facts: CibFacts, attrs: dict[str, str | None], refs: list[str],
                     children: list[ET.Element] = ()) -> Plan:
    root = _root(facts)
    old = _claim_id(root, tag, args.name)
    _require_resources(root, *refs)
    new = ET.Element(tag, id=args.name, attrib={k: v for k, v in attrs.items() if v is not None})
    new.extend(children)
    return object_plan(f"{tag} {args.name}", old, new, "constraints")


def _sets(name: str, sets: list[ResourceSet]) -> tuple[list[ET.Element], list[str]]:
    return [set_element(s, f"{name}-set-{n}") for n, s in enumerate(sets, start=1)], [r for s in sets for r in s.resources]


@cib_state("pacemaker.location", LocationArgs, facts=cib_facts)
def location(args: LocationArgs, facts: CibFacts) -> Plan:
    """Where a resource prefers (positive score) or must not (-INFINITY) run; or ``rules``
    scoring nodes by attributes (``#uname``, node attributes) and dates."""
    rules = [rule_element(r, f"{args.name}-rule-{n}") for n, r in enumerate(args.rules, start=1)]
    return _constraint_plan("rsc_location", args, facts, {
        "rsc": args.resource, "node": args.node, "score": args.score if args.node else None, "role": args.role,
        "resource-discovery": args.resource_discovery,
    }, [args.resource], rules)


@cib_state("pacemaker.order", OrderArgs, facts=cib_facts)
def order(args: OrderArgs, facts: CibFacts) -> Plan:
    """Start ``then`` after ``first`` (e.g. promote DRBD, then start the filesystem), or ``sets`` in order."""
    children, refs = _sets(args.name, args.sets)
    pair = {"first": args.first, "first-action": args.first_action, "then": args.then,
            "then-action": args.then_action} if not args.sets else {}
    return _constraint_plan("rsc_order", args, facts, {
        **pair, "kind": args.kind, "symmetrical": None if args.symmetrical is None else cib.cib_value(args.symmetrical),
    }, refs or [args.first, args.then], children)


@cib_state("pacemaker.colocation", ColocationArgs, facts=cib_facts)
def colocation(args: ColocationArgs, facts: CibFacts) -> Plan:
    """Keep ``resource`` on the node where ``with_resource`` runs (in a role), or ``sets`` together."""
    children, refs = _sets(args.name, args.sets)
    return _constraint_plan("rsc_colocation", args, facts, {
        "rsc": args.resource, "with-rsc": args.with_resource, "score": args.score,
        "rsc-role": args.rsc_role, "with-rsc-role": args.with_rsc_role,
    }, refs or [args.resource, args.with_resource], children)


# ---- pacemaker.rsc_defaults / pacemaker.op_defaults -------------------------------------------

# Pacemaker Explained 2.1: resource meta-attributes and operation properties a default may set.
RSC_DEFAULTS = ("priority", "critical", "target-role", "is-managed", "maintenance", "resource-stickiness",
                "requires", "migration-threshold", "failure-timeout", "multiple-active", "allow-migrate",
                "container-attribute-target", "remote-node", "remote-port", "remote-addr", "remote-connect-timeout",
                "allow-unhealthy-nodes")
OP_DEFAULTS = ("timeout", "on-fail", "record-pending", "enabled", "interval-origin", "start-delay", "role",
               "requires", "interval")


class DefaultsArgs(CibArgs):
    defaults: dict[str, Scalar] = Field(min_length=1)  # only these names are managed; others stay
    set_id: str | None = None  # the meta_attributes set; default: the section's first, else "<section>-options"


def _defaults_plan(section: str, known: tuple[str, ...], args: DefaultsArgs, facts: CibFacts) -> Plan:
    unknown = sorted(set(args.defaults) - set(known))
    if unknown:
        raise Refuse(f"{section}: unknown name {', '.join(unknown)} (known: {', '.join(known)})")
    root = _root(facts)
    holder = cib.section(root, section)
    old_set = None
    if holder is not None:
        sets = holder.findall("meta_attributes")
        old_set = next((m for m in sets if m.get("id") == args.set_id), None) if args.set_id else (sets[0] if sets else None)
    set_id = args.set_id or (old_set.get("id") if old_set is not None else f"{section.replace('_', '-')}-options")
    ids = cib.Ids(root)
    if old_set is None:
        _claim_id(root, "meta_attributes", set_id)
    new_set = cib.copy(old_set) if old_set is not None else ET.Element("meta_attributes", id=set_id)
    values = _values(args.defaults)
    for key in ("timeout", "interval"):
        if key in values:
            try:
                cib.duration_ms(values[key])
            except ValueError as exc:
                raise Refuse(f"{section} {key}: {exc}") from None
    holder_el = ET.Element(section)
    holder_el.append(new_set)
    cib.set_nvpairs(holder_el, "meta_attributes", values, ids, exclusive=False)
    new_set = holder_el.find("meta_attributes")
    if holder is None:
        return object_plan(f"{section} {set_id}", None, new_set, section, create_scope="configuration",
                           create_el=_wrap(section, new_set))
    if old_set is None:
        return object_plan(f"{section} {set_id}", None, new_set, section)
    return object_plan(f"{section} {set_id}", old_set, new_set, section)


@cib_state("pacemaker.rsc_defaults", DefaultsArgs, facts=cib_facts)
def rsc_defaults(args: DefaultsArgs, facts: CibFacts) -> Plan:
    """Resource defaults (``rsc_defaults``: resource-stickiness, migration-threshold …), by name."""
    return _defaults_plan("rsc_defaults", RSC_DEFAULTS, args, facts)


@cib_state("pacemaker.op_defaults", DefaultsArgs, facts=cib_facts)
def op_defaults(args: DefaultsArgs, facts: CibFacts) -> Plan:
    """Operation defaults (``op_defaults``: timeout, record-pending …), by name."""
    return _defaults_plan("op_defaults", OP_DEFAULTS, args, facts)


# ---- pacemaker.alert ----------------------------------------------------------------------


class AlertArgs(CibArgs):
    path: str
    recipients: list[str] = Field(default_factory=list)
    meta: dict[str, Scalar] = Field(default_factory=dict)  # e.g. timestamp-format, timeout
    params: dict[str, Scalar] = Field(default_factory=dict)  # passed to the agent as CRM_alert_*

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"alert agent path {value!r} must be absolute")
        return value


@cib_state("pacemaker.alert", AlertArgs, facts=cib_facts)
def alert(args: AlertArgs, facts: CibFacts) -> Plan:
    """An alert agent (run by Pacemaker on cluster events) with its recipients."""
    if len(set(args.recipients)) != len(args.recipients):
        raise Refuse(f"alert {args.name} lists a recipient twice")
    root = _root(facts)
    old = _claim_id(root, "alert", args.name)
    ids = cib.Ids(root)
    new = ET.Element("alert", id=args.name, path=args.path)
    cib.set_nvpairs(new, "meta_attributes", _values(args.meta), ids, exclusive=True)
    cib.set_nvpairs(new, "instance_attributes", _values(args.params), ids, exclusive=True)
    if old is not None:
        # Reuse existing set ids, so an unchanged alert compares equal.
        for tag in ("meta_attributes", "instance_attributes"):
            old_set, new_set = old.find(tag), new.find(tag)
            if old_set is not None and new_set is not None:
                new_set.set("id", old_set.get("id", ""))
                old_ids = {nv.get("name"): nv.get("id") for nv in old_set.findall("nvpair")}
                for nv in new_set.findall("nvpair"):
                    nv.set("id", old_ids.get(nv.get("name")) or nv.get("id", ""))
    old_recipients = {r.get("value"): r.get("id") for r in old.findall("recipient")} if old is not None else {}
    for value in args.recipients:
        rid = old_recipients.get(value) or ids.new(f"{args.name}-recipient")
        ET.SubElement(new, "recipient", id=rid, value=value)
    if cib.section(root, "alerts") is None:
        return object_plan(f"alert {args.name}", old, new, "alerts", create_scope="configuration",
                           create_el=_wrap("alerts", new))
    return object_plan(f"alert {args.name}", old, new, "alerts")


def _wrap(tag: str, child: ET.Element) -> ET.Element:
    outer = ET.Element(tag)
    outer.append(child)
    return outer
