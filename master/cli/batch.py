"""``--batch N|N%`` for ``saline run`` and ``saline apply``, as Salt's: at most N agents (or N%
of the matched ones, at least one) at a time in a sliding window — the next agent starts as
soon as one returns (``--batch-wait S``: S seconds after it) —, each agent's result printed
as it comes, the exit code as without batching (an agent that is down counts as failed).
Ctrl-C starts no further agent and says what ran, what still runs and what never started.

Each agent gets a job of its own (Salt's batches get a jid each too). The jobs are waited for
in threads, one control-socket request each, so a return is shown the moment it is stored.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import click

from saline.master.client import ControlClient, MasterUnavailable

from .base import EXIT_ERROR, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_RUNNING, Ctx, consoles, dump, fail, \
    job_exit_code, safe

RETURN_GRACE = 2.0  # jobstore.RETURN_GRACE: the master waits this long past a job's timeout


def window_size(spec: str, total: int) -> int:
    """Salt's get_bnum: N, or N% of the targets rounded down but at least 1."""
    text = spec.strip()
    try:
        if text.endswith("%"):
            percent = float(text[:-1])
            if not 0 < percent <= 100:
                raise ValueError
            return max(1, int(percent / 100.0 * total))
        size = int(text)
        if size < 1:
            raise ValueError
        return size
    except ValueError:
        fail(f"--batch {spec!r}: give a number of agents (e.g. 2) or a percentage of the targets (e.g. 25%)")
    raise AssertionError("unreachable")


@dataclass
class _Progress:
    pending: deque[str]
    running: dict[str, str] = field(default_factory=dict)  # agent → jid
    done: list[str] = field(default_factory=list)
    codes: list[int] = field(default_factory=list)
    cooldowns: list[float] = field(default_factory=list)  # when a slot held by --batch-wait frees


def combined_exit_code(codes: list[int]) -> int:
    """As one job over every agent: 2 if any failed, else 3 if any still runs, else 0."""
    if EXIT_FAILED in codes or EXIT_ERROR in codes:
        return EXIT_FAILED
    return EXIT_RUNNING if EXIT_RUNNING in codes else EXIT_OK


class Batch:
    def __init__(self, c: Ctx, req: dict[str, Any], spec: str, wait: float):
        self.c, self.req, self.wait = c, req, wait
        targets = c.ask({"op": "targets", "target": req["target"], "tgt_type": req["tgt_type"]}, 60).data
        self.agents = [t["id"] for t in targets]
        self.size = window_size(spec, len(self.agents))
        self.returns: queue.Queue = queue.Queue()
        self.note = consoles.err if c.structured else consoles.out

    def say(self, text: str) -> None:
        self.note.print(text, markup=False, style="dim", highlight=False)

    # ---- one agent ---------------------------------------------------------------------------
    def start(self, aid: str, p: _Progress) -> None:
        """Publish this agent's job; its return comes through ``self.returns``."""
        try:
            reply = self.c.client.request_raw({**self.req, "target": aid, "tgt_type": "list", "detach": True}, 60)
        except MasterUnavailable as exc:
            fail(f"{exc}; agents started so far: {', '.join(p.done + list(p.running)) or 'none'}")
        if not reply.get("ok"):
            # Refused for this agent (a compile error, no longer accepted): it failed, the rest go on.
            detail = reply.get("data", {}).get("errors", {}) if isinstance(reply.get("data"), dict) else {}
            lines = [reply.get("error") or "request failed", *[e for errs in detail.values() for e in errs]]
            self.returns.put((aid, None, "; ".join(map(str, lines))))
            p.running[aid] = ""
            return
        jid, timeout = reply["data"]["jid"], reply["data"]["timeout"]
        p.running[aid] = jid
        self.say(f"{aid}: job {jid} started ({len(p.running)} running, {len(p.pending)} waiting)")
        threading.Thread(target=self._wait, args=(aid, jid, timeout), daemon=True).start()

    def _wait(self, aid: str, jid: str, timeout: float) -> None:
        try:
            reply = ControlClient(self.c.client.socket_path).request_raw(
                {"op": "job_wait", "jid": jid, "timeout": timeout + RETURN_GRACE}, timeout + RETURN_GRACE + 30)
        except MasterUnavailable as exc:
            self.returns.put((aid, None, f"{exc}; see it later with: saline jobs show {jid}"))
            return
        self.returns.put((aid, reply.get("data") if reply.get("ok") else None, reply.get("error")))

    def show(self, aid: str, job: dict | None, error: str | None) -> int:
        """One agent's result, printed as it comes (one line per job for JSON, so a reader can follow)."""
        from .run import show_job

        if job is None:
            if self.c.structured:
                click.echo(json.dumps({"agent_id": aid, "error": error}))
            else:
                consoles.out.print(f"[bold]{safe(aid)}[/]: [red]failed[/] {safe(error or '')}")
            return EXIT_FAILED
        if self.c.out == "salt-json":
            from .saltout import salt_view

            click.echo(json.dumps(salt_view(job), default=str))
            return job_exit_code(job)
        if self.c.out == "json":
            click.echo(json.dumps(job, default=str))
            return job_exit_code(job)
        if self.c.out == "yaml":
            click.echo("---")
            dump(job, "yaml")
            return job_exit_code(job)
        return show_job(job, self.c)

    # ---- the window ----------------------------------------------------------------------------
    def run(self) -> int:
        p = _Progress(pending=deque(self.agents))
        self.say(f"batch: {self.size} of {len(self.agents)} agent(s) at a time"
                 + (f", {self.wait:g}s after each return" if self.wait else "") + " (Ctrl-C starts no more)")
        try:
            while p.pending or p.running:
                now = time.monotonic()
                p.cooldowns = [t for t in p.cooldowns if t > now]
                while p.pending and len(p.running) + len(p.cooldowns) < self.size:
                    self.start(p.pending.popleft(), p)
                try:
                    aid, job, error = self.returns.get(timeout=0.1)
                except queue.Empty:
                    continue
                del p.running[aid]
                p.done.append(aid)
                p.codes.append(self.show(aid, job, error))
                if self.wait:
                    p.cooldowns.append(time.monotonic() + self.wait)
        except KeyboardInterrupt:
            self.interrupted(p)
        ok = p.codes.count(EXIT_OK)
        code = combined_exit_code(p.codes)
        self.note.print(f"batch: {ok} of {len(self.agents)} agent(s) succeeded", highlight=False,
                        style="green" if code == EXIT_OK else "red")
        return code

    def interrupted(self, p: _Progress) -> None:
        lines = ["", "Interrupted: no further agent is started; the jobs already sent go on."]
        lines.append(f"  returned:    {', '.join(p.done) or 'none'}")
        for aid, jid in p.running.items():
            lines.append(f"  running:     {aid} (job {jid}: saline jobs wait {jid})")
        lines.append(f"  not started: {', '.join(p.pending) or 'none'}")
        consoles.err.print("\n".join(lines), markup=False, highlight=False)
        sys.exit(EXIT_INTERRUPTED)


def batch_options(f):
    f = click.option("--batch-wait", "batch_wait", type=click.FloatRange(min=0), default=0.0,
                     help="with --batch: seconds to wait after an agent returns before starting the next")(f)
    return click.option("-b", "--batch", "batch", default=None, metavar="N|N%",
                        help="at most N agents (or N%% of the targets) at a time; the next starts as one returns")(f)


def run_batched(c: Ctx, req: dict[str, Any], spec: str, wait: float, as_async: bool) -> None:
    if as_async:
        fail("--batch waits for each agent to return before starting the next; it cannot be used with --async")
    sys.exit(Batch(c, req, spec, wait).run())
