"""ZAP handler: decides at the CURVE handshake which agent keys may connect at all.

Runs in its own thread on ``inproc://zeromq.zap.01`` (ZeroMQ's fixed ZAP endpoint) and
answers with the client's CURVE public key (z85) as the user id, which the master then
reads from every message: that key, not any field in the message, is who is talking.
"""

from __future__ import annotations

import logging
import threading

import zmq
from zmq.utils import z85

from .keystore import KeyStore

log = logging.getLogger("saline.master.zap")

ZAP_ENDPOINT = "inproc://zeromq.zap.01"
AGENT_DOMAIN = b"saline"


class ZapHandler:
    def __init__(self, ctx: zmq.Context, keys: KeyStore):
        self.keys = keys
        self.sock = ctx.socket(zmq.REP)
        self.sock.linger = 0
        self.sock.bind(ZAP_ENDPOINT)
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
        if mechanism == b"CURVE" and domain == AGENT_DOMAIN and credentials and len(credentials[0]) == 32:
            key = z85.encode(credentials[0])
            if self.keys.zap_allows(key.decode()):
                status, text, user = b"200", b"OK", key
            else:
                log.warning("refused CURVE handshake from %s: key is rejected", address.decode(errors="replace"))
        elif mechanism == b"NULL" and domain != AGENT_DOMAIN:
            status, text = b"200", b"OK"  # local control / bootstrap sockets: no auth at this layer
        self.sock.send_multipart([version, request_id, status, text, user, b""])
