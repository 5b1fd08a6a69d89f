"""Every message between master and agent, as one discriminated union on ``kind``.

Signed messages (jobs, returns) carry their body as the exact packed bytes that were
signed, plus the signature. The receiver verifies the bytes first and only then
decodes them, so "canonical form" is simply "the bytes that were signed".
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from .ids import AgentId, Jid
from .merkle import HASH_BYTES, MAX_PROOF

MAX_FUN_LEN = 64
FunName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$", max_length=MAX_FUN_LEN)]


class Strict(BaseModel):
    """Base for every wire model: unknown fields are an error, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# ---- signed bodies -------------------------------------------------------------


class JobBody(Strict):
    jid: Jid
    fun: FunName
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    # The explicit agent ids this job is for; the master resolved the target glob.
    targets: list[AgentId] = Field(min_length=1)
    issued_at: float
    not_after: float
    timeout: float = Field(gt=0, le=86400)
    # Random per agent when one signature covers many bodies (protocol/merkle.py): the
    # sibling hashes in a proof cannot be matched against guessed bodies of other agents.
    nonce: bytes = Field(default=b"", max_length=32)


class ReturnBody(Strict):
    jid: Jid
    agent_id: AgentId
    fun: FunName
    success: bool
    retcode: int = 0
    data: Any = None
    error: str | None = None
    started_at: float
    finished_at: float


# ---- frames ----------------------------------------------------------------------


class Hello(Strict):
    kind: Literal["hello"] = "hello"
    agent_id: AgentId
    version: str = Field(max_length=64)
    sign_pub: bytes = Field(min_length=32, max_length=32)
    # The node's facts (facts.items), so the master can render states for it.
    facts: dict[str, Any] = Field(default_factory=dict)
    # The largest frame this agent accepts: the master refuses to publish a bigger job.
    max_frame: int | None = Field(default=None, ge=1024)


class Welcome(Strict):
    """Master's answer to hello: what it thinks of this agent's key."""

    kind: Literal["welcome"] = "welcome"
    key_state: Literal["accepted", "pending", "rejected", "denied"]
    message: str = Field(default="", max_length=1024)
    # The largest frame the master accepts: the agent bounds its returns to it.
    max_frame: int | None = Field(default=None, ge=1024)
    # The largest event frame the master accepts: the agent bounds its events to it.
    max_event_frame: int | None = Field(default=None, ge=1024)


class Heartbeat(Strict):
    kind: Literal["heartbeat"] = "heartbeat"
    version: str = Field(max_length=64)
    uptime: float = 0.0
    running_jobs: int = 0
    # The jobs running on the agent now (`saline jobs active`; a state run past its
    # timeout is "running", not "no return"). Bounded by the agent's job queue (<= 256).
    running: list[Jid] = Field(default_factory=list, max_length=256)


class Signed(Strict):
    """The exact packed bytes of a body and their Ed25519 signature (verified before decoding)."""

    body: bytes
    sig: bytes = Field(min_length=64, max_length=64)


class Job(Signed):
    """``sig`` covers the root of a Merkle tree over the bodies of one fan-out; ``proof``
    leads from this body to that root (empty: the job was signed for one agent)."""

    kind: Literal["job"] = "job"
    proof: list[Annotated[bytes, Field(min_length=HASH_BYTES, max_length=HASH_BYTES)]] = Field(
        default_factory=list, max_length=MAX_PROOF)


class Return(Signed):
    kind: Literal["return"] = "return"


class Ack(Strict):
    """Master → agent: the return for ``jid`` is stored; the agent may drop it from its spool."""

    kind: Literal["ack"] = "ack"
    jid: Jid


EventTag = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9/._-]{0,127}$")]


class EventBody(Strict):
    """Something that happened on a node (a Pacemaker alert, the agent's start, a failed
    state run, a DRBD or md change), signed by the agent like a return."""

    agent_id: AgentId
    # The agent's own durable event counter: never reused (SQLite AUTOINCREMENT in the
    # agent's spool), so (agent, seq) identifies an event across restarts of the agent,
    # the master and Pacemaker (whose CRM_alert_node_sequence restarts at 1).
    seq: int = Field(ge=1, le=2**63 - 1)  # stored as SQLite's 64-bit INTEGER
    tag: EventTag
    data: dict[str, Any] = Field(default_factory=dict)
    at: float


class Event(Signed):
    """Agent → master: a signed EventBody; spooled by the agent until the master's EventAck."""

    kind: Literal["event"] = "event"


class EventAck(Strict):
    """Master → agent: event ``seq`` is stored; the agent may drop it from its spool."""

    kind: Literal["event_ack"] = "event_ack"
    seq: int = Field(ge=1)


class Error(Strict):
    """Either side: a message was refused. ``jid`` names the job when there is one."""

    kind: Literal["error"] = "error"
    code: str = Field(max_length=64)
    message: str = Field(max_length=4096)
    jid: Jid | None = None


Message = Annotated[
    Union[Hello, Welcome, Heartbeat, Job, Return, Ack, Event, EventAck, Error],
    Field(discriminator="kind"),
]


# ---- bootstrap (plain, unauthenticated: hands out the master's *public* keys only) -----


class PubkeyRequest(Strict):
    kind: Literal["pubkey_request"] = "pubkey_request"


class PubkeyReply(Strict):
    kind: Literal["pubkey_reply"] = "pubkey_reply"
    curve_pub: str = Field(min_length=40, max_length=40)
    sign_pub: bytes = Field(min_length=32, max_length=32)


BootstrapMessage = Annotated[Union[PubkeyRequest, PubkeyReply], Field(discriminator="kind")]
