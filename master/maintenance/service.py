"""The ``maintenance`` control requests and the runs' life cycle in the master.

``plan`` and the pre-flight of ``run`` are tasks that answer the CLI when they finish;
a run is a task that walks nodes × steps, persisting where it is before each step, so
a master restarted after a crash finds it ``interrupted`` and ``resume`` picks it up at
the recorded step.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from saline.protocol.codec import describe_validation_error
from saline.protocol.control import ControlReply, MaintenanceRequest

from . import lock
from .gates import Gate
from .driver import TICK, Driver, Step, StepFailed
from .spec import STEP_DOC, STEPS, Spec, parse_work
from .steps import STEP_FUNCS, RunCtx, check_gates, statuses
from .store import RunStore

if TYPE_CHECKING:
    from saline.master.interface import MasterAPI

log = logging.getLogger("saline.master.maintenance")

LOCK_REFRESH = 10.0


def _fail(code: str, error: str, data: Any = None) -> ControlReply:
    return ControlReply(ok=False, code=code, error=error, data=data)


def safe_state(node: str, peer: str, step: str) -> str:
    """What the cluster looks like after a stop at ``step`` on ``node``, and what to do."""
    if step == "gates":
        return f"nothing was changed: {node} was not drained and still runs its resources"
    if step in ("cleanup", "move_back"):
        return (f"{node} is back (out of standby); check `crm_mon -1` for cli-* constraints; "
                "`saline maintenance resume` re-runs this step")
    return (f"{node} is in standby and its resources run on {peer}; fix the cause, then `saline maintenance resume` "
            f"re-runs the step, or bring it back by hand: crm_attribute --node {node} --name standby --update off")


class MaintenanceService:
    def __init__(self, api: "MasterAPI"):
        self.api = api
        self.conn = api.jobs.conn
        lock.ensure(self.conn)
        self.store = RunStore(self.conn, api.events.record)
        self.driver = Driver(api)
        self.active: set[str] = set()
        self._refreshed = 0.0
        for run_id in self.store.with_status("running"):
            # The master that ran it is gone (crash, kill, restart).
            self.store.set_status(run_id, "interrupted", "the master stopped during the run",
                                  "see the last step; `saline maintenance resume` continues there")

    # ---- the master loop ----------------------------------------------------------------
    def tick(self) -> None:
        try:
            self._tick()
        except Exception:  # noqa: BLE001 - the master's loop must go on
            log.exception("maintenance tick failed; continuing")

    def _tick(self) -> None:
        self.driver.tick()
        now = time.time()
        if self.active and now - self._refreshed > LOCK_REFRESH:
            self._refreshed = now
            for run_id in self.active:
                rec = self.store.get(run_id)
                if rec is not None:
                    lock.refresh(self.conn, run_id, rec.spec.lock_ttl)

    def poll_timeout_ms(self) -> int | None:
        return int(TICK * 1000) if self.driver.busy() else None

    # ---- requests -----------------------------------------------------------------------
    def handle(self, client: bytes, req: MaintenanceRequest) -> ControlReply | None:
        return getattr(self, f"_{req.action}")(client, req)

    def _spec(self, req: MaintenanceRequest) -> Spec:
        accepted = sorted(self.api.keys.accepted_ids())
        cluster = req.cluster or accepted
        if len(cluster) != 2:
            raise ValueError(f"a two-node cluster is needed; accepted agents: {', '.join(accepted) or 'none'}"
                             " (name the pair with --cluster A,B)")
        unknown = [n for n in [*cluster, *(req.nodes or [])] if n not in accepted]
        if unknown:
            raise ValueError(f"no accepted agent {', '.join(unknown)}")
        nodes = req.nodes or cluster
        stray = [n for n in nodes if n not in cluster]
        if stray or len(set(nodes)) != len(nodes):
            raise ValueError(f"--nodes must name nodes of the cluster ({', '.join(cluster)}) once each")
        extra = {k: v for k, v in (("step_timeout", req.step_timeout), ("rejoin_timeout", req.rejoin_timeout),
                                    ("resync_timeout", req.resync_timeout), ("lock_ttl", req.lock_ttl)) if v is not None}
        return Spec(cluster=cluster, nodes=nodes, work=parse_work(req.work), reboot=req.reboot,
                    move_back=req.move_back, **extra)

    def _checked_spec(self, req: MaintenanceRequest) -> Spec | ControlReply:
        try:
            return self._spec(req)
        except (ValueError, ValidationError) as exc:
            msg = describe_validation_error(exc) if isinstance(exc, ValidationError) else str(exc)
            return _fail("bad_request", msg)

    def _plan_task(self, spec: Spec, run_id: str | None) -> Step:
        ctx = RunCtx(self.api, spec, run_id, {}, lambda: None)
        reports = yield from statuses(ctx)
        nodes = []
        for node in spec.nodes:
            verdicts = yield from check_gates(ctx, node, reports)
            verdicts.append(self._work_ready(spec, node))
            nodes.append({"node": node, "peer": spec.peer(node),
                          "steps": [{"step": s, "doc": STEP_DOC[s] if s != "work" else spec.work.describe()} for s in STEPS],
                          "gates": [g.model_dump() for g in verdicts]})
        ok = all(g["ok"] for n in nodes for g in n["gates"])
        return {"ok": ok, "spec": spec.model_dump(), "nodes": nodes}

    def _work_ready(self, spec: Spec, node: str) -> Gate:
        """State work must compile for the node before anything is drained."""
        if spec.work.kind != "state":
            return Gate(name="work_ready", ok=True, evidence=spec.work.describe())
        from saline.master.compile import compile_for_agents

        _compiled, errors = compile_for_agents(self.api, [node], spec.work.states)
        if errors:
            return Gate(name="work_ready", ok=False, evidence=f"{spec.work.describe()} does not compile for {node}: "
                        + "; ".join(errors.get(node) or [str(errors)])[:1000])
        return Gate(name="work_ready", ok=True, evidence=f"{spec.work.describe()} compiles for {node}")

    def _plan(self, client: bytes, req: MaintenanceRequest) -> ControlReply | None:
        spec = self._checked_spec(req)
        if isinstance(spec, ControlReply):
            return spec
        self.driver.start(self._plan_task(spec, None),
                          lambda plan: self.api.reply_control(client, ControlReply(ok=True, data=plan)),
                          lambda exc: self.api.reply_control(client, _fail("plan_failed", f"plan failed: {exc}")))
        return None

    def _blocking_run(self) -> str | None:
        for status in ("running", "interrupted"):
            ids = self.store.with_status(status)
            if ids:
                return f"run {ids[0]} is {status}; `saline maintenance resume` or `abort` it first"
        return None

    def _run(self, client: bytes, req: MaintenanceRequest) -> ControlReply | None:
        spec = self._checked_spec(req)
        if isinstance(spec, ControlReply):
            return spec
        blocking = self._blocking_run()
        if blocking:
            return _fail("busy", blocking)
        run_id = self.store.create(spec, req.owner)

        def planned(plan: dict) -> None:
            # A lock held by someone else shows as the lock_free gate; taken only once every gate passed.
            holder = lock.acquire(self.conn, run_id, req.owner, spec.lock_ttl) if plan["ok"] else None
            if holder is not None:
                plan = {**plan, "ok": False}
                plan["nodes"][0]["gates"][0] = {"name": "lock_free", "ok": False, "evidence": holder.describe()}
            if not plan["ok"]:
                bad = [f"{n['node']}: {g['name']}: {g['evidence']}" for n in plan["nodes"] for g in n["gates"] if not g["ok"]]
                self.store.set_status(run_id, "failed", "refused: a gate failed in the pre-flight; " + "; ".join(bad),
                                      "nothing was changed")
                lock.release(self.conn, run_id)
                self.api.reply_control(client, _fail("gate_failed", "refused: " + "; ".join(bad),
                                                     {"run_id": run_id, "plan": plan}))
                return
            self.store.event(run_id, None, "plan", plan)
            self._start(run_id)
            self.api.reply_control(client, ControlReply(ok=True, data={"run_id": run_id, "plan": plan}))

        def plan_failed(exc: BaseException) -> None:
            self.store.set_status(run_id, "failed", f"pre-flight failed: {exc}", "nothing was changed")
            lock.release(self.conn, run_id)
            self.api.reply_control(client, _fail("plan_failed", f"pre-flight failed: {exc}"))

        self.driver.start(self._plan_task(spec, run_id), planned, plan_failed)
        return None

    def _find(self, req: MaintenanceRequest, statuses_: tuple[str, ...]):
        rec = self.store.get(req.run_id) if req.run_id else self.store.latest(statuses_)
        return rec

    def _resume(self, client: bytes, req: MaintenanceRequest) -> ControlReply:
        rec = self._find(req, ("interrupted", "failed"))
        if rec is None:
            return _fail("not_found", "no interrupted or failed run to resume")
        if rec.id in self.active or rec.status == "running":
            return _fail("busy", f"run {rec.id} is running")
        if rec.status not in ("interrupted", "failed") or rec.step is None:
            return _fail("bad_request", f"run {rec.id} is {rec.status}; only an interrupted or failed run resumes")
        holder = lock.acquire(self.conn, rec.id, rec.owner, rec.spec.lock_ttl)
        if holder is not None:
            return _fail("locked", f"the maintenance lock is {holder.describe()}")
        self.store.set_status(rec.id, "running")
        self.store.event(rec.id, rec.node, "resume", {"node": rec.node, "step": rec.step, "by": req.owner})
        self._start(rec.id)
        return ControlReply(ok=True, data={"run_id": rec.id, "node": rec.node, "step": rec.step})

    def _abort(self, client: bytes, req: MaintenanceRequest) -> ControlReply:
        rec = self._find(req, ("running", "interrupted", "failed"))
        if rec is None or rec.status in ("done", "aborted"):
            return _fail("not_found", "no run to abort")
        if rec.id in self.active:
            self.store.request_abort(rec.id)
            return ControlReply(ok=True, data={"run_id": rec.id, "status": "aborting",
                                               "message": "stops after the current step"})
        peer = rec.spec.peer(rec.node) if rec.node else ""
        self.store.set_status(rec.id, "aborted", f"aborted by {req.owner}",
                              rec.safe_state or (safe_state(rec.node, peer, rec.step) if rec.node else "nothing was changed"))
        lock.release(self.conn, rec.id)
        return ControlReply(ok=True, data={"run_id": rec.id, "status": "aborted"})

    def _status(self, client: bytes, req: MaintenanceRequest) -> ControlReply:
        rec = self.store.get(req.run_id) if req.run_id else self.store.latest()
        if req.run_id and rec is None:
            return _fail("not_found", f"no maintenance run {req.run_id}")
        held = lock.held(self.conn)
        return ControlReply(ok=True, data={
            "now": time.time(), "lock": held.model_dump() if held else None,
            "run": rec.model_dump(mode="json") if rec else None, "recent": self.store.recent(10)})

    # ---- a run ------------------------------------------------------------------------------
    def _start(self, run_id: str) -> None:
        self.active.add(run_id)

        def finished(status: str) -> None:
            self.active.discard(run_id)
            log.info("maintenance run %s %s", run_id, status)

        def crashed(exc: BaseException) -> None:
            rec = self.store.get(run_id)
            log.exception("maintenance run %s: internal error", run_id, exc_info=exc)
            node = rec.node if rec else None
            self.store.set_status(run_id, "failed", f"internal error: {exc}",
                                  safe_state(node, rec.spec.peer(node), rec.step or "gates") if node else None)
            self.active.discard(run_id)

        self.driver.start(self._run_task(run_id), finished, crashed)

    def _run_task(self, run_id: str) -> Step:
        rec = self.store.get(run_id)
        spec = rec.spec
        ctx = RunCtx(self.api, spec, run_id, rec.context, lambda: self.store.set_context(run_id, ctx.context))
        start_node = spec.nodes.index(rec.node) if rec.node else 0
        for i, node in enumerate(spec.nodes[start_node:], start_node):
            first = STEPS.index(rec.step) if (i == start_node and rec.step) else 0
            for step in STEPS[first:]:
                if self.store.abort_requested(run_id):
                    self.store.set_status(run_id, "aborted", "aborted by the operator",
                                          safe_state(node, spec.peer(node), step) if step != "gates" else
                                          f"{node} was not touched; earlier nodes are done")
                    lock.release(self.conn, run_id)
                    return "aborted"
                self.store.step_started(run_id, node, step)
                lock.refresh(self.conn, run_id, spec.lock_ttl)
                try:
                    evidence = yield from STEP_FUNCS[step](ctx, node)
                except StepFailed as exc:
                    self.store.step_finished(run_id, node, step, "failed", {"reason": str(exc), "evidence": exc.evidence})
                    self.store.set_status(run_id, "failed", f"{node} {step}: {exc}", safe_state(node, spec.peer(node), step))
                    # The lock stays (no longer refreshed) so nothing else acts on a half-maintained
                    # cluster; `resume` takes it again, `abort` releases it.
                    return "failed"
                skipped = isinstance(evidence, dict) and (evidence.get("rebooted") is False or
                                                          (step == "move_back" and not spec.move_back) or
                                                          evidence.get("work") == "none")
                self.store.step_finished(run_id, node, step, "skipped" if skipped else "ok", evidence)
        self.store.set_status(run_id, "done")
        lock.release(self.conn, run_id)
        return "done"
