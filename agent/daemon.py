"""``saline-agent``: dial out to the master, verify jobs, run them, spool and send returns."""

from __future__ import annotations

import logging
import signal
import struct
import time
from pathlib import Path

import zmq

from saline.protocol import __version__
from saline.protocol.codec import decode_message, pack
from saline.protocol.config import run_daemon
from saline.protocol.errors import KeyFileError, ProtocolError
from saline.protocol.keys import PublicBundle, load_or_create
from saline.protocol.ratelog import RateLimitedLog
from saline.protocol.messages import Ack, Error, EventAck, Heartbeat, Hello, Job, ReturnBody, Welcome
from saline.protocol.signing import sign_return

from .backoff import BackoffLog, repeated
from .config import DEFAULT_CONFIG, AgentConfig
from .enrol import Enrolment, curve_dealer
from .events import EventOutbox
from .functions import load_functions
from .link import Link
from .returnsize import bound_return
from .pinning import PinError, WrongMasterKey, check_for_changed_key, pin_first_contact, pinned_bundle
from .runner import JobRunner
from .store import AgentStore
from .verifier import JobRefused, JobVerifier

log = logging.getLogger("saline.agent")

# The master's default max_frame; masters that say otherwise in their Welcome are believed.
DEFAULT_MASTER_MAX_FRAME = 16 * 1024 * 1024
# Say that the master cannot be reached after this long without a connection.
UNREACHABLE_AFTER = 10.0

_HANDSHAKE_FAILED = {
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL,
    zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,
    zmq.EVENT_HANDSHAKE_FAILED_AUTH,
}


class Agent:
    def __init__(self, cfg: AgentConfig):
        self.cfg = cfg
        self.ctx = zmq.Context()
        self.running = True
        self.key_state = "unknown"
        self.started = time.time()
        self.keyset, created = load_or_create(cfg.pki_dir)
        if created:
            log.info("created agent keys in %s (fingerprint %s)", cfg.pki_dir, self.keyset.public.fingerprint)
        self.store = AgentStore(cfg.state_dir)
        self.outbox = EventOutbox(cfg.id, self.keyset, self.store)
        self.alerts = None
        load_functions()
        settings = {"state_root": str(cfg.state_root), "state_env": dict(cfg.state_env),
                    "reboot_command": list(cfg.reboot_command), "data_paths": list(cfg.data_paths),
                    "functions": list(cfg.functions),  # sys.list_functions shows what is allowed
                    "backup_dir": str(cfg.state_dir / "file_backup")}  # file.managed backup: minion
        self.jobs = JobRunner(cfg.id, __version__, cfg.workers, cfg.functions, settings)
        self.settings = settings
        self.link = Link(grace=cfg.reconnect_max + 2.0)
        self.master_max_frame = DEFAULT_MASTER_MAX_FRAME  # until a Welcome says otherwise
        self.backoff = BackoffLog()
        # What a (rogue) master sends is logged at most a few lines per window per kind.
        self.ratelog = RateLimitedLog(log)
        self.connected_since: float | None = None
        self.unreachable_since = time.monotonic()
        self.ever_connected = False

    # ---- master key ----------------------------------------------------------------
    def _master_bundle(self) -> PublicBundle | None:
        bundle = pinned_bundle(self.cfg.pki_dir)
        delay = self.cfg.reconnect_min
        while bundle is None and self.running:
            if not self.cfg.master_bootstrap:
                raise PinError(f"no master key at {Path(self.cfg.pki_dir) / 'master.pub'} and master_bootstrap is off")
            try:
                bundle = pin_first_contact(self.ctx, self.cfg.pki_dir, self.cfg.master_bootstrap, self.cfg.master_fingerprint)
            except WrongMasterKey as exc:  # anyone can answer on the network: never a reason to exit
                log.error("%s; retrying in %.1fs", exc, delay)
            else:
                if bundle is None:
                    log.info("master bootstrap %s not answering; retrying in %.1fs", self.cfg.master_bootstrap, delay)
            if bundle is None:
                stop_at = time.monotonic() + delay
                while self.running and time.monotonic() < stop_at:  # SIGTERM ends the wait at once
                    time.sleep(0.05)
                delay = min(delay * 2, self.cfg.reconnect_max)
        return bundle

    # ---- lifecycle ------------------------------------------------------------------
    def run(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: self.stop())
        signal.signal(signal.SIGINT, lambda *_: self.stop())
        bundle = self._master_bundle()
        if bundle is None:
            return
        self.master_bundle = bundle
        self.verifier = JobVerifier(self.cfg.id, bundle.verifier(), self.store, self.cfg.max_clock_skew, self.cfg.max_frame)
        from .fn_facts import gather_facts

        self.facts = gather_facts(self.cfg.id, __version__)
        # States see the node's facts, and the master's address so a state that changes the
        # network (bridge.present) can tell whether it would cut this agent off.
        self.settings["node"] = {**self.facts, **master_address(self.cfg.master)}
        from .node_events import agent_started, start_alerts

        self.alerts = start_alerts(self.cfg, self.outbox.emit)
        if self.cfg.md_watch_interval:
            from .md_watch import MdWatch

            self.md_watch = MdWatch(self.outbox.emit, self.cfg.md_watch_interval)
            self.md_watch.start()
        agent_started(self.outbox.emit, __version__, self.facts)
        self.sock, self.monitor = curve_dealer(self.ctx, self.keyset, bundle.curve_pub, self.cfg.max_frame,
                                               self.cfg.reconnect_min, self.cfg.reconnect_max)
        self.enrolment = Enrolment(self.ctx, self.cfg.enrol_endpoint, self.keyset, bundle.curve_pub,
                                   self.cfg.max_frame, self.cfg.reconnect_min, self.cfg.reconnect_max)
        self.sock.connect(self.cfg.master)
        log.info("saline-agent %s (%s) connecting to %s, master key %s", self.cfg.id, __version__,
                 self.cfg.master, bundle.fingerprint)
        try:
            self._loop()
        finally:
            self.close()

    def stop(self) -> None:
        """SIGTERM/SIGINT: stop taking jobs at once and wake the loop (it may be in a poll)."""
        self.running = False
        self.jobs.wake()

    def close(self) -> None:
        if self.alerts is not None:
            self.alerts.stop()
        if getattr(self, "md_watch", None) is not None:
            self.md_watch.stop()
        self.jobs.shutdown()
        if getattr(self, "enrolment", None) is not None:
            self.enrolment.close()
        for sock in (getattr(self, "monitor", None), getattr(self, "sock", None)):
            if sock is not None:
                sock.close(linger=0)
        self.ctx.term()
        self.store.close()
        self.outbox.close()
        log.info("saline-agent stopped")

    # ---- the loop ----------------------------------------------------------------------
    def _loop(self) -> None:
        poller = self.poller = zmq.Poller()
        poller.register(self.sock, zmq.POLLIN)
        poller.register(self.monitor, zmq.POLLIN)
        poller.register(self.jobs.wake_r, zmq.POLLIN)
        poller.register(self.outbox.wake_r, zmq.POLLIN)
        next_beat = next_resend = next_prune = 0.0
        while self.running:
            now = time.time()
            if now >= next_beat:
                self._beat()
                next_beat = now + self.cfg.heartbeat_interval
            if now >= next_resend:
                self._resend_spool(older_than=self.cfg.spool_resend_interval)
                next_resend = now + self.cfg.spool_resend_interval
            if now >= next_prune:
                self.store.prune_seen(self.cfg.max_clock_skew)
                next_prune = now + 300
            for body in self.jobs.expire(now):
                self._send_return(body)
            if self.enrolment.active:
                self.enrolment.redial_if_due(now)
            elif self.link.due(now):
                self._redial()
            link = self.enrolment.link if self.enrolment.active else self.link
            deadline = min(next_beat, next_resend, self.jobs.next_deadline() or next_beat,
                           link.due_at() or next_beat)
            events = dict(poller.poll(max(0, int((deadline - time.time()) * 1000)) + 1))
            if not self.running:
                break  # stopping: frames still queued are left unread (no job is marked seen)
            self._warn_if_unreachable()
            self.ratelog.flush()
            if self.monitor in events:
                self._on_monitor(self.monitor)
            if self.enrolment.active and self.enrolment.monitor in events:
                self._on_monitor(self.enrolment.monitor, enrolling=True)
            if self.enrolment.active and self.enrolment.sock in events:
                self._drain_enrolment()
            if self.jobs.wake_r in events:
                for body in self.jobs.drain_wakeups():
                    self._send_return(body)
            if self.outbox.wake_r in events:
                self.outbox.drain_wakeups()
                self._send_events(older_than=self.cfg.spool_resend_interval)
            if self.sock in events:
                self._drain_master()

    def _send(self, msg) -> None:
        try:
            self.sock.send(pack(msg), zmq.NOBLOCK)
        except zmq.Again:
            log.debug("send queue full; %s dropped (the spool resends returns)", msg.kind)

    def _beat(self) -> None:
        if self.key_state == "accepted":
            running = self.jobs.running_jids()
            self._send(Heartbeat(version=__version__, uptime=time.time() - self.started,
                                 running_jobs=len(running), running=running))
        else:
            self._hello()

    def _hello(self) -> None:
        hello = Hello(agent_id=self.cfg.id, version=__version__, sign_pub=self.keyset.public.sign_pub,
                      facts=self.facts, max_frame=self.cfg.max_frame)
        if self.enrolment.active:
            self.enrolment.send(pack(hello))
        else:
            self._send(hello)

    # ---- enrolment (agent/enrol.py) ------------------------------------------------------
    def _start_enrolment(self, why: str) -> None:
        if self.enrolment.active:
            return
        log.info("%s: saying hello on the master's enrolment port %s until the key is accepted", why,
                 self.enrolment.endpoint)
        try:
            self.sock.disconnect(self.cfg.master)
        except zmq.ZMQError:
            pass  # libzmq already ended the refused session
        self.link.reset()  # the agent port is not watched while enrolling
        self.enrolment.open()
        self.poller.register(self.enrolment.sock, zmq.POLLIN)
        self.poller.register(self.enrolment.monitor, zmq.POLLIN)

    def _end_enrolment(self) -> None:
        log.info("key accepted by the master; connecting to the agent port %s", self.cfg.master)
        self.poller.unregister(self.enrolment.sock)
        self.poller.unregister(self.enrolment.monitor)
        self.enrolment.close()
        self.key_state = "unknown"  # until the agent port's welcome
        self.sock.connect(self.cfg.master)

    def _drain_enrolment(self) -> None:
        """Only a welcome (or an error) ever comes back on the enrolment port."""
        for msg in self._received(self.enrolment.sock, "the master's enrolment port"):
            if isinstance(msg, Welcome) and msg.key_state == "accepted":
                self._end_enrolment()
                return
            elif isinstance(msg, Welcome):
                self._on_key_state(msg)
            elif isinstance(msg, Error):
                log.warning("master reports %s: %s", msg.code, msg.message)

    def _redial(self) -> None:
        log.warning("no connection to the master for a while (libzmq does not reconnect after a protocol error "
                    "such as an oversize frame); dialling %s again (next try in %.0fs)", self.cfg.master,
                    self.link.backoff)
        try:
            self.sock.disconnect(self.cfg.master)
        except zmq.ZMQError:
            pass  # the session is already gone
        self.sock.connect(self.cfg.master)

    def _on_monitor(self, monitor: zmq.Socket, enrolling: bool = False) -> None:
        while True:
            try:
                frames = monitor.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            # ZMQ_EVENT frames: uint16 event id + uint32 value, then the endpoint. Parsed here
            # rather than with zmq.utils.monitor, which pulls in asyncio.
            event = struct.unpack("=H", frames[0][:2])[0]
            if enrolling:
                self._on_enrolment_event(event)
            elif event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self.connected_since = time.monotonic()
                self.ever_connected = True
                self.backoff.clear("unreachable")
                self.backoff.clear("handshake")
                log.info("connected to master %s", self.cfg.master)
                self.link.up()
                self._hello()
                self._resend_spool(older_than=0)
            elif event == zmq.EVENT_DISCONNECTED:
                if self.enrolment.active:
                    continue  # the refused session on the agent port: enrolling now
                self.link.lost(time.time())
                if self.connected_since is not None:
                    log.warning("disconnected from master; reconnecting")
                self.connected_since = None
            elif event in _HANDSHAKE_FAILED:
                self._on_handshake_failed(event)

    def _on_enrolment_event(self, event: int) -> None:
        link = self.enrolment.link
        if event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            self.ever_connected = True
            self.backoff.clear("unreachable")
            self.backoff.clear("handshake")
            link.up()
            link.healthy()
            self._hello()
        elif event == zmq.EVENT_DISCONNECTED:
            link.lost(time.time())
        elif event in _HANDSHAKE_FAILED:
            self._on_handshake_failed(event, enrolling=True)

    def _on_handshake_failed(self, event: int, enrolling: bool = False) -> None:
        if event == zmq.EVENT_HANDSHAKE_FAILED_AUTH and not enrolling:
            # The agent port admits accepted keys only: not accepted (yet, or any more).
            self._start_enrolment("the master's agent port does not admit this key (not accepted)")
            return
        # A refused handshake is retried with backoff: log with backoff too, not per retry.
        count = self.backoff.due("handshake")
        if count is None:
            return
        if event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
            log.error("master refused this agent's key on its enrolment port (rejected on the master? see "
                      "`saline keys list`)%s", repeated(count))
            return
        problem = check_for_changed_key(self.ctx, self.master_bundle, self.cfg.master_bootstrap)
        log.error("%s%s", problem or "CURVE handshake with the master failed (is the pinned master key right?)",
                  repeated(count))

    def _warn_if_unreachable(self) -> None:
        """No connection to the master since the agent started (wrong address, master down,
        firewall). A connection lost later is the Link's business (it redials and logs)."""
        if self.ever_connected or time.monotonic() - self.unreachable_since < UNREACHABLE_AFTER:
            return
        count = self.backoff.due("unreachable")
        if count is not None:
            log.warning("cannot reach the master at %s for %.0fs; still trying (check the address, the master, "
                        "the firewall)%s", self.cfg.master, time.monotonic() - self.unreachable_since, repeated(count))

    def _received(self, sock: zmq.Socket, source: str):
        """The messages waiting on ``sock``, decoded; bad frames logged (rate-limited) and skipped."""
        while self.running:
            try:
                raw = sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            try:
                yield decode_message(raw, self.cfg.max_frame)
            except ProtocolError as exc:
                self.ratelog.warning(source, "bad-frame", "bad frame from %s: %s", source, exc)

    def _drain_master(self) -> None:
        for msg in self._received(self.sock, "master"):
            try:
                self._on_master_message(msg)
            except Exception:
                log.exception("error handling %s from master; continuing", msg.kind)

    def _on_master_message(self, msg) -> None:
        if isinstance(msg, Job):
            self._on_job(msg)
        elif isinstance(msg, Ack):
            self.store.unspool(msg.jid)
        elif isinstance(msg, EventAck):
            self.outbox.acked(msg.seq)
        elif isinstance(msg, Welcome):
            self.link.healthy()
            if msg.max_frame:
                self.master_max_frame = msg.max_frame
            if msg.max_event_frame:
                self.outbox.max_frame = msg.max_event_frame
            self._on_key_state(msg)
            if msg.key_state != "accepted":  # the key was un-accepted while this session lasted
                self._start_enrolment(f"the master says this key is {msg.key_state}")
        elif isinstance(msg, Error):
            log.warning("master reports %s: %s", msg.code, msg.message)
        else:
            log.warning("unexpected %s message from master; ignored", msg.kind)

    def _on_key_state(self, msg: Welcome) -> None:
        previous, self.key_state = self.key_state, msg.key_state
        if msg.key_state == previous:
            return
        if msg.key_state == "accepted":
            log.info("key accepted by the master")
            self._resend_spool(older_than=0)
        elif msg.key_state == "pending":
            log.warning("key is pending on the master (fingerprint %s): waiting for `saline keys accept %s`",
                        self.keyset.public.fingerprint, self.cfg.id)
        else:
            log.error("master says this key is %s: %s", msg.key_state, msg.message)

    def _on_job(self, job: Job) -> None:
        if not self.running:
            return  # stopping: not verified, so not marked seen; the master sees no return
        try:
            body = self.verifier.verify(job)
        except JobRefused as exc:
            log.warning("job refused (%s)%s: %s", exc.code, f" jid={exc.jid}" if exc.jid else "", exc.reason)
            self._send(Error(code=exc.code, message=exc.reason[:4000], jid=exc.jid))
            return
        log.info("job %s: %s", body.jid, body.fun)
        immediate = self.jobs.submit(body)
        if immediate is not None:
            self._send_return(immediate)

    def _send_return(self, body: ReturnBody) -> None:
        if body.fun == "state.apply" and not body.success:
            from .node_events import state_run_failed

            state_run_failed(self.outbox.emit, body)
        bounded = bound_return(body, self.master_max_frame)
        if bounded is not body:
            log.warning("return for %s was over the master's limit of %d bytes: %s", body.jid, self.master_max_frame,
                        "sent as a failed return" if bounded.data is None and body.data is not None
                        else "long strings cut")
        frame = pack(sign_return(bounded, self.keyset))
        self.store.spool(body.jid, frame)  # on disk before it leaves, removed on ack
        try:
            self.sock.send(frame, zmq.NOBLOCK)
        except zmq.Again:
            log.info("return %s spooled; master not reachable right now", body.jid)

    def _resend_spool(self, older_than: float) -> None:
        for jid, frame in self.store.due(older_than):
            try:
                self.sock.send(frame, zmq.NOBLOCK)
            except zmq.Again:
                return
        self._send_events(older_than)

    def _send_events(self, older_than: float) -> None:
        """Spooled events never sent, or not acked within ``older_than`` seconds, oldest first."""
        if self.key_state != "accepted":
            return  # the master drops them unread; they go once the key is accepted
        for _seq, frame in self.outbox.due(older_than):
            try:
                self.sock.send(frame, zmq.NOBLOCK)
            except zmq.Again:
                return


def master_address(endpoint: str) -> dict[str, str]:
    """``tcp://HOST:PORT`` → {"master_ip": IP}; nothing for ipc:// endpoints (same machine)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint)
    if parts.scheme != "tcp" or not parts.hostname:
        return {}
    try:
        return {"master_ip": socket.getaddrinfo(parts.hostname, None)[0][4][0]}
    except OSError:
        return {}


def main(argv: list[str] | None = None) -> None:
    """Run the saline agent in the foreground."""
    # argparse, not click: the agent is a long-running daemon and every MiB counts.
    import argparse

    parser = argparse.ArgumentParser(prog="saline-agent", description="Run the saline agent in the foreground.")
    parser.add_argument("--config", dest="config_path", help=f"YAML config (default {DEFAULT_CONFIG})")
    parser.add_argument("--id", dest="agent_id", help="agent id (overrides the config)")
    parser.add_argument("--log-level", dest="log_level", help="DEBUG, INFO, WARNING, ERROR (overrides log_level)")
    parser.add_argument("--version", "-V", action="version", version=f"saline-agent {__version__}")
    opts = parser.parse_args(argv)
    run_daemon("saline-agent", AgentConfig, opts.config_path, DEFAULT_CONFIG,
               {"id": opts.agent_id, "log_level": opts.log_level},
               lambda cfg: Agent(cfg).run(), (KeyFileError, PinError, zmq.ZMQError))
