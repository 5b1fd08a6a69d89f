"""Scheduled drift correction: APScheduler fires, the master's loop thread runs.

Each schedule is an APScheduler job in the master's database (``SQLiteJobStore``), so
schedules and their next run times survive a restart; ``coalesce`` makes the runs
missed while the master was down one run, and ``max_instances=1`` with our own
``running`` set means a slow run is never doubled. APScheduler's thread only hands the
run to the loop thread (``call_soon``), which owns the sockets and the database.

A run: leave out nodes under rolling maintenance (``hooks.held_nodes``), dry-run the
states (``state.apply test=True``) and read Pacemaker's resources (``cluster.resources``)
on the rest; store what would change per agent and state (``saline drift``); with policy
``fix`` re-apply the SLS files that drifted — but never one that would change a
``pacemaker.*`` state, and never a failed or stopped resource: those are reported only.
"""

from __future__ import annotations

import logging
import re
import time
from typing import TYPE_CHECKING, Any

from saline.master.jobstore import RETURN_GRACE
from saline.master.targeting import NoMatch, resolve

from .hooks import held_nodes, maintenance_lock, register
from .store import ScheduleStore

if TYPE_CHECKING:
    from saline.master.interface import MasterAPI

log = logging.getLogger("saline.master.schedule")

_ACTIVE: "DriftScheduler | None" = None
EVERY = re.compile(r"^(\d+)([smhd])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
MIN_INTERVAL = 10  # seconds: a drift run is a dry run of every state on every target


class ScheduleError(ValueError):
    pass


def fire(name: str) -> None:
    """APScheduler's job function (referenced by name in the stored job): hand over to the loop."""
    sched = _ACTIVE
    if sched is not None:
        sched.m.call_soon(lambda: sched.run(name, "schedule"))


def make_trigger(trigger: str):
    """``every 10m`` / ``every 30s`` … or ``cron MIN HOUR DOM MON DOW`` (crontab syntax)."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    kind, _, spec = trigger.partition(" ")
    if kind == "every":
        m = EVERY.match(spec.strip())
        if not m:
            raise ScheduleError(f"interval {spec!r}: give a number and s/m/h/d, e.g. 10m")
        trig = IntervalTrigger(**{UNITS[m.group(2)]: int(m.group(1))})
        if trig.interval.total_seconds() < MIN_INTERVAL:
            raise ScheduleError(f"interval {spec!r} is shorter than {MIN_INTERVAL}s")
        return trig
    if kind == "cron":
        try:
            return CronTrigger.from_crontab(spec.strip())
        except ValueError as exc:
            raise ScheduleError(f"cron {spec!r}: {exc}") from None
    raise ScheduleError(f"trigger {trigger!r}: 'every N[smhd]' or 'cron MIN HOUR DOM MON DOW'")


def drifted_items(data: Any) -> list[dict]:
    """What a ``state.apply test=True`` return says would change (or could not be checked)."""
    results = data.get("results", []) if isinstance(data, dict) else []
    found = []
    for r in results:
        if not isinstance(r, dict):
            continue
        if r.get("result") is None and r.get("changes"):
            kind = "drift"
        elif r.get("result") is False:
            kind = "error"
        else:
            continue
        found.append({"item": str(r.get("id")), "kind": kind, "sls": str(r.get("sls", "")),
                      "fun": str(r.get("fun", "")), "changes": r.get("changes") or {},
                      "comment": str(r.get("comment", ""))[:2000]})
    return found


def resource_problems(data: Any) -> list[dict]:
    """Failed resources, and stopped ones that are not disabled on purpose (target-role Stopped)."""
    found = []
    for rid, r in (data or {}).items() if isinstance(data, dict) else []:
        if not isinstance(r, dict):
            continue
        if r.get("failed"):
            problem = "failed"
        elif not r.get("active") and str(r.get("target_role") or "").lower() != "stopped":
            problem = "stopped"
        else:
            continue
        found.append({"item": f"resource {rid}", "kind": "resource", "fun": "pacemaker", "status": "reported",
                      "changes": {"role": r.get("role"), "nodes": r.get("nodes")},
                      "comment": f"Pacemaker resource {rid} is {problem}; reported, not fixed "
                                 "(that is Pacemaker's job: crm resource cleanup / start)"})
    return found


class DriftScheduler:
    def __init__(self, master: "MasterAPI"):
        self.m = master
        self.store = ScheduleStore(master.jobs.conn)
        self.running: set[str] = set()
        self.scheduler = None

    # ---- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        global _ACTIVE
        from apscheduler.schedulers.background import BackgroundScheduler

        from .jobstore import SQLiteJobStore

        self.scheduler = BackgroundScheduler(
            jobstores={"default": SQLiteJobStore(self.m.cfg.db_path)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        _ACTIVE = self
        register(maintenance_lock)
        self.scheduler.start()
        n = len(self.store.all())
        if n:
            log.info("drift schedules: %d", n)

    def stop(self) -> None:
        global _ACTIVE
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        _ACTIVE = None

    # ---- saline schedule ...------------------------------------------------------------------
    def add(self, name: str, target: str, states: list[str], policy: str, trigger: str) -> dict:
        if self.store.get(name):
            raise ScheduleError(f"schedule {name} exists; remove it first")
        trig = make_trigger(trigger)
        try:
            resolve(target, self.m.keys.accepted_ids())
        except NoMatch as exc:
            raise ScheduleError(str(exc)) from None
        self.store.add(name, target, states, policy, trigger)
        self.scheduler.add_job("saline.master.schedule.scheduler:fire", trig, kwargs={"name": name}, id=name,
                               name=name, replace_existing=True)
        return self.describe(name)

    def remove(self, name: str) -> None:
        self._need(name)
        self.store.remove(name)
        if self.scheduler.get_job(name):
            self.scheduler.remove_job(name)

    def pause(self, name: str) -> dict:
        self._need(name)
        self.scheduler.pause_job(name)
        return self.describe(name)

    def resume(self, name: str) -> dict:
        self._need(name)
        self.scheduler.resume_job(name)
        return self.describe(name)

    def describe(self, name: str) -> dict:
        s = self._need(name)
        job = self.scheduler.get_job(name)
        nxt = job.next_run_time.timestamp() if job and job.next_run_time else None
        return {**s, "next_run": nxt, "paused": job is not None and job.next_run_time is None,
                "running": name in self.running}

    def list(self) -> list[dict]:
        return [self.describe(s["name"]) for s in self.store.all()]

    def _need(self, name: str) -> dict:
        s = self.store.get(name)
        if s is None:
            raise ScheduleError(f"no schedule {name}")
        return s

    # ---- a run (loop thread) ------------------------------------------------------------------
    def run(self, name: str, why: str) -> str | None:
        """Start one drift run; its dry-run jid, or None if nothing was started."""
        s = self.store.get(name)
        if s is None:
            return None
        if name in self.running:
            self._event("saline/drift/skipped", {"schedule": name, "why": "the previous run is still going"})
            return None
        try:
            agents = resolve(s["target"], self.m.keys.accepted_ids())
        except NoMatch as exc:
            self._event("saline/drift/skipped", {"schedule": name, "why": str(exc)})
            return None
        held = held_nodes(self.m)
        skipped = {a: held.get(a) or held["*"] for a in agents if a in held or "*" in held}
        agents = [a for a in agents if a not in skipped]
        if not agents:
            self._event("saline/drift/skipped", {"schedule": name, "why": "every target is under maintenance",
                                                 "held": skipped})
            return None
        from saline.master.compile import publish_apply

        timeout = self.m.cfg.apply_timeout
        jid, errors = publish_apply(self.m, ",".join(agents), agents, s["states"], True, timeout)
        if jid is None:
            self._event("saline/drift/failed", {"schedule": name, "why": "state compilation failed", "errors": errors})
            return None
        rjid = self.m.publish(",".join(agents), "cluster.resources", [], lambda _a: {}, 30, agents=agents)
        self.running.add(name)
        pending = {"dry": None, "resources": None}

        def done(kind: str, job_id: str) -> None:
            pending[kind] = self.m.jobs.get(job_id)
            if all(pending.values()):
                self.running.discard(name)
                self._finish(s, why, pending["dry"], pending["resources"], skipped)

        self.m.when_done(jid, timeout + RETURN_GRACE, lambda j: done("dry", j))
        self.m.when_done(rjid, 30 + RETURN_GRACE, lambda j: done("resources", j))
        log.info("drift run %s (%s): %s on %s", name, why, jid, ", ".join(agents))
        return jid

    def _finish(self, s: dict, why: str, dry, resources, skipped: dict[str, str]) -> None:
        name = s["name"]
        rsc_by_agent = {r.agent_id: r for r in resources.returns}
        report: dict[str, Any] = {"schedule": name, "why": why, "jid": dry.jid, "policy": s["policy"],
                                  "drifted": {}, "resources": {}, "no_return": [], "skipped": skipped}
        to_fix: dict[str, tuple[list[str], list[str]]] = {}
        for ret in dry.returns:
            if ret.status != "returned" or not isinstance(ret.data, dict) or "results" not in ret.data:
                report["no_return"].append(ret.agent_id)
                continue
            found = drifted_items(ret.data)
            rret = rsc_by_agent.get(ret.agent_id)
            if rret is not None and rret.status == "returned" and rret.success:
                problems = resource_problems(rret.data)
                found += problems
                if problems:
                    report["resources"][ret.agent_id] = [p["item"] for p in problems]
            self.store.observe(name, ret.agent_id, dry.jid, found)
            drift = [f for f in found if f["kind"] == "drift"]
            if drift:
                report["drifted"][ret.agent_id] = [f["item"] for f in drift]
            if s["policy"] == "fix" and drift:
                to_fix[ret.agent_id] = fix_plan(drift)
                left = sorted({f["item"] for f in drift} - set(to_fix[ret.agent_id][1]))
                if left:
                    report.setdefault("not_fixed", {})[ret.agent_id] = left
        self._event("saline/drift/report", report)
        for agent, (sls, items) in to_fix.items():
            self._fix(s, agent, sls, items)

    def _fix(self, s: dict, agent: str, sls: list[str], items: list[str]) -> None:
        from saline.master.compile import publish_apply

        if not sls:
            return
        jid, errors = publish_apply(self.m, agent, [agent], sls, False, self.m.cfg.apply_timeout)
        if jid is None:
            self._event("saline/drift/failed", {"schedule": s["name"], "agent": agent, "why": str(errors)[:1000]})
            return

        def done(job_id: str) -> None:
            job = self.m.jobs.get(job_id)
            ok = bool(job and job.returns and all(r.status == "returned" and r.success for r in job.returns))
            self.store.fixed(agent, items, job_id, ok)
            self._event("saline/drift/fixed" if ok else "saline/drift/failed",
                        {"schedule": s["name"], "agent": agent, "jid": job_id, "sls": sls, "states": items})

        self.m.when_done(jid, self.m.cfg.apply_timeout + RETURN_GRACE, done)

    def _event(self, tag: str, data: dict) -> None:
        self.m.event_intake.record(tag, data)
        log.info("%s %s", tag, {k: v for k, v in data.items() if k in ("schedule", "why", "drifted", "agent")})


def fix_plan(drift: list[dict]) -> tuple[list[str], list[str]]:
    """(SLS files to re-apply, state ids they fix). An SLS in which a pacemaker.* state
    drifted is left alone: the cluster is Pacemaker's to change, an operator decides."""
    hands_off = {d["sls"] for d in drift if d["fun"].startswith("pacemaker.")}
    fixable = [d for d in drift if d["sls"] and d["sls"] not in hands_off]
    return sorted({d["sls"] for d in fixable}), [d["item"] for d in fixable]
