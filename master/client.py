"""The CLI's side of the control socket.

Kept light on purpose: ``saline run`` should cost little more than the round trip, so
this module imports no pydantic; the master validates every request anyway.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import msgpack
import zmq

MAX_REPLY = 256 * 1024 * 1024


class MasterUnavailable(Exception):
    pass


class ControlClient:
    def __init__(self, socket_path: Path):
        self.socket_path = Path(socket_path)

    def request_raw(self, req: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one request (a dict with ``op``), return the master's reply as a dict."""
        self.check_listening()
        ctx = zmq.Context.instance()
        sock = ctx.socket(zmq.DEALER)
        sock.linger = 0
        sock.maxmsgsize = MAX_REPLY
        try:
            sock.connect(f"ipc://{self.socket_path}")
            sock.send(msgpack.packb(req, use_bin_type=True))
            deadline = time.monotonic() + timeout
            # Waited in slices: a master that stops meanwhile is noticed within a second.
            while not sock.poll(int(min(1.0, max(0.0, deadline - time.monotonic())) * 1000)):
                if time.monotonic() >= deadline:
                    raise MasterUnavailable(f"master did not answer on {self.socket_path} within {timeout:g}s")
                self.check_listening(stopped=True)
            try:
                reply = msgpack.unpackb(sock.recv(), raw=False, strict_map_key=False)
            except Exception as exc:
                raise MasterUnavailable(f"bad answer from master: {exc}") from None
        finally:
            sock.close()
        if not isinstance(reply, dict) or "ok" not in reply:
            raise MasterUnavailable("bad answer from master: not a control reply")
        return reply

    def check_listening(self, stopped: bool = False) -> None:
        """Fail at once, with the reason, when nobody can answer on the socket."""
        from .ctlsocket import probe

        state = probe(self.socket_path)
        what = "master stopped" if stopped else "master is not running"
        if state == "absent":
            raise MasterUnavailable(f"{what} (no control socket at {self.socket_path})")
        if state == "stale":
            raise MasterUnavailable(f"{what} (nothing listens on {self.socket_path})")
        if state == "denied":
            raise MasterUnavailable(
                f"permission denied on {self.socket_path}: run as root or join control_group "
                f"(the master config's group for the control socket)")

    def request(self, req, timeout: float):
        """The typed form, for Python callers: a control request model in, a ControlReply out."""
        from saline.protocol.control import ControlReply

        return ControlReply.model_validate(self.request_raw(req.model_dump(mode="python"), timeout))
