"""Where Pacemaker runs a resource and in what state, as a whole (clone instances merged), from
``crm_mon --output-as=xml`` as :mod:`saline.states.system.crm_mon` parses it.

Also a command (``python -m saline.states.system.pcmk_status stopped RES``) that a plan
runs after ``crm_resource --wait`` to check that the resource really is stopped
everywhere before touching its storage: exit 0 if it is, 1 (and why) if not.
"""

from __future__ import annotations

import sys

from pydantic import BaseModel

from saline.states.engine.runner import CommandError, Runner
from saline.states.system.crm_mon import CRM_MON_ARGV, parse_crm_mon

__all__ = ["CRM_MON_ARGV", "ResourceStatus", "local_node", "main", "parse_resources", "resource_status"]


class ResourceStatus(BaseModel):
    """One resource id as a whole: a clone's instances (crm_mon lists each under the same id)
    merged, so a failed or stopped instance on one node is never hidden by a healthy one."""

    id: str
    role: str  # Started, Stopped, Promoted …; a clone's active roles joined ("Promoted/Unpromoted")
    active: bool  # any instance
    failed: bool  # any instance
    managed: bool  # every instance
    blocked: bool  # any instance
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
    instances: dict[str, list] = {}
    for inst in parse_crm_mon(xml).resources:
        instances.setdefault(inst.id, []).append(inst)
    found: dict[str, ResourceStatus] = {}
    for rid, group in instances.items():
        active_roles = list(dict.fromkeys(i.role for i in group if i.active))
        found[rid] = ResourceStatus(
            id=rid,
            role="/".join(active_roles) or group[0].role,
            active=any(i.active for i in group),
            failed=any(i.failed for i in group),
            managed=all(i.managed for i in group),
            blocked=any(i.blocked for i in group),
            nodes=list(dict.fromkeys(n for i in group for n in i.nodes)),
            target_role=next((i.target_role for i in group if i.target_role), None),
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
