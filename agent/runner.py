"""Running jobs in worker threads with a per-job timeout and a concurrency limit.

No process is forked per job (that is where Salt spends most of its per-job CPU).
A thread cannot be killed, so a job that overruns its timeout gets a failed return at
once, its cancel event is set, and whatever it produces later is dropped. A state run
is the exception: stopping it halfway would leave the node half-changed and what it did
unrecorded, so it goes on past its timeout and its result is returned late. ``job.kill``
(``saline jobs kill``) sets a job's cancel event: the state engine runs no further
state and the command runner terminates the command in flight.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from saline.protocol.messages import JobBody, ReturnBody

from .functions import FUNCTIONS, FunctionContext, FunctionError, FunctionResult, bind_args, is_allowed
from .statelock import StateRunLock

log = logging.getLogger("saline.agent.jobs")


@dataclass
class Running:
    body: JobBody
    started: float
    deadline: float
    cancel: threading.Event = field(default_factory=threading.Event)
    outlives_timeout: bool = False
    overdue: bool = False  # past its timeout, still running (only when outlives_timeout)


# Built into the runner rather than the function registry: it acts on the runner's own
# jobs, and it is always allowed (it can only stop a job this agent's master sent).
KILL = "job.kill"


class JobRunner:
    """Workers push finished ReturnBody objects onto ``done`` and write a byte to a pipe
    so the agent's poll loop wakes at once (no polling latency on the round trip)."""

    def __init__(self, agent_id: str, version: str, workers: int, allowlist: list[str], settings: dict):
        self.agent_id, self.version = agent_id, version
        self.allowlist = allowlist
        self.settings = settings
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="job")
        self.max_queued = workers * 4
        self.running: dict[str, Running] = {}
        self.done: queue.Queue[ReturnBody] = queue.Queue()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        self._lock = threading.Lock()
        self.state_lock = StateRunLock()
        self.closed = False

    def _finish(self, body: ReturnBody) -> None:
        with self._lock:
            if self.running.pop(body.jid, None) is None:
                log.info("job %s finished after it had timed out; result dropped", body.jid)
                return
        self.done.put(body)
        os.write(self.wake_w, b"x")

    def _fail(self, job: JobBody, started: float, error: str, retcode: int = 1, data=None) -> ReturnBody:
        return ReturnBody(jid=job.jid, agent_id=self.agent_id, fun=job.fun, success=False, retcode=retcode,
                          data=data, error=error, started_at=started, finished_at=time.time())

    def submit(self, job: JobBody) -> ReturnBody | None:
        """Start a job; returns an immediate failure return if it cannot start."""
        started = time.time()
        if job.fun == KILL:
            return self._kill(job, started)
        if not is_allowed(job.fun, self.allowlist):
            log.warning("job %s refused: function %s is not in this agent's allowlist", job.jid, job.fun)
            return self._fail(job, started, f"function {job.fun} is not allowed on this agent")
        fn = FUNCTIONS.get(job.fun)
        if fn is None:
            return self._fail(job, started, f"unknown function {job.fun}")
        with self._lock:
            if len(self.running) >= self.max_queued:
                return self._fail(job, started, f"agent busy: {len(self.running)} jobs running or queued")
            run = self.running[job.jid] = Running(job, started, started + job.timeout,
                                                  outlives_timeout=fn.outlives_timeout)
        ctx = FunctionContext(self.agent_id, self.version, self.settings, run.cancel, job.jid, self.state_lock)
        self.pool.submit(self._execute, fn, job, ctx, started)
        return None

    def _execute(self, fn, job: JobBody, ctx: FunctionContext, started: float) -> None:
        try:
            args = bind_args(fn, job.args, job.kwargs)
            out = fn.run(args, ctx)
            if isinstance(out, FunctionResult):
                body = ReturnBody(jid=job.jid, agent_id=self.agent_id, fun=job.fun, success=out.success,
                                  retcode=out.retcode, data=out.data, started_at=started, finished_at=time.time())
            else:
                body = ReturnBody(jid=job.jid, agent_id=self.agent_id, fun=job.fun, success=True, data=out,
                                  started_at=started, finished_at=time.time())
        except FunctionError as exc:
            body = self._fail(job, started, str(exc), exc.retcode, exc.data)
        except Exception as exc:
            log.exception("job %s (%s) crashed", job.jid, job.fun)
            body = self._fail(job, started, f"{type(exc).__name__}: {exc}")
        self._finish(body)

    def _kill(self, job: JobBody, started: float) -> ReturnBody:
        """``job.kill JID``: set that job's cancel event; its own return follows when it stops."""
        target = job.args[0] if job.args and isinstance(job.args[0], str) else None
        with self._lock:
            run = self.running.get(target) if target else None
            if run is not None:
                run.cancel.set()
        if run is None:
            return self._fail(job, started, f"job {target!r} is not running on {self.agent_id}")
        log.warning("job %s (%s) stopped on the master's request (job %s)", target, run.body.fun, job.jid)
        return ReturnBody(jid=job.jid, agent_id=self.agent_id, fun=job.fun, success=True,
                          data={"jid": target, "fun": run.body.fun, "stopping": True},
                          started_at=started, finished_at=time.time())

    def running_jids(self) -> list[str]:
        with self._lock:
            return list(self.running)

    def expire(self, now: float | None = None) -> list[ReturnBody]:
        """Failed returns for jobs past their timeout (a state run goes on: see the module doc)."""
        now = time.time() if now is None else now
        out = []
        with self._lock:
            for jid, run in list(self.running.items()):
                if run.overdue:
                    continue
                if now >= run.deadline and run.outlives_timeout:
                    run.overdue = True
                    log.warning("job %s (%s) passed its timeout of %gs; a state run is not stopped halfway: "
                                "it goes on and its result is returned late", jid, run.body.fun, run.body.timeout)
                elif now >= run.deadline:
                    del self.running[jid]
                    run.cancel.set()
                    log.warning("job %s (%s) timed out after %.1fs", jid, run.body.fun, run.body.timeout)
                    out.append(self._fail(run.body, run.started, f"timed out after {run.body.timeout:g}s", 124))
        return out

    def next_deadline(self) -> float | None:
        with self._lock:
            return min((r.deadline for r in self.running.values() if not r.overdue), default=None)

    def drain_wakeups(self) -> list[ReturnBody]:
        try:
            while os.read(self.wake_r, 4096):
                pass
        except BlockingIOError:
            pass
        out = []
        while True:
            try:
                out.append(self.done.get_nowait())
            except queue.Empty:
                return out

    def wake(self) -> None:
        """Wake the agent's poll loop (used on SIGTERM; safe after shutdown)."""
        if not self.closed:
            os.write(self.wake_w, b"x")

    def shutdown(self) -> None:
        self.closed = True
        with self._lock:
            for run in self.running.values():
                run.cancel.set()
        self.pool.shutdown(wait=False, cancel_futures=True)
        os.close(self.wake_r)
        os.close(self.wake_w)
