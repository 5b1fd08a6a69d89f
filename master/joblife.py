"""Jobs while they run: what runs where, a job past its timeout that is still running,
and stopping a job on its agents (`saline jobs active`, `jobs show`, `jobs kill`).

The agents are the authority on what runs: each heartbeat lists the job ids running
there. The job store adds the jobs just published (not in a heartbeat yet).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from saline.protocol.control import ControlReply, JobRecord

if TYPE_CHECKING:
    from .interface import MasterAPI

KILL_FUN = "job.kill"


def running_on(m: "MasterAPI", agent_id: str) -> set[str]:
    """The jobs ``agent_id`` said it was running, if it is up."""
    p = m.presence.get(agent_id)
    return set(p.running) if p is not None and m.presence.is_up(agent_id) else set()


def _live(m: "MasterAPI", jid: str, agent_id: str, status: str) -> str:
    """A return past the job's timeout whose agent still runs the job is ``running``,
    not ``no_return`` (a state run goes on past its timeout and returns late)."""
    if status in ("no_return", "pending") and jid in running_on(m, agent_id):
        return "running"
    return status


def with_live_status(m: "MasterAPI", job: JobRecord) -> JobRecord:
    for r in job.returns:
        r.status = _live(m, job.jid, r.agent_id, r.status)
    return job


def plain_with_live_status(m: "MasterAPI", job: dict) -> dict:
    """The same for ``JobStore.get_plain``'s data."""
    for r in job["returns"]:
        r["status"] = _live(m, job["jid"], r["agent_id"], r["status"])
    return job


def active(m: "MasterAPI") -> list[dict]:
    """One row per (job, agent) not finished: published and within the timeout, or reported
    running by its agent. ``overdue``: past the job's timeout and still running."""
    reported: dict[str, set[str]] = {}
    for aid in m.keys.accepted_ids():
        for jid in running_on(m, aid):
            reported.setdefault(jid, set()).add(aid)
    rows = m.jobs.unfinished(set(reported))
    now = time.time()
    for row in rows:
        row["running"] = row["agent_id"] in reported.get(row["jid"], ())
        row["seconds"] = round(now - row["created_at"], 1)
    return [r for r in rows if r["running"] or not r["overdue"]]


def kill_targets(m: "MasterAPI", jid: str) -> list[str] | ControlReply:
    """The agents to send ``job.kill`` to: those that have not returned ``jid``."""
    job = m.jobs.get(jid)
    if job is None:
        return ControlReply(ok=False, code="not_found", error=f"no job {jid}")
    job = with_live_status(m, job)
    agents = [r.agent_id for r in job.returns if r.status in ("pending", "running")]
    if not agents:
        return ControlReply(ok=False, code="not_running",
                            error=f"job {jid} is not running on any agent (see saline jobs show {jid})")
    return agents
