"""A reaction never fights Pacemaker: refuse, at load, one that would start, stop or move
a resource Pacemaker manages.

What counts: a command (or a ``cmd.run`` in an applied SLS) that drives a cluster shell
(crm_resource, pcs, crm, crm_standby) with a start/stop/move verb, edits the CIB
(cibadmin), or starts and stops what the seed's resources are (lxc-start/-stop, drbdadm
up/down/primary/secondary, vgchange/lvchange -a, mount/umount); and an applied SLS that
sets ``target-role`` or uses a state that starts or stops a service Pacemaker runs. The
check is on the text the reaction names, so it is conservative: if in doubt, refuse and
say why — the operator can still run the same thing by hand.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import Reaction

CLUSTER_SHELLS = {"crm_resource", "pcs", "crm", "crm_standby"}
CLUSTER_VERBS = {
    "start", "stop", "restart", "move", "move-with-constraint", "ban", "clear", "migrate", "unmigrate", "enable",
    "disable", "standby", "unstandby", "manage", "unmanage", "relocate", "promote", "demote", "cleanup", "refresh",
    "--move", "--ban", "--clear", "--restart", "--force-start", "--force-stop", "--force-promote", "--force-demote",
    "--cleanup", "--refresh", "target-role", "is-managed",
}
ALWAYS = {"cibadmin", "lxc-start", "lxc-stop", "lxc-destroy", "lxc-freeze", "crm_attribute", "stonith_admin",
          "pacemakerd", "corosync-cfgtool"}
WITH_VERB = {
    "drbdadm": {"up", "down", "primary", "secondary", "adjust", "disconnect", "connect", "detach", "attach"},
    "drbdsetup": {"up", "down", "primary", "secondary", "disconnect", "connect", "detach", "attach"},
    "vgchange": {"-a", "-ay", "-an", "--activate"},
    "lvchange": {"-a", "-ay", "-an", "--activate"},
    "systemctl": {"start", "stop", "restart", "reload", "kill"},
    "service": {"start", "stop", "restart"},
}
UNMOUNT = {"mount", "umount"}
# In SLS text: states that would start/stop what Pacemaker runs.
SLS_PATTERNS = [
    (re.compile(r"target-role"), "sets target-role"),
    (re.compile(r"^\s*-?\s*service\.(running|dead)\b", re.M), "starts or stops a service (service.running/dead)"),
    (re.compile(r"^\s*-?\s*drbd\.role\b", re.M), "changes a DRBD role (drbd.role)"),
    (re.compile(r"^\s*-?\s*mount\.(mounted|unmounted)\b", re.M), "mounts or unmounts (mount.*)"),
]


def command_conflict(argv: list[str]) -> str | None:
    if not argv:
        return None
    prog = os.path.basename(argv[0])
    words = {w.lower() for w in argv[1:]}
    if prog in ALWAYS:
        return f"{prog} changes what Pacemaker manages"
    if prog in CLUSTER_SHELLS and words & CLUSTER_VERBS:
        return f"{prog} {' '.join(sorted(words & CLUSTER_VERBS))} would start, stop or move a Pacemaker resource"
    verbs = WITH_VERB.get(prog)
    if verbs and (words & verbs or any(w.startswith(("-a", "--activate")) for w in words if prog.endswith("change"))):
        return f"{prog} {' '.join(argv[1:3])} starts or stops what a Pacemaker resource manages"
    if prog in UNMOUNT and len(argv) > 1:
        return f"{prog} of a file system Pacemaker may manage"
    if prog in {"sh", "bash", "dash", "env", "sudo", "nsenter"}:
        return f"{prog} would run a command this check cannot see; name the program itself"
    return None


def _sls_path(state: str, roots: list[Path]) -> Path | None:
    rel = state.replace(".", "/")
    for root in roots:
        for candidate in (Path(root) / f"{rel}.sls", Path(root) / rel / "init.sls"):
            if candidate.is_file():
                return candidate
    return None


def sls_conflict(states: list[str], roots: list[Path]) -> str | None:
    for state in states:
        path = _sls_path(state, roots)
        if path is None:
            return f"state {state!r} is not in the state roots ({', '.join(map(str, roots))})"
        text = path.read_text(errors="replace")
        for pattern, what in SLS_PATTERNS:
            if pattern.search(text):
                return f"state {state!r} ({path}) {what}"
        for argv in re.findall(r"(?:name|cmd):\s*['\"]?([^\n'\"]+)", text):
            problem = command_conflict(argv.split())
            if problem:
                return f"state {state!r} ({path}) runs {argv.strip()!r}: {problem}"
    return None


def pacemaker_conflict(reaction: "Reaction", state_roots: list[Path]) -> str | None:
    if reaction.command is not None:
        return command_conflict(reaction.command)
    if reaction.apply is not None:
        return sls_conflict(reaction.apply.states, state_roots)
    return None
