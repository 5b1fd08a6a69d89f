"""The seed's Pacemaker configuration as saline states, and its runnable stand-in.

The seed (Thomas-Krenn: HA cluster with LXC, DRBD, Pacemaker) runs per node side:
DRBD r1 (promoted on node1) → LVM vg_node1 → Filesystem /lxc1 → lxc container, and the
mirror image on node2; properties stonith-enabled=false, no-quorum-policy=ignore,
start-failure-is-fatal=false; lxc op timeouts start/stop 60 s, monitor 30 s every 60 s;
LVM start/stop 240 s.

DRBD, LVM activation and LVs for lxc need kernel features this machine lacks, so
:func:`seed_states` is defined and planned for real (with ``disabled=True`` its groups
and clones, and their primitives from creation on, carry ``target-role=Stopped`` so the
cluster does not try to start them),
while :func:`standin_states` has the same shape with ``ocf:pacemaker:Dummy`` for
LVM/Filesystem/lxc and ``ocf:pacemaker:Stateful`` (promotable) for DRBD, which really
start, promote and fail over.
"""

from __future__ import annotations

from typing import Any

from saline.states.engine.apply import StateResult
from saline.states.engine.runner import Runner
from tests.harness import run

State = tuple[str, dict[str, Any]]

PROPERTIES: State = ("pacemaker.properties", {
    "name": "cluster-options",
    "properties": {"stonith-enabled": False, "no-quorum-policy": "ignore", "start-failure-is-fatal": False},
})
LXC_OPS = [{"name": "start", "timeout": "60s"}, {"name": "stop", "timeout": "60s"},
           {"name": "monitor", "interval": "60s", "timeout": "30s"}]
LVM_OPS = [{"name": "start", "timeout": "240s"}, {"name": "stop", "timeout": "240s"},
           {"name": "monitor", "interval": "30s", "timeout": "30s"}]
DRBD_OPS = [{"name": "monitor", "interval": "29s", "role": "Promoted", "timeout": "20s"},
            {"name": "monitor", "interval": "31s", "role": "Unpromoted", "timeout": "20s"}]
CLONE_META = {"promoted-max": 1, "promoted-node-max": 1, "clone-max": 2, "clone-node-max": 1, "notify": True}


def _side(n: int, node: str, agents: dict[str, tuple[str, dict[str, Any]]], prefix: str, disabled: bool) -> list[State]:
    """One side of the cluster: drbd clone, group lvm→fs→lxc, constraints."""
    stopped = {"target-role": "Stopped"} if disabled else {}
    names = {k: f"{prefix}{k}_{n}" for k in ("drbd", "lvm", "fs", "lxc")}
    states: list[State] = []
    for kind, ops in (("drbd", DRBD_OPS), ("lvm", LVM_OPS), ("fs", []), ("lxc", LXC_OPS)):
        agent, params = agents[kind]
        # Disabled: each primitive is stopped from its creation on, not only once its group or
        # clone exists (between the two states the cluster would try to start it).
        states.append(("pacemaker.primitive", {"name": names[kind], "agent": agent, "params": params, "ops": ops,
                                               **({"meta": stopped} if disabled else {})}))
    clone, grp = f"{prefix}ms_drbd_{n}", f"{prefix}grp_lxc{n}"
    states += [
        ("pacemaker.clone", {"name": clone, "resource": names["drbd"], "promotable": True, "meta": {**CLONE_META, **stopped}}),
        ("pacemaker.group", {"name": grp, "members": [names["lvm"], names["fs"], names["lxc"]], "meta": stopped}),
        ("pacemaker.colocation", {"name": f"{prefix}col_{grp}_on_drbd", "resource": grp, "with_resource": clone,
                                  "with_rsc_role": "Promoted"}),
        ("pacemaker.order", {"name": f"{prefix}ord_drbd_{n}_then_{grp}", "first": clone, "first_action": "promote",
                             "then": grp}),
        ("pacemaker.location", {"name": f"{prefix}loc_{grp}_{node}", "resource": grp, "node": node, "score": 100}),
    ]
    return states


def seed_states(disabled: bool = False) -> list[State]:
    states = [PROPERTIES]
    for n, node, vg, md in ((1, "node1", "vg_node1", "/dev/md3"), (2, "node2", "vg_node2", "/dev/md4")):
        states += _side(n, node, {
            "drbd": ("ocf:linbit:drbd", {"drbd_resource": f"r{n}"}),
            "lvm": ("ocf:heartbeat:LVM-activate", {"vgname": vg, "vg_access_mode": "system_id"}),
            "fs": ("ocf:heartbeat:Filesystem", {"device": f"/dev/{vg}/lv_{node}", "directory": f"/lxc{n}", "fstype": "ext4"}),
            "lxc": ("ocf:heartbeat:lxc", {"container": f"ct{n}", "config": f"/lxc{n}/ct{n}/config"}),
        }, "", disabled)
    states.append(("pacemaker.alert", {"name": "saline-events", "path": "/usr/lib/saline/pacemaker-alert",
                                       "recipients": ["/run/saline/agent-events.sock"],
                                       "meta": {"timestamp-format": "%Y-%m-%dT%H:%M:%S.%06N"}}))
    return states


def standin_states() -> list[State]:
    """Same shape, runnable here: Dummy for LVM/Filesystem/lxc, Stateful for DRBD."""
    dummy = ("ocf:pacemaker:Dummy", {})
    states: list[State] = []
    for n, node in ((1, "node1"), (2, "node2")):
        states += _side(n, node, {"drbd": ("ocf:pacemaker:Stateful", {}), "lvm": dummy, "fs": dummy, "lxc": dummy},
                        "sb_", False)
    return states


def apply_all(states: list[State], runner: Runner, *, test: bool = False) -> list[StateResult]:
    return [run(fun, args, runner, test=test) for fun, args in states]


def failures(results: list[StateResult]) -> list[str]:
    return [f"{r.id}: {r.comment}" for r in results if r.result is False]
