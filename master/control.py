"""Handling the saline CLI's requests on the control socket."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError

from saline.protocol.codec import describe_validation_error, unpack
from saline.protocol.control import (
    AgentsRequest, ApplyRequest, ControlReply, ControlRequest, EventsRequest, JobKillRequest, JobsActiveRequest,
    JobShowRequest, JobsPruneRequest, JobsListRequest, JobWaitRequest, KeysRequest, MaintenanceRequest, PingRequest,
    RunRequest,
)
from saline.protocol.errors import ProtocolError

from . import joblife
from .jobstore import RETURN_GRACE
from .jobsize import JobTooLarge
from .saltexec import BadCall, needs_compiling, publish_compiled
from .targeting import NoMatch

if TYPE_CHECKING:
    from .interface import MasterAPI

log = logging.getLogger("saline.master.control")

_request_adapter: TypeAdapter = TypeAdapter(ControlRequest)


def fail(code: str, error: str) -> ControlReply:
    return ControlReply(ok=False, code=code, error=error)


class ControlHandler:
    def __init__(self, master: "MasterAPI"):
        self.m = master

    def handle(self, client: bytes, raw: bytes) -> ControlReply | None:
        try:
            req = _request_adapter.validate_python(unpack(raw, 64 * 1024 * 1024))
        except ProtocolError as exc:
            log.warning("bad control request: %s", exc)
            return fail("bad_request", str(exc))
        except ValidationError as exc:
            log.warning("bad control request: %s", describe_validation_error(exc))
            return fail("bad_request", describe_validation_error(exc))
        handler = getattr(self, f"op_{req.op}")
        try:
            return handler(client, req)
        except JobTooLarge as exc:
            log.warning("job refused: %s", exc)
            return fail("too_large", str(exc))

    # ---- jobs ---------------------------------------------------------------------
    def _job_reply(self, jid: str) -> ControlReply:
        job = self.m.jobs.get_plain(jid)
        if job is None:  # pruned meanwhile
            return fail("not_found", f"no job {jid}")
        return ControlReply(ok=True, data=joblife.plain_with_live_status(self.m, job))

    def _published(self, client: bytes, jid: str, timeout: float, detach: bool) -> ControlReply | None:
        """Detached: the job id at once (the CLI prints it, then waits with job_wait)."""
        if detach:
            agents = [r.agent_id for r in self.m.jobs.get(jid).returns]
            return ControlReply(ok=True, data={"jid": jid, "timeout": timeout, "agents": agents})
        self.m.wait_for(client, jid, timeout + RETURN_GRACE, self._job_reply)
        return None

    def _targets(self, req: RunRequest | ApplyRequest) -> list[str]:
        """The accepted agents a request targets (Salt's target types; NoMatch when none)."""
        from .targeting import resolve_typed

        def facts_of(aid: str) -> dict:
            p = self.m.presence.get(aid)
            return dict(p.facts) if p and p.facts else {}

        def pillar_of(aid: str) -> dict:
            from saline.states.compile.compiler import CompileError
            from saline.states.compile.pillar import load_pillar

            try:
                return load_pillar(self.m.cfg.pillar_roots, aid, {**facts_of(aid), "id": aid})
            except CompileError as exc:
                raise NoMatch(f"cannot match on {aid}'s pillar: {exc}") from None

        return resolve_typed(req.target, req.tgt_type, self.m.keys.accepted_ids(), facts_of, pillar_of,
                             self.m.cfg.nodegroups)

    def op_run(self, client: bytes, req: RunRequest) -> ControlReply | None:
        timeout = req.timeout or self.m.cfg.default_timeout
        try:
            agents = self._targets(req)
            if needs_compiling(req.fun):  # pillar.*, state.show_*, state.sls_id: compiled per agent first
                jid, errors = publish_compiled(self.m, req.target, req.fun, agents, req.args, req.kwargs, timeout)
                if jid is None:
                    return ControlReply(ok=False, code="compile_error", error="state compilation failed; nothing was run",
                                        data={"errors": errors})
            else:
                jid = self.m.publish(req.target, req.fun, req.args, lambda _aid: req.kwargs, timeout, agents=agents)
        except NoMatch as exc:
            return fail("no_match", str(exc))
        except BadCall as exc:
            return fail("bad_request", str(exc))
        return self._published(client, jid, timeout, req.detach)

    def op_targets(self, client: bytes, req) -> ControlReply:
        try:
            agents = self._targets(req)
        except NoMatch as exc:
            return fail("no_match", str(exc))
        now = time.time()
        return ControlReply(ok=True, data=[{"id": aid, "up": self.m.presence.is_up(aid, now)} for aid in agents])

    def op_apply(self, client: bytes, req: ApplyRequest) -> ControlReply | None:
        from .compile import publish_apply

        timeout = req.timeout or self.m.cfg.apply_timeout
        try:
            agents = self._targets(req)
        except NoMatch as exc:
            return fail("no_match", str(exc))
        jid, errors = publish_apply(self.m, req.target, agents, req.states, req.test, timeout, queue=req.queue,
                                     saltenv=req.saltenv)
        if jid is None:
            return ControlReply(ok=False, code="compile_error", error="state compilation failed; nothing was run",
                                data={"errors": errors})
        return self._published(client, jid, timeout, req.detach)

    def op_job_wait(self, client: bytes, req: JobWaitRequest) -> ControlReply | None:
        if self.m.jobs.get(req.jid) is None:
            return fail("not_found", f"no job {req.jid}")
        self.m.wait_for(client, req.jid, req.timeout, self._job_reply)
        return None

    def op_job_show(self, client: bytes, req: JobShowRequest) -> ControlReply:
        job = self.m.jobs.get(req.jid)
        if job is None:
            return fail("not_found", f"no job {req.jid}")
        return ControlReply(ok=True, data=joblife.with_live_status(self.m, job).model_dump(mode="python"))

    def op_jobs_active(self, client: bytes, req: JobsActiveRequest) -> ControlReply:
        return ControlReply(ok=True, data=joblife.active(self.m))

    def op_job_kill(self, client: bytes, req: JobKillRequest) -> ControlReply | None:
        agents = joblife.kill_targets(self.m, req.jid)
        if isinstance(agents, ControlReply):
            return agents
        jid = self.m.publish(",".join(agents), joblife.KILL_FUN, [req.jid], lambda _aid: {}, req.timeout,
                             agents=agents)
        self.m.wait_for(client, jid, req.timeout + RETURN_GRACE, self._job_reply)
        return None

    def op_jobs_prune(self, client: bytes, req: JobsPruneRequest) -> ControlReply:
        from .retention import prune

        done = prune(self.m.jobs.conn, self.m.cfg.retention, jobs_days=req.older_than_days,
                     events_days=req.events_older_than_days)
        return ControlReply(ok=True, data=done)

    def op_jobs_list(self, client: bytes, req: JobsListRequest) -> ControlReply:
        return ControlReply(ok=True, data=self.m.jobs.recent(req.limit))

    def op_events(self, client: bytes, req: EventsRequest) -> ControlReply | None:
        return self.m.event_intake.request(client, req)

    def op_maintenance(self, client: bytes, req: MaintenanceRequest) -> ControlReply | None:
        return self.m.maintenance.handle(client, req)

    def op_schedule(self, client: bytes, req) -> ControlReply:
        from .schedule.control import schedule_request

        return schedule_request(self.m, req)

    def op_drift(self, client: bytes, req) -> ControlReply:
        return ControlReply(ok=True, data=self.m.drift.store.latest())

    # ---- keys and agents ------------------------------------------------------------------
    def op_keys(self, client: bytes, req: KeysRequest) -> ControlReply:
        ks = self.m.keys
        if req.action == "list":
            return ControlReply(ok=True, data=[_key_row(r) for r in ks.all()])
        if req.action == "flood":  # pending-key floods of the last hour, per source
            return ControlReply(ok=True, data={"sources": ks.flood_report(time.time() - 3600),
                                               "pending": len(ks.pending), "max_pending": ks.pending.max_total,
                                               "per_source": ks.pending.per_source})
        if req.action == "finger":
            return ControlReply(ok=True, data={"master": self.m.keyset.public.fingerprint,
                                               "agents": [_key_row(r) for r in ks.select(req.match, {"pending", "accepted", "rejected"})]})
        states = {
            "accept": {"pending"} | ({"rejected"} if req.include_rejected else set()),
            "reject": {"pending"} | ({"accepted"} if req.include_rejected else set()),
            "delete": {"pending", "accepted", "rejected"},
        }[req.action]
        if req.action == "delete" and req.match is None:
            return fail("bad_request", "delete needs an agent id or glob")
        chosen = ks.select(req.match, states)
        if req.fingerprint:
            chosen = [r for r in chosen if r.fingerprint == req.fingerprint.lower()]
            if not chosen:
                return fail("no_match", f"no {'/'.join(sorted(states))} key matches {req.match or '*'} with fingerprint {req.fingerprint}")
        if not chosen:
            return fail("no_match", f"no {'/'.join(sorted(states))} key matches {req.match or '*'}")
        done = []
        for rec in chosen:
            if req.action == "delete":
                ks.delete(rec)
                self.m.presence.forget(rec.agent_id)
            else:
                ks.set_state(rec, "accepted" if req.action == "accept" else "rejected")
                if req.action == "reject":
                    self.m.presence.forget(rec.agent_id)
            done.append(rec.agent_id)
        return ControlReply(ok=True, data={"action": req.action, "agents": done})

    def op_agents(self, client: bytes, req: AgentsRequest) -> ControlReply:
        now = time.time()
        rows: list[dict[str, Any]] = []
        for rec in self.m.keys.all():
            p = self.m.presence.get(rec.agent_id)
            if rec.state == "accepted":
                state = "up" if self.m.presence.is_up(rec.agent_id, now) else "down"
            else:
                state = rec.state
            rows.append({
                "id": rec.agent_id, "state": state, "last_seen": p.last_seen if p else None,
                "version": p.version if p else None, "address": p.address if p else None,
                "fingerprint": rec.fingerprint,
            })
        return ControlReply(ok=True, data=rows)

    def op_ping(self, client: bytes, req: PingRequest) -> ControlReply:
        from saline.protocol import __version__

        return ControlReply(ok=True, data={"version": __version__, "fingerprint": self.m.keyset.public.fingerprint})


def _key_row(r) -> dict:
    return {"id": r.agent_id, "state": r.state, "fingerprint": r.fingerprint, "first_seen": r.first_seen}
