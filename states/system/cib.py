"""The Pacemaker CIB as data: read it, find objects, edit copies, diff them.

State modules never edit the live CIB directly from here: they read the
``configuration`` section (``cibadmin --query --scope configuration``, which honours
``CIB_file`` like every Pacemaker tool), build the desired copy of one object with
:func:`copy` + the helpers below, and compare :func:`canonical` forms. Only when the
object differs does the plan hold a ``cibadmin --replace``/``--create`` of that object
(or of the resources section, for group/clone membership), so the operator's other
objects and attributes survive.
"""

from __future__ import annotations

import copy as _copy
import difflib
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping

from saline.states.engine.runner import CommandError, Runner

QUERY_ARGV = ["cibadmin", "--query", "--scope", "configuration"]


def query_configuration(runner: Runner) -> str:
    """The CIB's ``configuration`` section (live cluster, or the file named by CIB_file)."""
    result = runner.run(QUERY_ARGV, timeout=60)
    if result.rc != 0:
        raise CommandError(result)
    return result.stdout


def parse(xml: str) -> ET.Element:
    return ET.fromstring(xml)


def find_id(root: ET.Element, obj_id: str) -> ET.Element | None:
    """The element with this id anywhere under ``root`` (ids are unique in a CIB)."""
    for el in root.iter():
        if el.get("id") == obj_id:
            return el
    return None


def find(root: ET.Element, tag: str, obj_id: str) -> ET.Element | None:
    el = find_id(root, obj_id)
    return el if el is not None and el.tag == tag else None


def parent_map(root: ET.Element) -> dict[ET.Element, ET.Element]:
    return {child: parent for parent in root.iter() for child in parent}


def section(root: ET.Element, name: str) -> ET.Element | None:
    """A section of the configuration (``resources``, ``constraints``, ``alerts``...)."""
    return root if root.tag == name else root.find(name)


def copy(el: ET.Element) -> ET.Element:
    return _copy.deepcopy(el)


def canonical(el: ET.Element | None) -> str:
    """Comparable form: attribute order and whitespace do not matter."""
    if el is None:
        return ""
    return ET.canonicalize(ET.tostring(el, encoding="unicode"), strip_text=True)


def to_xml(el: ET.Element) -> str:
    return ET.tostring(el, encoding="unicode")


def pretty(el: ET.Element | None) -> list[str]:
    if el is None:
        return []
    clone = parse(canonical(el))
    ET.indent(clone)
    return ET.tostring(clone, encoding="unicode").splitlines()


def diff(old: ET.Element | None, new: ET.Element | None, label: str) -> str:
    """A unified diff of two versions of one object, as ``changes['diff']`` shows it."""
    return "\n".join(
        difflib.unified_diff(pretty(old), pretty(new), f"{label} (cib)", f"{label} (desired)", lineterm="", n=2)
    )


# ---- ids ---------------------------------------------------------------------------------


class Ids:
    """Allocates ids that are unique in the CIB, in the style pcs uses
    (``rsc-instance_attributes-name``), so hand-made and saline-made CIBs look alike."""

    def __init__(self, root: ET.Element):
        self.used = {el.get("id") for el in root.iter() if el.get("id")}

    def new(self, wanted: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_.-]", "_", wanted)
        if not re.match(r"[A-Za-z_]", base):
            base = "_" + base
        candidate, n = base, 1
        while candidate in self.used:
            n += 1
            candidate = f"{base}-{n}"
        self.used.add(candidate)
        return candidate


# ---- attribute sets -------------------------------------------------------------------


def nvpairs(parent: ET.Element, set_tag: str) -> dict[str, str]:
    """name → value of the first ``set_tag`` (instance_attributes/meta_attributes) set."""
    attrs = parent.find(set_tag)
    if attrs is None:
        return {}
    return {nv.get("name", ""): nv.get("value", "") for nv in attrs.findall("nvpair")}


def set_nvpairs(
    parent: ET.Element,
    set_tag: str,
    values: Mapping[str, str],
    ids: Ids,
    *,
    exclusive: bool,
    position: int | None = None,
) -> None:
    """Make ``parent``'s first ``set_tag`` hold ``values``. Existing nvpairs keep their
    ids; ``exclusive`` removes names not in ``values`` (otherwise they are kept — e.g.
    ``target-role`` set by ``crm resource stop``). An empty set is removed."""
    owner = parent.get("id", parent.tag)
    attrs = parent.find(set_tag)
    if attrs is None:
        if not values:
            return
        attrs = ET.Element(set_tag, id=ids.new(f"{owner}-{set_tag}"))
        if position is None:
            parent.append(attrs)
        else:
            parent.insert(min(position, len(parent)), attrs)
    existing = {nv.get("name"): nv for nv in attrs.findall("nvpair")}
    for name, nv in existing.items():
        if name not in values and exclusive:
            attrs.remove(nv)
    for name, value in values.items():
        nv = existing.get(name)
        if nv is None:
            attrs.append(ET.Element("nvpair", id=ids.new(f"{owner}-{set_tag}-{name}"), name=name, value=value))
        elif nv.get("value") != value:
            nv.set("value", value)
    if len(attrs) == 0:
        parent.remove(attrs)


# ---- values ------------------------------------------------------------------------------

_DURATION = re.compile(r"^\s*(\d+)\s*(ms|msec|us|usec|s|sec|m|min|h|hr)?\s*$")
_UNIT_MS = {None: 1000.0, "s": 1000.0, "sec": 1000.0, "ms": 1.0, "msec": 1.0, "us": 0.001, "usec": 0.001,
            "m": 60000.0, "min": 60000.0, "h": 3600000.0, "hr": 3600000.0}


def duration_ms(text: str | int) -> int:
    """Pacemaker's interval/timeout syntax (a number, seconds by default, with an
    optional unit ms/s/m/h and their long forms) in milliseconds.
    Raises ValueError with the accepted forms for anything else."""
    m = _DURATION.match(str(text))
    if not m:
        raise ValueError(f"{text!r} is not a Pacemaker duration (e.g. 0, 30, 30s, 500ms, 2min, 1h)")
    return int(int(m.group(1)) * _UNIT_MS[m.group(2)])


def same_duration(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a == b
    try:
        return duration_ms(a) == duration_ms(b)
    except ValueError:
        return a == b


def cib_value(value: object) -> str:
    """YAML scalars as the CIB spells them (True → "true")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def ids_in(els: Iterable[ET.Element]) -> list[str]:
    return [el.get("id", "") for el in els]
