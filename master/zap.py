"""ZAP handler: decides at the CURVE handshake which agent keys may connect at all.

Runs in its own thread on ``inproc://zeromq.zap.01`` (ZeroMQ's fixed ZAP endpoint) and
answers with the client's CURVE public key (z85) as the user id, which the master then
reads from every message: that key, not any field in the message, is who is talking.

Two CURVE sockets ask it, each with its own domain: the agent port admits *accepted*
keys only (so a stranger or a pending agent never gets a session there, where frames
may be as big as a return), and the enrolment port admits any key not rejected (frames
there are capped at a hello's size by libzmq itself).
"""

from __future__ import annotations

import logging
import threading

import zmq
from zmq.utils import z85

from saline.protocol.ratelog import RateLimitedLog

from .keystore import KeyStore

log = logging.getLogger("saline.master.zap")

ZAP_ENDPOINT = "inproc://zeromq.zap.01"
AGENT_DOMAIN = b"saline"
ENROL_DOMAIN = b"saline-enrol"


class ZapHandler:
    def __init__(self, ctx: zmq.Context, keys: KeyStore):
        self.keys = keys
        self.sock = ctx.socket(zmq.REP)
        self.sock.linger = 0
        self.sock.bind(ZAP_ENDPOINT)
        self.ratelog = RateLimitedLog(log)  # this thread's own: RateLimitedLog is not thread-safe
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="zap", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=2)

    def _loop(self) -> None:
        poller = zmq.Poller()
        poller.register(self.sock, zmq.POLLIN)
        while not self._stop.is_set():
            self.ratelog.flush()
            if not poller.poll(200):
                continue
            try:
                self._answer(self.sock.recv_multipart())
            except Exception:  # a bad ZAP request must never kill authentication
                log.exception("ZAP request failed")
        self.sock.close()

    def _answer(self, frames: list[bytes]) -> None:
        if len(frames) < 6:
            log.warning("malformed ZAP request (%d frames)", len(frames))
            return
        version, request_id, domain, address, _identity, mechanism = frames[:6]
        credentials = frames[6:]
        status, text, user = b"400", b"denied", b""
        curve_domains = (AGENT_DOMAIN, ENROL_DOMAIN)
        if mechanism == b"CURVE" and domain in curve_domains and credentials and len(credentials[0]) == 32:
            key = z85.encode(credentials[0])
            if self.keys.zap_allows(key.decode(), enrolment=domain == ENROL_DOMAIN):
                status, text, user = b"200", b"OK", key
            else:
                # Every enrolling agent is refused on the agent port once (then says hello on
                # the enrolment port): not worth a line. A rejected key is refused on both, and
                # said once per source and window however often it knocks.
                where = address.decode(errors="replace")
                if domain == ENROL_DOMAIN:
                    self.ratelog.warning(where, "rejected-key", "refused CURVE handshake from %s: key is rejected", where)
                else:
                    log.debug("refused CURVE handshake from %s on the agent port: key not accepted", where)
        elif mechanism == b"NULL" and domain not in curve_domains:
            status, text = b"200", b"OK"  # local control / bootstrap sockets: no auth at this layer
        self.sock.send_multipart([version, request_id, status, text, user, b""])
