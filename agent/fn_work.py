"""The work a maintenance run does on a node, and its reboot.

``work.cmd`` runs one command (argv, no shell); ``work.upgrade`` is ``apt-get update`` +
``apt-get upgrade`` (dpkg holds are honoured); both say whether the node now needs a
reboot. ``system.reboot`` (Salt's name) runs the site's ``reboot_command`` from the agent
config, detached, and returns at once: the master watches the node come back.
"""

from __future__ import annotations

import os
import platform
import subprocess
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from saline.states.engine.runner import Runner
from saline.states.system import apt

from .functions import FunctionContext, FunctionError, agent_function

OUTPUT_TAIL = 4000


class CmdArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    argv: list[str] = Field(min_length=1, max_length=256)
    timeout: float = Field(default=600, gt=0, le=86400)


class UpgradeArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    timeout: float = Field(default=3600, gt=0, le=86400)


def _reboot_reason() -> str | None:
    return apt.reboot_needed(platform.release())


@agent_function("work.cmd", CmdArgs)
def cmd(args: CmdArgs, ctx: FunctionContext) -> dict[str, Any]:
    """Run ARGV on the node; fails with its output when it exits non-zero."""
    r = Runner(env={**os.environ, **ctx.settings.get("state_env", {})}, timeout=args.timeout).run(args.argv)
    out = {"rc": r.rc, "stdout": r.stdout[-OUTPUT_TAIL:], "stderr": r.stderr[-OUTPUT_TAIL:],
           "reboot_required": _reboot_reason()}
    if r.rc != 0:
        raise FunctionError(r.describe(), data=out)
    return out


@agent_function("work.upgrade", UpgradeArgs)
def upgrade(args: UpgradeArgs, ctx: FunctionContext) -> dict[str, Any]:
    """``apt-get update`` and ``apt-get upgrade`` (held packages stay); what changed; reboot needed?"""
    run = Runner(env={**os.environ, **apt.APT_ENV}, timeout=args.timeout)
    for argv in (apt.UPDATE_ARGV, apt.SIMULATE_ARGV):
        r = run.run(argv)
        if r.rc != 0:
            raise FunctionError(r.describe())
        if argv is apt.SIMULATE_ARGV:
            planned = apt.parse_simulation(r.stdout)
    if planned:
        r = run.run(apt.UPGRADE_ARGV)
        if r.rc != 0:
            raise FunctionError(r.describe(), data={"planned": [u.model_dump() for u in planned]})
    return {"upgraded": [u.model_dump() for u in planned], "reboot_required": _reboot_reason()}


@agent_function("system.reboot")
def reboot(args, ctx: FunctionContext) -> dict[str, Any]:
    """Run the site's reboot command (agent config ``reboot_command``), detached."""
    argv = list(ctx.settings.get("reboot_command") or [])
    if not argv:
        raise FunctionError("no reboot_command in the agent config")
    try:
        subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True, close_fds=True)
    except OSError as exc:
        raise FunctionError(f"reboot command {argv!r} could not start: {exc}") from None
    return {"command": argv}
