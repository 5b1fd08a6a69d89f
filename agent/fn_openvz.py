"""``openvz.migrate``: the seed's OpenVZ → LXC container migration as a resumable runbook.

    saline run node1 openvz.migrate ctid=101 name=www vg=vg_node1 size=4G lxcpath=/lxc1 source_host=openvz

The steps and their order are in ``openvz/runbook.py``; progress is kept under the
agent's ``state_dir/openvz/NAME.json``, so running the same command again after a
failure resumes at the failed step.
"""

from __future__ import annotations

import os
from pathlib import Path

from .functions import FunctionContext, FunctionError, FunctionResult, agent_function
from .openvz.args import MigrateArgs

RETCODE_FAILED = 2


@agent_function("openvz.migrate", MigrateArgs)
def migrate(args: MigrateArgs, ctx: FunctionContext) -> FunctionResult:
    """Migrate OpenVZ container CTID to an LV-backed LXC container NAME (resumable; see the README)."""
    from saline.states.engine.runner import Runner

    from .openvz.progress import ProgressError
    from .openvz.runbook import Migration

    # With the job's cancel event, a timeout or `saline jobs kill` ends the command in flight
    # (an rsync pass): the step fails, is not recorded, and a re-run resumes at it.
    runner = Runner(root=ctx.settings.get("state_root", "/"), env={**os.environ, **ctx.settings.get("state_env", {})},
                    cancel=ctx.cancel)
    try:
        migration = Migration(args, runner, Path(ctx.settings.get("state_dir", "/var/lib/saline/agent")), ctx.cancel)
    except ProgressError as exc:
        raise FunctionError(f"openvz.migrate: {exc}") from None
    finished, report, failure = migration.run_all()
    data = {"finished": finished, "steps": report, "notes": migration.notes}
    if not finished:
        data["error"] = f"stopped at {failure}; fix it and run the same command again to resume there"
    return FunctionResult(success=finished, data=data, retcode=0 if finished else RETCODE_FAILED)
