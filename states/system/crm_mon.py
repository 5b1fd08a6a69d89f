"""What Pacemaker says about the cluster right now: ``crm_mon --output-as=xml`` (and the
``revised_cluster_status`` of ``crm_simulate --output-as=xml``, which has the same shape).

Only what maintenance decisions need: nodes (online, standby, maintenance), where each
resource runs and in which role, failed actions, the DC; and the constraint ids of
``cibadmin --query --scope constraints`` (leftover ``cli-*`` and DRBD fence constraints).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from pydantic import BaseModel, Field

CRM_MON_ARGV = ["crm_mon", "-1", "--output-as=xml"]
CONSTRAINTS_ARGV = ["cibadmin", "--query", "--scope", "constraints"]
# What `crm_resource --move/--ban` create; what `crm_resource --clear` removes.
MAX_XML = 16 * 1024 * 1024  # a two-node cluster's status is KiB; refuse to parse absurd output
CLI_PREFIXES = ("cli-prefer-", "cli-ban-")
# What DRBD's crm-fence-peer.9.sh adds while the peer's data is outdated.
FENCE_PREFIX = "drbd-fence-by-handler-"


class NodeState(BaseModel):
    name: str
    online: bool = False
    standby: bool = False
    maintenance: bool = False
    pending: bool = False
    unclean: bool = False
    is_dc: bool = False


class ResourceInstance(BaseModel):
    """One running (or stopped) instance: a primitive, a group member, or one clone instance."""

    id: str
    parent: str | None = None  # the group or clone it belongs to (outermost)
    in_clone: bool = False
    role: str = "Stopped"
    active: bool = False
    failed: bool = False
    managed: bool = True
    blocked: bool = False
    nodes: list[str] = Field(default_factory=list)
    target_role: str | None = None  # the meta attribute, when set (Stopped = disabled on purpose)


class Failure(BaseModel):
    op_key: str
    node: str
    exitreason: str = ""
    task: str = ""
    last_rc_change: str = ""


class ClusterView(BaseModel):
    dc: str | None = None
    nodes: dict[str, NodeState] = Field(default_factory=dict)
    resources: list[ResourceInstance] = Field(default_factory=list)
    failures: list[Failure] = Field(default_factory=list)

    def top_level(self, instance: ResourceInstance) -> str:
        return instance.parent or instance.id

    def on_node(self, node: str) -> list[ResourceInstance]:
        return [r for r in self.resources if r.active and node in r.nodes]

    def placement(self) -> dict[str, set[tuple[str, str]]]:
        """resource id → {(node, role)} of its active instances (clone instances merged)."""
        where: dict[str, set[tuple[str, str]]] = {}
        for r in self.resources:
            where.setdefault(r.id, set())
            if r.active:
                where[r.id] |= {(n, r.role) for n in r.nodes}
        return where


def _flag(el: ET.Element, name: str) -> bool:
    return el.get(name) == "true"


def _resources(parent_el: ET.Element, outer: str | None, out: list[ResourceInstance], in_clone: bool = False) -> None:
    for el in parent_el:
        if el.tag == "resource":
            out.append(ResourceInstance(
                id=el.get("id", ""), parent=outer, in_clone=in_clone, role=el.get("role", "Stopped"),
                active=_flag(el, "active"),
                failed=_flag(el, "failed"), managed=el.get("managed", "true") == "true",
                blocked=_flag(el, "blocked"), nodes=[n.get("name", "") for n in el.findall("node")],
                target_role=el.get("target_role"),
            ))
        elif el.tag in ("group", "clone", "bundle"):
            _resources(el, outer or el.get("id"), out, in_clone or el.tag in ("clone", "bundle"))


def parse_status(root: ET.Element) -> ClusterView:
    """A ``crm_mon`` ``pacemaker-result`` or a ``crm_simulate`` ``revised_cluster_status``."""
    view = ClusterView()
    dc = root.find("./summary/current_dc")
    if dc is not None and dc.get("present") == "true":
        view.dc = dc.get("name")
    for n in root.findall("./nodes/node"):
        state = NodeState(name=n.get("name", ""), online=_flag(n, "online"), standby=_flag(n, "standby"),
                          maintenance=_flag(n, "maintenance"), pending=_flag(n, "pending"),
                          unclean=_flag(n, "unclean"), is_dc=_flag(n, "is_dc"))
        view.nodes[state.name] = state
        if state.is_dc and view.dc is None:
            view.dc = state.name
    resources = root.find("./resources")
    if resources is not None:
        _resources(resources, None, view.resources)
    for f in root.findall("./failures/failure"):
        view.failures.append(Failure(op_key=f.get("op_key", ""), node=f.get("node", ""),
                                     exitreason=f.get("exitreason", ""), task=f.get("task", ""),
                                     last_rc_change=f.get("last-rc-change", "")))
    return view


def _root(xml: str) -> ET.Element:
    if len(xml) > MAX_XML:
        raise ValueError(f"Pacemaker's XML output is {len(xml)} bytes, more than {MAX_XML}")
    return ET.fromstring(xml)


def parse_crm_mon(xml: str) -> ClusterView:
    return parse_status(_root(xml))


def parse_simulation(xml: str) -> tuple[ClusterView, ClusterView]:
    """``crm_simulate -S --output-as=xml``: (the status before, the revised status after)."""
    root = _root(xml)
    before, after = root.find("./cluster_status"), root.find("./revised_cluster_status")
    if before is None or after is None:
        raise ValueError("crm_simulate output has no cluster_status/revised_cluster_status")
    return parse_status(before), parse_status(after)


def lost_in(before: ClusterView, after: ClusterView) -> list[str]:
    """Resources active before that would be stopped after, or a promoted role that would be
    gone (one node must be able to carry everything: the seed's rule)."""
    was, now = before.placement(), after.placement()
    lost = []
    for rid, places in sorted(was.items()):
        if not places:
            continue
        after_places = now.get(rid, set())
        if not after_places:
            lost.append(f"{rid} would stop")
        elif any(role == "Promoted" for _, role in places) and not any(role == "Promoted" for _, role in after_places):
            lost.append(f"{rid} would lose its promoted instance")
    return lost


def constraint_ids(xml: str) -> list[str]:
    """Ids of every constraint in ``cibadmin --query --scope constraints``."""
    root = _root(xml)
    return [el.get("id", "") for el in root if el.get("id")]


def cli_constraints(ids: list[str]) -> list[str]:
    return [i for i in ids if i.startswith(CLI_PREFIXES)]


def fence_constraints(ids: list[str]) -> list[str]:
    return [i for i in ids if i.startswith(FENCE_PREFIX)]
