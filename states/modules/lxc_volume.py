"""``lxc.volume_grown``: the seed's "Extending Container Filesystem" as one orchestrated action.

    crm resource stop res_lxc_www ; lvextend -L … ; e2fsck -f ; resize2fs -p ; crm resource start res_lxc_www

The resource is stopped through Pacemaker (``target-role=Stopped``), the cluster is waited
for and the stop is checked before the volume is touched; the grow itself is
``fs.grown``'s plan; the original ``target-role`` is put back and waited for as cleanup
steps, so the container starts again even when the grow failed.

Refused with nothing touched while the resource has failed, is unmanaged or blocked, is
active on the other node (grow it there), or is not in the cluster. With nothing to grow
the resource is not stopped at all.
"""

from __future__ import annotations

import sys

from pydantic import Field

from saline.states.engine.base import CommandStep, Facts, Plan, Refuse, StateArgs, StateContext, state_function
from saline.states.engine.paths import NodePath
from saline.states.modules.fs import GrownArgs, GrownFacts, grown, grown_facts
from saline.states.system import cib
from saline.states.system.lvm import SizeText
from saline.states.system.pcmk_status import ResourceStatus, local_node, resource_status

WAIT_TIMEOUT = 120  # seconds: twice the seed's 60 s lxc stop timeout


class VolumeArgs(StateArgs):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.:-]*$")  # the container's Pacemaker resource (e.g. res_lxc_www)
    device: NodePath  # its rootfs volume, e.g. /dev/vg_node2/www
    size: SizeText | None = None  # the new LV size; None: grow the filesystem to fill the device
    wait_timeout: int = Field(default=WAIT_TIMEOUT, ge=10, le=3600)


class VolumeFacts(Facts):
    resource: ResourceStatus | None
    node: str
    target_role: str | None  # the meta attribute as configured (None: not set)
    fs: GrownFacts


def volume_facts(args: VolumeArgs, ctx: StateContext) -> VolumeFacts:
    status = resource_status(ctx.runner, args.name)
    root = cib.parse(cib.query_configuration(ctx.runner))
    el = cib.find_id(root, args.name)
    target_role = cib.nvpairs(el, "meta_attributes").get("target-role") if el is not None else None
    fs = grown_facts(GrownArgs(name=args.device, size=args.size), ctx)
    return VolumeFacts(resource=status, node=local_node(ctx.runner), target_role=target_role, fs=fs)


def _meta(resource: str, role: str | None, why: str) -> CommandStep:
    if role is None:
        argv = ["crm_resource", "--resource", resource, "--meta", "--delete-parameter", "target-role"]
    else:
        argv = ["crm_resource", "--resource", resource, "--meta", "--set-parameter", "target-role", "--parameter-value", role]
    return CommandStep(description=why, argv=argv)


def _wait(args: VolumeArgs, what: str) -> CommandStep:
    return CommandStep(description=f"wait until the cluster has {what} (at most {args.wait_timeout}s)",
                       argv=["crm_resource", "--wait", "--timeout", f"{args.wait_timeout}s"], timeout=args.wait_timeout + 30)


@state_function("lxc.volume_grown", VolumeArgs, facts=volume_facts)
def volume_grown(args: VolumeArgs, facts: VolumeFacts) -> Plan:
    """Grow a container's volume offline: stop its resource, lvextend/e2fsck/resize2fs, start it again."""
    rsc = facts.resource
    if rsc is None:
        raise Refuse(f"resource {args.name} is not in the cluster (crm_mon does not show it)")
    why_not = rsc.cannot_stop_cleanly
    if why_not:
        raise Refuse(f"resource {args.name} cannot be stopped cleanly: {why_not}")
    elsewhere = [n for n in rsc.nodes if n != facts.node]
    if elsewhere:
        raise Refuse(f"resource {args.name} runs on {', '.join(elsewhere)}, not on this node ({facts.node}): "
                     "grow its volume there, where the volume is active")
    # Plan the grow as if the resource were already stopped: while it runs, its filesystem
    # is busy; after the stop, the fs steps are checked against the real device again.
    offline = facts.fs.model_copy(update={"mounted_at": []}) if rsc.active else facts.fs
    fs_plan = grown(GrownArgs(name=args.device, size=args.size), offline)
    if fs_plan.empty:
        return Plan(comment=f"{fs_plan.comment}: resource {args.name} left as it is")
    steps: list = []
    cleanup: list = []
    if rsc.active:
        steps += [
            _meta(args.name, "Stopped", f"stop resource {args.name} (target-role=Stopped)"),
            _wait(args, f"stopped {args.name}"),
            CommandStep(description=f"check that {args.name} is stopped on every node",
                        argv=[sys.executable, "-m", "saline.states.system.pcmk_status", "stopped", args.name]),
        ]
        cleanup = [
            _meta(args.name, facts.target_role, f"start resource {args.name} again (target-role "
                  + (facts.target_role or "unset, as before") + ")"),
            _wait(args, f"started {args.name}"),
        ]
    changes = {**fs_plan.changes, "resource": {"stopped and started again": args.name} if rsc.active else {"was stopped": args.name}}
    return Plan(steps=steps + list(fs_plan.steps), cleanup=cleanup, changes=changes)
