"""What a maintenance run was asked to do (``--work``, ``--reboot``, ``--nodes`` …)."""

from __future__ import annotations

import shlex
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

STEPS = ("gates", "drain", "work", "reboot", "rejoin", "resync", "unstandby", "move_back", "cleanup")

STEP_DOC = {
    "gates": "check every gate (peer, DRBD, constraints, failed actions, md, holders, agents, lock)",
    "drain": "standby; wait until the cluster is idle and nothing runs on the node",
    "work": "the work",
    "reboot": "reboot when needed (--reboot)",
    "rejoin": "wait for a new agent session, Corosync membership and Pacemaker online",
    "resync": "wait for DRBD Connected UpToDate/UpToDate with nothing out of sync, md arrays clean",
    "unstandby": "bring the node back; wait until the cluster is idle",
    "move_back": "move the node's own resources back (--move-back), then clear the move constraints",
    "cleanup": "remove every cli-* constraint the run created and prove none is left",
}


class Work(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["state", "upgrade", "cmd", "none"]
    states: list[str] = Field(default_factory=list)
    argv: list[str] = Field(default_factory=list)

    def describe(self) -> str:
        if self.kind == "state":
            return "state apply " + ",".join(self.states)
        if self.kind == "cmd":
            return "command " + shlex.join(self.argv)
        return {"upgrade": "apt-get update + upgrade (holds kept)", "none": "no work"}[self.kind]


def parse_work(text: str | None) -> Work:
    """``state:SLS[,SLS]`` | ``upgrade`` | ``cmd:ARGV`` (shell-like words, run without a shell)."""
    if not text:
        return Work(kind="none")
    kind, sep, rest = text.partition(":")
    if kind == "upgrade" and not sep:
        return Work(kind="upgrade")
    if kind == "state" and rest.strip():
        return Work(kind="state", states=[s.strip() for s in rest.split(",") if s.strip()])
    if kind == "cmd" and rest.strip():
        try:
            return Work(kind="cmd", argv=shlex.split(rest))
        except ValueError as exc:
            raise ValueError(f"--work cmd:…: {exc}") from None
    raise ValueError(f"--work {text!r}: expected state:SLS[,SLS], upgrade or cmd:ARGV")


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cluster: list[str] = Field(min_length=2, max_length=2)  # the two nodes
    nodes: list[str] = Field(min_length=1, max_length=2)    # the ones to maintain, in order
    work: Work
    reboot: Literal["auto", "always", "never"] = "auto"
    move_back: bool = False
    step_timeout: float = Field(default=300, gt=0, le=86400)    # drain, work, unstandby, move-back
    rejoin_timeout: float = Field(default=600, gt=0, le=86400)  # the node back after its reboot
    resync_timeout: float = Field(default=3600, gt=0, le=86400)  # DRBD/md healthy again
    lock_ttl: float = Field(default=900, ge=30, le=86400)

    def peer(self, node: str) -> str:
        return next(n for n in self.cluster if n != node)
