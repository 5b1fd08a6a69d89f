"""Acting on events: match each stored event against the reactions and start their actions.

Runs on the master's loop thread, right after the event is stored: no reaction SLS is
rendered per event (Salt's reactor does that), a match is a few glob tests. A job
action is published at once and its outcome recorded when the job completes; a local
command runs in a thread and reports back through ``call_soon``. Every outcome (job id,
result, latency from the agent receiving the event) is stored with the event.
"""

from __future__ import annotations

import fnmatch
import logging
import re
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from saline.master.jobstore import RETURN_GRACE
from saline.master.targeting import NoMatch, resolve

from .config import Match, Reaction, ReactorConfig

if TYPE_CHECKING:
    from saline.master.interface import MasterAPI

log = logging.getLogger("saline.master.reactor")

MAX_DETAIL = 2000


@dataclass(frozen=True)
class StoredEvent:
    id: int
    agent_id: str
    seq: int | None
    tag: str
    data: dict[str, Any]
    at: float


class ReactionError(Exception):
    pass


def matches(match: Match, ev: StoredEvent) -> bool:
    if not fnmatch.fnmatchcase(ev.tag, match.tag):
        return False
    for name, want in match.fields.items():
        value = ev.agent_id if name == "node" else ev.data.get(name)
        if value is None:
            return False
        if isinstance(want, int) and not isinstance(want, bool):
            if value != want:
                return False
        elif not fnmatch.fnmatchcase(str(value), str(want)):
            return False
    return True


class Reactor:
    def __init__(self, master: "MasterAPI", cfg: ReactorConfig):
        self.m, self.cfg = master, cfg
        self.running: dict[tuple[str, str], int] = {}  # (reaction, key) → reaction row
        self.last_fired: dict[tuple[str, str], float] = {}

    def on_event(self, ev: StoredEvent) -> None:
        for reaction in self.cfg.reactions:
            if reaction.enabled and matches(reaction.match, ev):
                try:
                    self._fire(reaction, ev)
                except Exception as exc:  # one broken reaction must not stop the others
                    log.exception("reaction %s on event %d failed to start", reaction.name, ev.id)
                    self.m.events.reaction_started(ev.id, reaction.name, "failed", detail=str(exc)[:MAX_DETAIL])

    # ---- placeholders --------------------------------------------------------------
    def _values(self, ev: StoredEvent) -> dict[str, str]:
        values = {k: str(ev.data[k]) for k in ("rsc", "task", "kind", "desc", "rc") if k in ev.data}
        values.update(node=ev.agent_id, tag=ev.tag)
        if ev.agent_id in self.cfg.peers:
            values["peer"] = self.cfg.peers[ev.agent_id]
        return values

    def _format(self, text: str, values: dict[str, str]) -> str:
        def sub(m: re.Match) -> str:
            name = m.group(1)
            if name not in values:
                if name == "peer":
                    raise ReactionError(f"no peer known for {values['node']}: list its cluster under `clusters:`")
                raise ReactionError(f"the event has no {name}")
            value = values[name]
            if value.startswith("-"):  # never let an event's text become an option
                raise ReactionError(f"{name} {value!r} starts with '-'")
            return value

        return re.sub(r"\{([^}]*)\}", sub, text)

    def _format_deep(self, value: Any, values: dict[str, str]) -> Any:
        """Placeholders in a run action's args and kwargs (strings at any depth)."""
        if isinstance(value, str):
            return self._format(value, values)
        if isinstance(value, list):
            return [self._format_deep(v, values) for v in value]
        if isinstance(value, dict):
            return {k: self._format_deep(v, values) for k, v in value.items()}
        return value

    def _target(self, target: str, values: dict[str, str]) -> list[str]:
        if target == "peer":
            target = "{peer}"
        try:
            return resolve(self._format(target, values), self.m.keys.accepted_ids())
        except NoMatch as exc:
            raise ReactionError(str(exc)) from None

    # ---- firing -------------------------------------------------------------------------
    def _fire(self, r: Reaction, ev: StoredEvent) -> None:
        now = time.time()
        values = self._values(ev)
        if now - ev.at > r.max_age:
            self.m.events.reaction_started(ev.id, r.name, "skipped",
                                           detail=f"event is {now - ev.at:.0f}s old (max_age {r.max_age:g}s)")
            return
        try:
            key = (r.name, self._format(r.key, {**values, **{k: "" for k in ("rsc", "task", "kind", "desc", "rc")
                                                                  if k not in values}}))
        except ReactionError:
            key = (r.name, ev.agent_id)
        if key in self.running:
            self.m.events.reaction_started(ev.id, r.name, "skipped",
                                           detail=f"one already running for {key[1]} (reaction {self.running[key]})")
            return
        if r.debounce and now - self.last_fired.get(key, 0.0) < r.debounce:
            return  # what debounce asks for; not stored per event (a flood would write a row for each)
        self.last_fired[key] = now
        try:
            getattr(self, f"_start_{r.action}")(r, ev, values, key)
        except ReactionError as exc:
            self.m.events.reaction_started(ev.id, r.name, "failed", detail=str(exc)[:MAX_DETAIL])
            log.warning("reaction %s on event %d (%s from %s): %s", r.name, ev.id, ev.tag, ev.agent_id, exc)

    def _job_started(self, r: Reaction, ev: StoredEvent, key: tuple[str, str], jid: str) -> None:
        row = self.m.events.reaction_started(ev.id, r.name, "running", jid=jid)
        self.running[key] = row
        started = time.time()
        log.info("reaction %s on event %d (%s from %s): job %s, %.0f ms after the agent got the event",
                 r.name, ev.id, ev.tag, ev.agent_id, jid, (started - ev.at) * 1000)
        self.m.when_done(jid, r.timeout + RETURN_GRACE, lambda _jid: self._job_done(row, key, jid, started - ev.at))

    def _job_done(self, row: int, key: tuple[str, str], jid: str, latency: float) -> None:
        self.running.pop(key, None)
        job = self.m.jobs.get(jid)
        returns = job.returns if job else []
        ok = bool(returns) and all(r.status == "returned" and r.success for r in returns)
        detail = "; ".join(
            f"{r.agent_id}: {r.status if r.status != 'returned' else ('ok' if r.success else 'failed')}"
            + (f" ({r.error})" if r.error else "") for r in returns)
        self.m.events.reaction_finished(row, "done" if ok else "failed", ok, detail[:MAX_DETAIL], latency)

    def _start_run(self, r: Reaction, ev: StoredEvent, values: dict[str, str], key: tuple[str, str]) -> None:
        assert r.run is not None
        agents = self._target(r.run.target, values)
        args, kwargs = self._format_deep(r.run.args, values), self._format_deep(r.run.kwargs, values)
        jid = self.m.publish(",".join(agents), r.run.fun, args, lambda _aid: kwargs, r.timeout, agents=agents)
        self._job_started(r, ev, key, jid)

    def _start_apply(self, r: Reaction, ev: StoredEvent, values: dict[str, str], key: tuple[str, str]) -> None:
        from saline.master.compile import publish_apply

        assert r.apply is not None
        agents = self._target(r.apply.target, values)
        jid, errors = publish_apply(self.m, ",".join(agents), agents, r.apply.states, r.apply.test, r.timeout)
        if jid is None:
            raise ReactionError(f"state compilation failed: {errors}")
        self._job_started(r, ev, key, jid)

    def _start_garp(self, r: Reaction, ev: StoredEvent, values: dict[str, str], key: tuple[str, str]) -> None:
        assert r.garp is not None
        rsc = str(ev.data.get("rsc", ""))
        addresses = sorted({a for pattern, addrs in r.garp.addresses.items() if fnmatch.fnmatchcase(rsc, pattern)
                            for a in addrs})
        if not addresses:
            self.m.events.reaction_started(ev.id, r.name, "skipped", detail=f"no addresses configured for {rsc!r}")
            return
        mac = next((m for pattern, m in r.garp.macs.items() if fnmatch.fnmatchcase(rsc, pattern)), None)
        kwargs = {"interface": r.garp.interface, "addresses": addresses, "count": r.garp.count,
                  **({"mac": mac} if mac else {})}
        jid = self.m.publish(ev.agent_id, "net.garp", [], lambda _aid: kwargs, r.timeout, agents=[ev.agent_id])
        self._job_started(r, ev, key, jid)

    def _start_command(self, r: Reaction, ev: StoredEvent, values: dict[str, str], key: tuple[str, str]) -> None:
        assert r.command is not None
        argv = [self._format(a, values) for a in r.command]
        row = self.m.events.reaction_started(ev.id, r.name, "running", detail=" ".join(argv)[:MAX_DETAIL])
        self.running[key] = row
        started = time.time()

        def work() -> None:
            try:
                done = subprocess.run(argv, capture_output=True, text=True, timeout=r.timeout,
                                      stdin=subprocess.DEVNULL, errors="replace")
                ok, detail = done.returncode == 0, f"exit {done.returncode}: {(done.stdout + done.stderr)[-1000:]}"
            except subprocess.TimeoutExpired:
                ok, detail = False, f"timed out after {r.timeout:g}s"
            except OSError as exc:
                ok, detail = False, f"could not run {argv[0]}: {exc}"

            def finish() -> None:
                self.running.pop(key, None)
                self.m.events.reaction_finished(row, "done" if ok else "failed", ok, detail[:MAX_DETAIL],
                                                started - ev.at)

            self.m.call_soon(finish)

        threading.Thread(target=work, name=f"reaction-{r.name}", daemon=True).start()
