"""What a CIB object *means*, so objects spelled another way compare equal.

A cluster built with crmsh or LCMC spells many things differently from what saline
writes, without any difference for Pacemaker (Pacemaker Explained 2.1, "Upgrading" and
the constraint/resource chapters):

* ``<master>`` is a ``<clone>`` with ``promotable=true``; its meta ``master-max`` and
  ``master-node-max`` are ``promoted-max`` and ``promoted-node-max``;
* roles ``Master``/``Slave`` are ``Promoted``/``Unpromoted``; a constraint role
  ``Started`` is the default, the same as none;
* an order without ``first-action`` starts first; without ``then-action`` it does to
  ``then`` what it does to ``first``; without ``kind`` it is ``Mandatory`` (or what its
  deprecated ``score`` says: 0 is ``Optional``); ``symmetrical`` defaults to true except
  for ``Serialize``;
* scores ``inf``/``+INFINITY`` are ``INFINITY``; durations ``0``/``0s``/``0ms`` are one;
* ids of ops, attribute sets, nvpairs and expressions, and the order of nvpairs in a set
  and of ops, name nothing a constraint or the operator refers to.

:func:`meaning` returns a canonical string of that; two objects with the same meaning
are left alone, byte for byte.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from saline.states.system import cib

ROLE_ALIASES = {"Master": "Promoted", "Slave": "Unpromoted"}
META_ALIASES = {"master-max": "promoted-max", "master-node-max": "promoted-node-max"}
ROLE_ATTRS = ("role", "rsc-role", "with-rsc-role", "first-role", "then-role")
# Elements whose id is what other objects refer to (resources, and references to them).
ID_MATTERS = ("primitive", "group", "clone", "master", "bundle", "resource_ref", "template")
CONSTRAINTS = ("rsc_location", "rsc_colocation", "rsc_order", "rsc_ticket", "resource_set")
# Meta attributes Pacemaker reads as booleans (crm_is_true: yes/on/y/1/true).
BOOLEAN_META = ("notify", "promotable", "globally-unique", "interleave", "ordered", "is-managed", "maintenance",
                "critical", "allow-migrate", "requires-quorum")
SET_TAGS = ("instance_attributes", "meta_attributes", "operations", "utilization")
_TRUE, _FALSE = ("true", "yes", "on", "y", "1"), ("false", "no", "off", "n", "0")


def meaning(el: ET.Element | None) -> str:
    """Canonical form of what ``el`` means (see the module docstring); "" for None."""
    if el is None:
        return ""
    norm = cib.copy(el)
    _normalize(norm, top=True)
    return cib.canonical(norm)


def same(a: ET.Element | None, b: ET.Element | None) -> bool:
    return meaning(a) == meaning(b)


def legacy_role(value: str | None) -> str | None:
    """The role with today's name (Master → Promoted), None stays None."""
    return ROLE_ALIASES.get(value, value) if value is not None else None


def _score(value: str) -> str:
    v = value.strip()
    if v.lower() in ("inf", "+inf", "infinity", "+infinity"):
        return "INFINITY"
    if v.lower() in ("-inf", "-infinity"):
        return "-INFINITY"
    return v.lstrip("+") or v


def _bool(value: str) -> str:
    low = value.strip().lower()
    return "true" if low in _TRUE else "false" if low in _FALSE else value


def _duration(value: str) -> str:
    try:
        return str(cib.duration_ms(value))
    except ValueError:
        return value


def _normalize(el: ET.Element, top: bool = False) -> None:
    if not top and el.tag not in ID_MATTERS:
        el.attrib.pop("id", None)
    if el.tag == "master":
        _master_to_clone(el)
    for attr in ROLE_ATTRS:
        if attr in el.attrib:
            el.set(attr, legacy_role(el.get(attr)) or "")
            if el.tag in CONSTRAINTS and el.get(attr) == "Started":
                del el.attrib[attr]
    if "score" in el.attrib:
        el.set("score", _score(el.get("score", "")))
    if el.tag == "op":
        for attr in ("interval", "timeout"):
            if attr in el.attrib:
                el.set(attr, _duration(el.get(attr, "")))
    if el.tag == "rsc_order":
        _order_defaults(el)
    if el.tag == "meta_attributes":
        for nv in el.findall("nvpair"):
            name = META_ALIASES.get(nv.get("name", ""), nv.get("name", ""))
            nv.set("name", name)
            if name in BOOLEAN_META:
                nv.set("value", _bool(nv.get("value", "")))
    for child in el:
        _normalize(child)
    if el.tag in ("meta_attributes", "instance_attributes", "utilization"):
        _sort_children(el, lambda c: (c.tag, c.get("name", "")))
    elif el.tag in ("primitive", "group", "clone", "bundle"):
        # Where a resource's attribute sets and operations sit among its children means
        # nothing (pcs puts a clone's meta after its primitive, crmsh before); members keep their order.
        _sort_children(el, lambda c: (0, SET_TAGS.index(c.tag)) if c.tag in SET_TAGS else (1, 0))
    elif el.tag == "operations":
        _sort_children(el, lambda c: (c.get("name", ""), c.get("interval", ""), c.get("role", "")))


def _sort_children(el: ET.Element, key) -> None:
    children = sorted(el, key=key)
    for child in list(el):
        el.remove(child)
    el.extend(children)


def _master_to_clone(el: ET.Element) -> None:
    el.tag = "clone"
    meta = el.find("meta_attributes")
    if meta is None:
        meta = ET.Element("meta_attributes")
        el.insert(0, meta)
    if not any(nv.get("name") == "promotable" for nv in meta.findall("nvpair")):
        meta.append(ET.Element("nvpair", name="promotable", value="true"))


def _order_defaults(el: ET.Element) -> None:
    first = el.get("first-action", "start")
    el.set("first-action", first)
    el.set("then-action", el.get("then-action", first))
    if "kind" not in el.attrib:
        score = el.get("score")
        el.set("kind", "Optional" if score is not None and _score(score) == "0" else "Mandatory")
    el.attrib.pop("score", None)
    symmetrical = el.get("symmetrical")
    default = "false" if el.get("kind") == "Serialize" else "true"
    el.set("symmetrical", _bool(symmetrical) if symmetrical is not None else default)
