"""The CIB a planned change would make, checked and simulated before anything is applied.

A pacemaker state plans ``cibadmin --create/--replace`` steps. Here those steps are
applied to a copy of the whole CIB (``cibadmin --query``: configuration *and* status,
so the simulation knows what runs where), the result is validated by ``crm_verify``
against this machine's Pacemaker schema, and ``crm_simulate`` lists the resource actions
the cluster would take (start, stop, move, promote …). All of it is read-only: the
would-be CIB goes to the tools on stdin (``--xml-pipe``), never into the cluster.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from pydantic import BaseModel, Field

from saline.states.engine.runner import CommandError, Runner

QUERY_FULL_ARGV = ["cibadmin", "--query"]
VERIFY_ARGV = ["crm_verify", "--verbose", "--xml-pipe"]
SIMULATE_ARGV = ["crm_simulate", "--run", "--xml-pipe", "--output-as=xml"]
# Actions that take a running resource (or instance) away from where it serves.
DISRUPTIVE = ("stop", "move", "restart", "demote", "recover", "migrate")


class Action(BaseModel):
    """One ``<rsc_action>`` of crm_simulate's transition summary."""

    action: str
    resource: str
    node: str | None = None
    source: str | None = None
    dest: str | None = None
    reason: str | None = None
    blocked: bool = False

    def describe(self) -> str:
        on = self.node or self.source or self.dest
        where = f" {self.source} → {self.dest}" if self.source and self.dest else (f" on {on}" if on else "")
        extra = f" (due to {self.reason})" if self.reason else ""
        return f"{self.action} {self.resource}{where}{extra}{' [blocked]' if self.blocked else ''}"

    @property
    def base_resource(self) -> str:
        """The resource id without a clone instance number (drbd_1:0 → drbd_1)."""
        return self.resource.split(":", 1)[0]


class Preview(BaseModel):
    verify_errors: list[str] = Field(default_factory=list)
    actions: list[Action] = Field(default_factory=list)
    simulate_error: str | None = None


def apply_steps(full_cib: str, steps: Sequence[tuple[str, str, str]]) -> str:
    """The whole CIB after ``cibadmin --OP --scope SCOPE`` with each XML, as cibadmin does
    it: replace swaps the element with the same id (or the whole section), create appends
    to the section."""
    root = ET.fromstring(full_cib)
    config = root.find("configuration")
    if config is None:
        raise ValueError("the CIB has no configuration section")
    for op, scope, xml in steps:
        el = ET.fromstring(xml)
        section = config if scope == "configuration" else config.find(scope)
        if section is None:
            section = ET.SubElement(config, scope)
        if op == "create":
            section.append(el)
        elif el.tag == scope:
            config.insert(list(config).index(section), el)
            config.remove(section)
        else:
            parents = {child: parent for parent in section.iter() for child in parent}
            old = next((c for c in section.iter() if c.get("id") == el.get("id") and c is not section), None)
            if old is None:
                section.append(el)
            else:
                parent = parents[old]
                parent.insert(list(parent).index(old), el)
                parent.remove(old)
    return ET.tostring(root, encoding="unicode")


def parse_actions(xml: str) -> list[Action]:
    """``crm_simulate --output-as=xml``'s ``<actions>``."""
    root = ET.fromstring(xml)
    return [Action(action=a.get("action", ""), resource=a.get("resource", ""), node=a.get("node"),
                   source=a.get("source"), dest=a.get("dest"), reason=a.get("reason"),
                   blocked=a.get("blocked") == "true")
            for a in root.iter("rsc_action")]


def query_full(runner: Runner) -> str:
    result = runner.run(QUERY_FULL_ARGV, timeout=60)
    if result.rc != 0:
        raise CommandError(result)
    return result.stdout


def verify_errors(runner: Runner, cib_xml: str) -> list[str]:
    """crm_verify's error lines for a whole CIB ([] when it is valid)."""
    result = runner.run(VERIFY_ARGV, input=cib_xml, timeout=60)
    if result.rc == 0:
        return []
    # "(unpack_resources) \terror: …" → "error: …"; the closing summary line says nothing more
    lines = [line.split(")", 1)[-1].strip() for line in result.stderr.splitlines() if "error:" in line]
    return lines or [result.stderr.strip()[:500] or f"crm_verify exited {result.rc}"]


def preview(runner: Runner, steps: Sequence[tuple[str, str, str]]) -> Preview:
    """Validate and simulate the CIB the steps would make (read-only). Only errors the
    change brings count: a cluster that already has one (no STONITH configured yet) can
    still be changed."""
    current = query_full(runner)
    would_be = apply_steps(current, steps)
    new = verify_errors(runner, would_be)
    if new:
        old = set(verify_errors(runner, current))
        added = [e for e in new if e not in old]
        if added:
            return Preview(verify_errors=added[:10])
    sim = runner.run(SIMULATE_ARGV, input=would_be, timeout=120)
    try:
        return Preview(actions=parse_actions(sim.stdout))
    except ET.ParseError:
        return Preview(simulate_error=(sim.stderr.strip() or sim.stdout.strip())[:500] or f"crm_simulate exited {sim.rc}")
