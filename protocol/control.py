"""Messages on the master's local control socket (saline CLI ↔ saline-master).

The control socket is a Unix socket readable only by root (or a configured group),
so these are not signed; they are still strict models, so a malformed request gets a
clear error instead of a traceback in the master.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from .ids import AgentId, Jid
from .messages import FunName


class _Req(BaseModel):
    model_config = ConfigDict(extra="forbid")


TargetType = Literal["glob", "list", "pcre", "grain", "grain_pcre", "pillar", "pillar_pcre", "ipcidr", "compound",
                     "nodegroup"]


class RunRequest(_Req):
    op: Literal["run"] = "run"
    target: str = Field(min_length=1, max_length=1024)
    tgt_type: TargetType = "glob"  # Salt's -G/-I/-C/-N/-E/-L/-S
    fun: FunName
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    timeout: float | None = Field(default=None, gt=0, le=86400)
    # Reply with the job id as soon as the job is published (then `job_wait`).
    detach: bool = False


class ApplyRequest(_Req):
    op: Literal["apply"] = "apply"
    target: str = Field(min_length=1, max_length=1024)
    tgt_type: TargetType = "glob"
    states: list[str] = Field(default_factory=list)  # empty: highstate
    test: bool = False
    timeout: float | None = Field(default=None, gt=0, le=86400)
    detach: bool = False
    # Wait behind a state run already running on an agent instead of being refused.
    queue: bool = False
    # Only this environment of the top file (Salt's saltenv); None: all of them, merged.
    saltenv: str | None = Field(default=None, min_length=1, max_length=128)


class TargetsRequest(_Req):
    """The accepted agents a target matches and whether each is up; nothing is published
    (``--batch`` plans its window with it)."""

    op: Literal["targets"] = "targets"
    target: str = Field(min_length=1, max_length=1024)
    tgt_type: TargetType = "glob"


class KeysRequest(_Req):
    op: Literal["keys"] = "keys"
    action: Literal["list", "accept", "reject", "delete", "finger", "flood"]
    match: str | None = None  # agent id glob; None with accept/reject = all pending
    fingerprint: str | None = None
    include_rejected: bool = False


class AgentsRequest(_Req):
    op: Literal["agents"] = "agents"


class JobsListRequest(_Req):
    op: Literal["jobs_list"] = "jobs_list"
    limit: int = Field(default=20, ge=1, le=1000)


class JobsPruneRequest(_Req):
    """Delete jobs (and events) older than the given days now; None: the master's retention setting."""

    op: Literal["jobs_prune"] = "jobs_prune"
    older_than_days: float | None = Field(default=None, ge=0)
    events_older_than_days: float | None = Field(default=None, ge=0)


class JobShowRequest(_Req):
    op: Literal["job_show"] = "job_show"
    jid: Jid


class JobWaitRequest(_Req):
    """Wait for a job started earlier (used by CLI after `run --async`, and by tests)."""

    op: Literal["job_wait"] = "job_wait"
    jid: Jid
    timeout: float = Field(default=30.0, gt=0, le=86400)


class JobsActiveRequest(_Req):
    """What runs where now (`saline jobs active`)."""

    op: Literal["jobs_active"] = "jobs_active"


class JobKillRequest(_Req):
    """Stop a running job on the agents still running it (`saline jobs kill`)."""

    op: Literal["job_kill"] = "job_kill"
    jid: Jid
    timeout: float = Field(default=10.0, gt=0, le=3600)


class EventsRequest(_Req):
    op: Literal["events"] = "events"
    limit: int = Field(default=50, ge=1, le=10000)
    tag: str | None = Field(default=None, max_length=128)  # a glob
    since: float | None = None  # epoch seconds
    # Only events stored after this id; with ``wait``, the master holds the request
    # until one arrives (``saline events --follow``).
    after_id: int = Field(default=0, ge=0)
    wait: float = Field(default=0.0, ge=0, le=300)


class MaintenanceRequest(_Req):
    """``saline maintenance plan|run|status|resume|abort`` (handled by master/maintenance/)."""

    op: Literal["maintenance"] = "maintenance"
    action: Literal["plan", "run", "status", "resume", "abort"]
    nodes: list[AgentId] | None = Field(default=None, max_length=2)
    cluster: list[AgentId] | None = Field(default=None, min_length=2, max_length=2)
    work: str | None = Field(default=None, max_length=4096)
    reboot: Literal["auto", "always", "never"] = "auto"
    move_back: bool = False
    step_timeout: float | None = Field(default=None, gt=0, le=86400)
    rejoin_timeout: float | None = Field(default=None, gt=0, le=86400)
    resync_timeout: float | None = Field(default=None, gt=0, le=86400)
    lock_ttl: float | None = Field(default=None, ge=30, le=86400)
    run_id: str | None = Field(default=None, max_length=64, pattern=r"^[0-9]{14}-[0-9a-f]{6}$")
    owner: str = Field(default="unknown", max_length=256)


class PingRequest(_Req):
    op: Literal["ping"] = "ping"


class ScheduleRequest(_Req):
    """``saline schedule list|add|remove|pause|resume|run-now``."""

    op: Literal["schedule"] = "schedule"
    action: Literal["list", "add", "remove", "pause", "resume", "run-now"]
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    target: str | None = Field(default=None, min_length=1, max_length=1024)
    states: list[str] = Field(default_factory=list)  # empty: highstate
    policy: Literal["report", "fix"] = "report"
    trigger: str | None = Field(default=None, max_length=200)  # "every 10m" or "cron */5 * * * *"


class DriftRequest(_Req):
    op: Literal["drift"] = "drift"


ControlRequest = Annotated[
    Union[ScheduleRequest, DriftRequest, RunRequest, ApplyRequest, KeysRequest, AgentsRequest, JobsListRequest, JobShowRequest,
          JobWaitRequest, EventsRequest, PingRequest, JobsActiveRequest, JobKillRequest, JobsPruneRequest, MaintenanceRequest,
          TargetsRequest],
    Field(discriminator="op"),
]


class ControlReply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ok: bool
    error: str | None = None
    # A machine-readable reason the CLI maps to exit codes and messages
    # (no_match, bad_request, compile_error, not_found ...).
    code: str | None = None
    data: Any = None


class AgentReturn(BaseModel):
    """One agent's outcome for a job, as the job store and the CLI see it."""

    agent_id: AgentId
    # returned: a signed return arrived; pending: not yet and the job is still running;
    # no_return: the job's timeout passed without a return; not_connected: the master
    # had no connection to the agent when it published; running: past the timeout, but
    # the agent says it is still running it (a state run is not stopped halfway).
    status: Literal["returned", "pending", "no_return", "not_connected", "running"]
    success: bool | None = None
    retcode: int | None = None
    data: Any = None
    error: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    received_at: float | None = None
    # Returned after the job's timeout (the CLI had stopped waiting; stored all the same).
    late: bool = False


class JobRecord(BaseModel):
    jid: Jid
    fun: str
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    target: str
    created_at: float
    timeout: float
    returns: list[AgentReturn] = Field(default_factory=list)
