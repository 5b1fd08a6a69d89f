"""The master process: agent socket (ROUTER, CURVE), bootstrap socket, control socket.

One thread runs the ZeroMQ poll loop and owns the database; the ZAP thread only reads
the key store. Everything a hostile peer can send is decoded inside ``try`` blocks that
log the reason and carry on, and each connection's bad frames are rate-limited so a
flood from one peer cannot starve the good agents (Salt's CVE-2023-20897 class).
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import zmq

from saline.protocol import __version__
from saline.protocol.codec import decode_bootstrap, pack
from saline.protocol.control import ControlReply
from saline.protocol.errors import ProtocolError
from saline.protocol.ids import new_jid
from saline.protocol.ratelog import RateLimitedLog
from saline.protocol.keys import load_or_create
from saline.protocol.safedirs import ensure_dir
from saline.protocol.messages import (
    Error, Event, EventAck, Heartbeat, Hello, PubkeyReply, PubkeyRequest, Return, Welcome,
)
from saline.protocol.signing import open_return
from saline.protocol.sodium import Signer

from . import ctlsocket
from .badframes import BadFrameLimiter
from .compile import warn_missing_roots
from .config import MasterConfig
from .control import ControlHandler
from .db import open_db
from .fanout import job_frames
from .intake import Intake
from .jobsize import check_frame
from .retention import prune
from .returnbatch import ReturnBatch
from .returns import checked as checked_return
from .events.intake import EventIntake
from .events.store import EventStore
from .schedule.scheduler import DriftScheduler
from .jobstore import RETURN_GRACE, JobStore
from .keystore import KeyStore
from .maintenance.service import MaintenanceService
from .presence import PresenceTable
from .targeting import resolve
from .zap import AGENT_DOMAIN, ENROL_DOMAIN, ZapHandler

log = logging.getLogger("saline.master")

DRAIN_SECONDS = 0.02
_NOBLOCK, _MORE_NOBLOCK = int(zmq.NOBLOCK), int(zmq.SNDMORE | zmq.NOBLOCK)
# libzmq checks maxmsgsize against CURVE's MESSAGE command, 33 bytes longer than the message.
CURVE_OVERHEAD = 64


@dataclass
class Waiter:
    """A control client waiting for a job to complete (all targeted agents returned, or timeout).
    ``client`` None: an internal waiter (reactor, scheduler); ``reply`` is called for its effect."""

    client: bytes | None
    jid: str
    deadline: float
    reply: Callable[[str], ControlReply]


class Master:
    def __init__(self, cfg: MasterConfig):
        self.cfg = cfg
        self.keyset, created = load_or_create(cfg.pki_dir)
        if created:
            log.info("created master keys in %s (fingerprint %s)", cfg.pki_dir, self.keyset.public.fingerprint)
        self.signer = Signer(self.keyset.signer)  # libsodium: one signature per job and agent
        self.conn = open_db(cfg.db_path)
        self.ratelog = RateLimitedLog(log)
        self.keys = KeyStore(self.conn, cfg.max_pending, cfg.pending_per_source, ratelog=self.ratelog)
        self.jobs = JobStore(self.conn)
        self.returns = ReturnBatch(self.jobs)  # stored and acked once per batch of frames
        self.presence = PresenceTable(cfg.heartbeat_timeout)
        self.waiters: list[Waiter] = []
        self._outstanding: dict[str, int] = {}  # jid → returns still pending, for jobs someone waits for
        self.bad_frames = BadFrameLimiter(cfg.bad_frame_limit, ratelog=self.ratelog)
        self.intake = Intake(cfg, self.keys, self.bad_frames, self.ratelog)
        self.ctx = zmq.Context()
        self.zap = ZapHandler(self.ctx, self.keys)
        self.running = False
        self.events = EventStore(self.conn)
        # Work handed to the loop thread by other threads (scheduler, reactor commands).
        self._soon: queue.SimpleQueue = queue.SimpleQueue()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self.event_intake = EventIntake(self)
        self.drift = DriftScheduler(self)
        self.control_handler = ControlHandler(self)
        self.maintenance = MaintenanceService(self)

    # ---- sockets -----------------------------------------------------------------
    def _bind(self) -> None:
        # 0700 when we create it (0755 with control_group, so the group reaches the 0660 socket);
        # an existing directory keeps its mode and must not be writable by others (it is where
        # the socket could be swapped).
        ensure_dir(Path(self.cfg.control_socket).parent, 0o700 if self.cfg.control_group is None else 0o755, "control socket directory")
        # Before binding anything: a second master on the same control socket refuses.
        ctlsocket.claim(Path(self.cfg.control_socket))
        if self.cfg.control_group:
            ctlsocket.group_id(self.cfg.control_group)  # an unknown group: refuse before binding
        self.zap.start()  # must be up before the CURVE socket accepts handshakes
        s = self.agent_sock = self._curve_router(AGENT_DOMAIN, self.cfg.max_frame)
        s.router_mandatory = 1
        s.sndhwm = s.rcvhwm = 100_000
        s.bind(self.cfg.bind)
        log.info("agent socket bound on %s (CURVE, accepted keys only, key fingerprint %s)", self.cfg.bind,
                 self.keyset.public.fingerprint)
        self.enrol_sock = None
        if self.cfg.enrol_bind:
            # A frame over a hello's size ends the session before libzmq reads it.
            e = self.enrol_sock = self._curve_router(ENROL_DOMAIN, self.cfg.max_hello_frame + CURVE_OVERHEAD)
            e.bind(self.cfg.enrol_bind)
            log.info("enrolment socket (hello only, frames <= %d bytes) bound on %s", self.cfg.max_hello_frame,
                     self.cfg.enrol_bind)

        self.bootstrap_sock = None
        if self.cfg.bootstrap_bind:
            b = self.bootstrap_sock = self.ctx.socket(zmq.ROUTER)
            b.maxmsgsize = 4096
            b.linger = 0
            b.bind(self.cfg.bootstrap_bind)
            log.info("bootstrap socket (public keys only) bound on %s", self.cfg.bootstrap_bind)

        sock_path = Path(self.cfg.control_socket)
        c = self.control_sock = self.ctx.socket(zmq.ROUTER)
        c.linger = 0
        old_umask = os.umask(0o177)
        try:
            c.bind(f"ipc://{sock_path}")
        finally:
            os.umask(old_umask)
        self.control_ident = ctlsocket.identity(sock_path)
        if self.cfg.control_group:
            os.chown(sock_path, 0, ctlsocket.group_id(self.cfg.control_group))
            os.chmod(sock_path, 0o660)
        else:
            os.chmod(sock_path, 0o600)
        log.info("control socket at %s", sock_path)

    def _curve_router(self, domain: bytes, maxmsgsize: int) -> zmq.Socket:
        s = self.ctx.socket(zmq.ROUTER)
        s.curve_server = True
        s.curve_secretkey = self.keyset.curve_secret.encode()
        s.zap_domain = domain
        s.maxmsgsize = maxmsgsize
        s.linger = 0
        return s

    # ---- main loop -----------------------------------------------------------------
    def serve_forever(self) -> None:
        self._bind()
        self.running = True
        signal.signal(signal.SIGTERM, lambda *_: self.stop())
        signal.signal(signal.SIGINT, lambda *_: self.stop())
        poller = zmq.Poller()
        poller.register(self.agent_sock, zmq.POLLIN)
        poller.register(self.control_sock, zmq.POLLIN)
        for extra in (self.bootstrap_sock, self.enrol_sock):
            if extra is not None:
                poller.register(extra, zmq.POLLIN)
        poller.register(self._wake_r, zmq.POLLIN)
        self.event_intake.start()
        self.drift.start()
        if self.cfg.auto_accept:
            log.warning("auto_accept is ON: every new agent key is accepted without an operator; use it in labs only")
        warn_missing_roots(self.cfg)
        log.info("saline-master %s ready", __version__)
        try:
            while self.running:
                events = dict(poller.poll(self._poll_timeout_ms()))
                if self.agent_sock in events:
                    self._drain(self.agent_sock, self._on_agent_frames)
                    self._flush_events()
                    self._flush_returns()
                if self.control_sock in events:
                    self._drain(self.control_sock, self._on_control_frames)
                if self.bootstrap_sock is not None and self.bootstrap_sock in events:
                    self._drain(self.bootstrap_sock, self._on_bootstrap_frames)
                if self.enrol_sock is not None and self.enrol_sock in events:
                    self._drain(self.enrol_sock, self._on_enrol_frames)
                if self._wake_r in events:
                    self._run_soon()
                self._expire_waiters()
                self.ratelog.flush()
                self._maybe_prune()
                self.event_intake.tick(time.time())
                self.maintenance.tick()
        finally:
            self.close()

    def stop(self) -> None:
        self.running = False

    def _maybe_prune(self) -> None:
        now = time.monotonic()
        if now < getattr(self, "_next_prune", 0.0):
            return
        self._next_prune = now + self.cfg.retention.interval
        try:
            prune(self.conn, self.cfg.retention)
        except sqlite3.Error as exc:
            log.error("pruning old jobs and events failed: %s", exc)

    def call_soon(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the loop thread (which owns the sockets and the database). Thread-safe."""
        self._soon.put(fn)
        try:
            os.write(self._wake_w, b"x")
        except BlockingIOError:
            pass

    def _run_soon(self) -> None:
        try:
            while os.read(self._wake_r, 4096):
                pass
        except BlockingIOError:
            pass
        while True:
            try:
                fn = self._soon.get_nowait()
            except queue.Empty:
                return
            try:
                fn()
            except Exception:
                log.exception("deferred call failed; continuing")

    def close(self) -> None:
        for s in (getattr(self, "agent_sock", None), getattr(self, "control_sock", None),
                  getattr(self, "bootstrap_sock", None), getattr(self, "enrol_sock", None)):
            if s is not None:
                s.close(linger=0)
        self.event_intake.stop()
        self.drift.stop()
        self.zap.stop()
        self.ctx.term()
        self.conn.close()
        ctlsocket.release(Path(self.cfg.control_socket), getattr(self, "control_ident", None))
        log.info("saline-master stopped")

    def _poll_timeout_ms(self) -> int:
        limit = self.maintenance.poll_timeout_ms() or 1000
        if not self.waiters:
            return limit
        return max(0, min(limit, int((min(w.deadline for w in self.waiters) - time.time()) * 1000) + 1))

    def _drain(self, sock: zmq.Socket, handler) -> None:
        # Bounded in frames and in time so one busy socket cannot starve the others: the
        # control socket is served between batches of agent frames.
        until = time.perf_counter() + DRAIN_SECONDS
        for _ in range(1000):
            if time.perf_counter() > until:
                return
            try:
                frames = sock.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            try:
                handler(frames)
            except Exception:
                log.exception("unexpected error while handling a message; continuing")

    # ---- agent traffic ---------------------------------------------------------------
    def _send_agent(self, routing_id: bytes, msg) -> bool:
        return self._send_frame(routing_id, pack(msg))

    def _send_frame(self, routing_id: bytes, frame: bytes) -> bool:
        try:
            # send_multipart's enum arithmetic per part was ~2% of a 10,000-agent round.
            self.agent_sock.send(routing_id, _MORE_NOBLOCK)
            self.agent_sock.send(frame, _NOBLOCK)
            return True
        except (zmq.Again, zmq.ZMQError) as exc:  # EHOSTUNREACH with router_mandatory: peer gone
            log.debug("could not send a frame to %r: %s", routing_id, exc)
            return False

    def _flush_events(self) -> None:
        """Commit the events of this batch, then ack them (events/intake.py)."""
        for rid, seq in self.event_intake.flush():
            self._send_agent(rid, EventAck(seq=seq))

    def _on_agent_frames(self, frames: list[zmq.Frame]) -> None:
        got = self.intake.admit(frames)  # size, budget and bounded decode (master/intake.py)
        if got is None:
            return
        rid, curve_key, address, rec, msg = got.rid, got.curve_key, got.address, got.rec, got.msg
        if not isinstance(msg, Event):
            self._flush_events()  # other handlers open their own transactions
        if isinstance(msg, Hello):
            self._on_hello(rid, curve_key, address, msg)
            return
        if rec is None or not got.accepted:  # intake decodes nothing but hellos for these keys
            return
        aid = rec.agent_id
        if isinstance(msg, Heartbeat):
            self.presence.seen(aid, rid, address, version=msg.version, running=msg.running)
        elif isinstance(msg, Return):
            self.presence.seen(aid, rid, address)
            self._on_return(rid, rec, msg)
        elif isinstance(msg, Event):
            self.presence.seen(aid, rid, address)
            if not self.intake.event_allowed(aid):
                return
            try:
                self.event_intake.receive(rid, rec, msg)  # stored in this batch's transaction, acked at its end
            except ProtocolError as exc:
                self.bad_frames.bad_frame(rid, rec.agent_id, f"event refused: {exc}")
        elif isinstance(msg, Error):
            log.warning("agent %s reports %s%s: %s", aid, msg.code, f" for job {msg.jid}" if msg.jid else "", msg.message)
        else:
            # Jobs, acks and welcomes only ever flow master → agent: an agent cannot
            # publish a job to anyone (Salt's CVE-2025-22236 class).
            self.bad_frames.bad_frame(rid, aid, f"agents may not send {msg.kind} messages")

    def _on_enrol_frames(self, frames: list[zmq.Frame]) -> None:
        got = self.intake.admit(frames, enrolment=True)  # hello only, whatever the key
        if got is not None and isinstance(got.msg, Hello):
            self._on_hello(got.rid, got.curve_key, got.address, got.msg, enrolment=True)

    def _on_hello(self, rid: bytes, curve_key: str | None, address: str, hello: Hello, enrolment: bool = False) -> None:
        if not curve_key:
            self.bad_frames.bad_frame(rid, f"peer at {address}", "hello without an authenticated CURVE key")
            return
        state, message = self.keys.file_hello(hello.agent_id, curve_key, hello.sign_pub, self.cfg.auto_accept,
                                              source=address)
        rec = self.keys.by_curve(curve_key)
        welcome = Welcome(key_state=state, message=message, max_frame=self.cfg.max_frame,
                          max_event_frame=self.cfg.max_event_frame)
        if enrolment:  # the agent moves to the agent port once accepted; it is "up" there
            try:
                self.enrol_sock.send_multipart([rid, pack(welcome)], zmq.NOBLOCK)
            except zmq.ZMQError as exc:
                log.debug("could not answer an enrolling agent: %s", exc)
            return
        if state == "accepted" and rec is not None:
            self.presence.seen(rec.agent_id, rid, address, version=hello.version, facts=hello.facts).max_frame = \
                hello.max_frame
        self._send_agent(rid, welcome)

    def _on_return(self, rid: bytes, rec, msg: Return) -> None:
        try:
            body = open_return(msg, self.keys.verifier(rec), self.cfg.max_frame)
        except ProtocolError as exc:
            self.bad_frames.bad_frame(rid, rec.agent_id, f"return refused: {exc}")
            return
        if body.agent_id != rec.agent_id:
            log.warning("return refused: key of %s signed a return claiming to be from %s", rec.agent_id, body.agent_id)
            return
        status = self.returns.status(body.jid, rec.agent_id)
        if status is None:
            log.warning("return refused: job %s was never sent to %s", body.jid, rec.agent_id)
            return
        if status == "returned":
            self.returns.ack_again(rid, body.jid)  # a resent duplicate is acked again, stored once
            return
        body = checked_return(body, self.returns.job_fun(body.jid))
        self.returns.add(rid, body, was_pending=status == "pending")  # stored, then acked, in _flush_returns
        if body.success:
            log.info("return for %s from %s: ok", body.jid, rec.agent_id)
        else:  # an operator tailing the log at WARNING sees every failure
            log.warning("return for %s from %s: failed (%s): %s", body.jid, rec.agent_id, body.fun,
                        (body.error or f"retcode {body.retcode}")[:500])

    def _flush_returns(self) -> None:
        """Commit this batch's returns in one transaction, then ack them, then tell the waiters."""
        try:
            done = self.returns.flush()
        except Exception as exc:  # not acked: the agents resend them; the loop must go on (all agents hang on it)
            log.error("storing a batch of returns failed (%s); they are not acked and will be resent", exc,
                      exc_info=not isinstance(exc, sqlite3.Error))
            return
        for rid, frame in done.acks:
            self._send_frame(rid, frame)
        for jid, was_pending in done.stored:
            self._check_waiters(jid, returned=was_pending)

    # ---- publishing ---------------------------------------------------------------
    def publish(self, target: str, fun: str, args: list, kwargs_for: Callable[[str], dict], timeout: float,
                stored_kwargs: dict | None = None, agents: list[str] | None = None) -> str:
        """Resolve, record, sign one body per agent, send. Returns the jid.

        ``kwargs_for(agent_id)`` gives each agent its own kwargs (its own pillar and
        compiled states); the job store keeps ``stored_kwargs`` as the job's summary.
        """
        agents = agents if agents is not None else resolve(target, self.keys.accepted_ids())
        jid = new_jid()
        now = time.time()
        # Signed and size-checked for every agent before anything is recorded or sent.
        frames = job_frames(self.signer, jid, fun, args, kwargs_for,
                            [aid for aid in agents if self.presence.get(aid) is not None], now, timeout)
        for aid, frame in frames.items():
            check_frame(aid, len(frame), self.presence.get(aid).max_frame)
        initial = {aid: ("pending" if aid in frames else "not_connected") for aid in agents}
        self.jobs.create(jid, fun, args, stored_kwargs if stored_kwargs is not None else kwargs_for(agents[0]),
                         target, timeout, initial)
        self.returns.opened(jid, initial, now + timeout + RETURN_GRACE, fun)
        for aid, frame in frames.items():
            if not self._send_frame(self.presence.get(aid).routing_id, frame):
                self.conn.execute("UPDATE returns SET status='not_connected' WHERE jid=? AND agent_id=?", (jid, aid))
                self.returns.mark(jid, aid, "not_connected")
        log.info("published %s %s to %d agent(s)", jid, fun, len(agents))
        return jid

    # ---- waiting control clients --------------------------------------------------------
    def wait_for(self, client: bytes, jid: str, timeout: float, reply: Callable[[str], ControlReply]) -> None:
        self.waiters.append(Waiter(client, jid, time.time() + timeout, reply))
        if jid not in self._outstanding:
            self._outstanding[jid] = self.conn.execute(
                "SELECT COUNT(*) FROM returns WHERE jid=? AND status='pending'", (jid,)).fetchone()[0]
        self._check_waiters(jid)

    def when_done(self, jid: str, timeout: float, callback: Callable[[str], None]) -> None:
        self.wait_for(None, jid, timeout, callback)  # type: ignore[arg-type]

    def _answer(self, w: Waiter) -> None:
        """A waiting client always gets an answer, even when building it fails; an internal
        waiter's callback failing is logged."""
        try:
            reply = w.reply(w.jid)
        except Exception as exc:
            log.exception("could not build the reply for job %s", w.jid)
            reply = ControlReply(ok=False, code="internal", error=f"could not read job {w.jid}: {exc}")
        if w.client is not None:
            self.reply_control(w.client, reply)

    def _job_complete(self, jid: str) -> bool:
        row = self.conn.execute(
            "SELECT COUNT(*) FROM returns WHERE jid=? AND status='pending'", (jid,)
        ).fetchone()
        return row[0] == 0

    def _check_waiters(self, jid: str, returned: bool = False) -> None:
        """``returned``: a pending return of ``jid`` was just stored. The count of outstanding
        returns is kept in memory for waited jobs, so 10,000 returns cost 10,000 decrements,
        not 10,000 scans of the job's rows; the database has the last word when it hits 0."""
        if jid not in self._outstanding:
            return
        if returned:
            self._outstanding[jid] -= 1
            if self._outstanding[jid] > 0:
                return
        if not self._job_complete(jid):
            self._outstanding[jid] = max(1, self._outstanding[jid])
            return
        del self._outstanding[jid]
        for w in [w for w in self.waiters if w.jid == jid]:
            self.waiters.remove(w)
            self._answer(w)

    def _expire_waiters(self) -> None:
        now = time.time()
        for w in [w for w in self.waiters if w.deadline <= now]:
            self.waiters.remove(w)
            self._answer(w)
            if not any(x.jid == w.jid for x in self.waiters):
                self._outstanding.pop(w.jid, None)

    # ---- control and bootstrap ---------------------------------------------------------
    def reply_control(self, client: bytes, reply: ControlReply) -> None:
        try:
            raw = pack(reply.model_dump(mode="python"))
        except Exception as exc:  # stored data the CLI cannot be sent must still get an answer
            log.error("control reply could not be packed (%s: %s); answering with an error", type(exc).__name__, exc)
            raw = pack(ControlReply(ok=False, code="internal", error=f"the master could not encode the reply: {exc}")
                       .model_dump(mode="python"))
        try:
            self.control_sock.send_multipart([client, raw], zmq.NOBLOCK)
        except zmq.ZMQError as exc:
            log.debug("control client went away: %s", exc)

    def _on_control_frames(self, frames: list[zmq.Frame]) -> None:
        if len(frames) != 2:
            return
        client = frames[0].bytes
        reply = self.control_handler.handle(client, frames[1].bytes)
        if reply is not None:
            self.reply_control(client, reply)

    def _on_bootstrap_frames(self, frames: list[zmq.Frame]) -> None:
        if len(frames) != 2:
            return
        source = frames[1].get("Peer-Address") or "a local socket"
        if not self.intake.stranger_budget.allow(f"addr:{source}", len(frames[1])):
            return  # over its address's budget: dropped unread
        try:
            msg = decode_bootstrap(frames[1].bytes)
        except ProtocolError as exc:
            self.ratelog.warning(source, "bootstrap", "bad bootstrap frame from %s: %s", source, exc)
            return
        if isinstance(msg, PubkeyRequest):
            pub = self.keyset.public
            try:
                self.bootstrap_sock.send_multipart(
                    [frames[0].bytes, pack(PubkeyReply(curve_pub=pub.curve_pub, sign_pub=pub.sign_pub))], zmq.NOBLOCK
                )
            except zmq.ZMQError:
                pass
