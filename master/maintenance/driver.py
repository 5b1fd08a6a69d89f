"""Runs maintenance steps inside the master's poll loop, without threads.

A step is a generator: it yields :class:`Call` (publish a job to one agent; the
generator gets that agent's :class:`AgentReturn` back) or :class:`Sleep`, and returns
its evidence. :meth:`Driver.tick` (called by the master's loop) moves every task on as
far as it can without blocking, so the ZeroMQ sockets stay owned by one thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

TICK = 0.1  # the master polls at least this often while a task runs


@dataclass
class Call:
    node: str
    fun: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    timeout: float = 30.0
    stored: dict[str, Any] | None = None  # what the job store keeps instead of kwargs (compiled states)


@dataclass
class Sleep:
    seconds: float


class StepFailed(Exception):
    def __init__(self, reason: str, evidence: Any = None):
        super().__init__(reason)
        self.evidence = evidence


Step = Generator[Call | Sleep, Any, Any]


@dataclass
class Task:
    gen: Step
    done: Callable[[Any], None]
    failed: Callable[[BaseException], None]
    jid: str | None = None
    wake_at: float = 0.0


class Driver:
    def __init__(self, api):
        self.api = api
        self.tasks: list[Task] = []

    def start(self, gen: Step, done: Callable[[Any], None], failed: Callable[[BaseException], None]) -> None:
        task = Task(gen, done, failed)
        self.tasks.append(task)
        self._advance(task)

    def busy(self) -> bool:
        return bool(self.tasks)

    def tick(self) -> None:
        for task in list(self.tasks):
            self._advance(task)

    def _advance(self, task: Task) -> None:
        value: Any = None
        error: BaseException | None = None
        if task.jid is not None:
            job = self.api.jobs.get(task.jid)
            ret = job.returns[0] if job and job.returns else None
            if ret is not None and ret.status == "pending":
                return
            task.jid, value = None, ret
        elif task.wake_at:
            if time.time() < task.wake_at:
                return
            task.wake_at = 0.0
        while True:
            try:
                req = task.gen.throw(error) if error is not None else task.gen.send(value)
            except StopIteration as stop:
                self.tasks.remove(task)
                task.done(stop.value)
                return
            except BaseException as exc:  # noqa: BLE001 - the task's owner records it
                self.tasks.remove(task)
                task.failed(exc)
                return
            value, error = None, None
            if isinstance(req, Sleep):
                task.wake_at = time.time() + req.seconds
                return
            try:
                task.jid = self.api.publish(req.node, req.fun, [], lambda _aid, kw=req.kwargs: kw, req.timeout,
                                            stored_kwargs=req.stored, agents=[req.node])
            except Exception as exc:  # noqa: BLE001 - handed to the step, which reports it
                error = StepFailed(f"could not send {req.fun} to {req.node}: {exc}")
                continue
            job = self.api.jobs.get(task.jid)
            if job is not None and job.returns and job.returns[0].status == "not_connected":
                task.jid, value = None, job.returns[0]
                continue
            return
