"""Where Pacemaker runs a resource and in what state, from ``crm_mon --output-as=xml``.

Also a command (``python -m saline.states.system.pcmk_status stopped RES``) that a plan
runs after ``crm_resource --wait`` to check that the resource really is stopped
everywhere before touching its storage: exit 0 if it is, 1 (and why) if not.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET

from pydantic import BaseModel

from saline.states.engine.runner import CommandError, Runner

CRM_MON_ARGV = ["crm_mon", "--one-shot", "--output-as=xml"]
MAX_XML = 16 * 1024 * 1024  # a two-node cluster's status is KiB; refuse to parse absurd output


class ResourceStatus(BaseModel):
    id: str
    role: str  # Started, Stopped, Promoted …
    active: bool
    failed: bool
    managed: bool
    blocked: bool
    nodes: list[str]  # where it is active
    target_role: str | None = None  # the meta attribute, when set (Stopped = disabled on purpose)

    @property
    def cannot_stop_cleanly(self) -> str | None:
        """Why a stop would not be clean, or None."""
        if self.failed:
            return "it has failed (clean up its failures first: crm resource cleanup)"
        if not self.managed:
            return "it is unmanaged (Pacemaker would not stop it)"
        if self.blocked:
            return "it is blocked"
        if len(self.nodes) > 1:
            return f"it is active on several nodes ({', '.join(self.nodes)})"
        return None


def parse_resources(xml: str) -> dict[str, ResourceStatus]:
    if len(xml) > MAX_XML:
        raise ValueError(f"crm_mon output is {len(xml)} bytes, more than {MAX_XML}")
    root = ET.fromstring(xml)
    found: dict[str, ResourceStatus] = {}
    for rsc in root.iter("resource"):
        rid = rsc.get("id", "")
        found[rid] = ResourceStatus(
            id=rid,
            role=rsc.get("role", ""),
            active=rsc.get("active") == "true",
            failed=rsc.get("failed") == "true",
            managed=rsc.get("managed", "true") == "true",
            blocked=rsc.get("blocked") == "true",
            nodes=[n.get("name", "") for n in rsc.findall("node")],
            target_role=rsc.get("target_role"),
        )
    return found


def resource_status(runner: Runner, resource: str) -> ResourceStatus | None:
    """The resource's status, or None if the cluster has no such resource."""
    result = runner.run(CRM_MON_ARGV, timeout=30)
    if result.rc != 0:
        raise CommandError(result)
    return parse_resources(result.stdout).get(resource)


def local_node(runner: Runner) -> str:
    result = runner.run(["crm_node", "-n"], timeout=30)
    if result.rc != 0:
        raise CommandError(result)
    return result.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "stopped":
        print("usage: python -m saline.states.system.pcmk_status stopped RESOURCE", file=sys.stderr)
        return 2
    status = resource_status(Runner(), args[1])
    if status is None:
        print(f"resource {args[1]} is not in the cluster", file=sys.stderr)
        return 1
    if status.active or status.failed:
        print(f"resource {args[1]} is still {status.role} on {', '.join(status.nodes) or 'no node'}"
              + (" (failed)" if status.failed else ""), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
