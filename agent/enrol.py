"""Saying hello on the master's enrolment port until this agent's key is accepted.

The master's agent port admits accepted keys only, so that a stranger never gets a
session where a frame may be as big as a return (16 MiB). An agent whose key is not
accepted (new, pending, or no longer accepted) learns it from a refused handshake there
(ZAP status 400) or from a welcome that is not "accepted"; it then dials the enrolment
port, where only a hello fits in a frame, says hello every heartbeat until the master
answers "accepted", and goes back to the agent port.
"""

from __future__ import annotations

import time

import zmq

from saline.protocol.keys import KeySet

from .link import Link

MONITORED = (zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
             | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_AUTH)


def curve_dealer(ctx: zmq.Context, keyset: KeySet, server_pub: str, max_frame: int,
                 reconnect_min: float, reconnect_max: float) -> tuple[zmq.Socket, zmq.Socket]:
    """A CURVE client socket to the master and its monitor (handshake and disconnect events)."""
    s = ctx.socket(zmq.DEALER)
    s.curve_secretkey = keyset.curve_secret.encode()
    s.curve_publickey = keyset.curve_pub.encode()
    s.curve_serverkey = server_pub.encode()
    s.linger = 0
    s.maxmsgsize = max_frame
    s.reconnect_ivl = int(reconnect_min * 1000)
    s.reconnect_ivl_max = int(reconnect_max * 1000)
    return s, s.get_monitor_socket(MONITORED)


class Enrolment:
    """The enrolment socket while it is open (``active``); closed once the key is accepted."""

    def __init__(self, ctx: zmq.Context, endpoint: str, keyset: KeySet, server_pub: str, max_frame: int,
                 reconnect_min: float, reconnect_max: float):
        self.ctx, self.endpoint, self.keyset, self.server_pub = ctx, endpoint, keyset, server_pub
        self.max_frame, self.reconnect_min, self.reconnect_max = max_frame, reconnect_min, reconnect_max
        self.sock: zmq.Socket | None = None
        self.monitor: zmq.Socket | None = None
        # libzmq does not redial after a refused handshake (a rejected key): this does, backing off.
        self.link = Link(grace=reconnect_max + 2.0)

    @property
    def active(self) -> bool:
        return self.sock is not None

    def open(self) -> None:
        if self.sock is None:
            self.sock, self.monitor = curve_dealer(self.ctx, self.keyset, self.server_pub, self.max_frame,
                                                   self.reconnect_min, self.reconnect_max)
            self.sock.connect(self.endpoint)
            self.link = Link(grace=self.link.grace)
            self.link.lost(time.time())  # until the first handshake succeeds

    def close(self) -> None:
        for s in (self.monitor, self.sock):
            if s is not None:
                s.close(linger=0)
        self.sock = self.monitor = None

    def send(self, frame: bytes) -> None:
        if self.sock is not None:
            try:
                self.sock.send(frame, zmq.NOBLOCK)
            except zmq.Again:
                pass  # not connected yet: the next heartbeat says hello again

    def redial_if_due(self, now: float) -> bool:
        if self.sock is None or not self.link.due(now):
            return False
        try:
            self.sock.disconnect(self.endpoint)
        except zmq.ZMQError:
            pass  # the session is already gone
        self.sock.connect(self.endpoint)
        return True
