"""The CLI's side of the control socket.

Kept light on purpose: ``saline run`` should cost little more than the round trip, so
this module imports no pydantic; the master validates every request anyway.
"""

from __future__ import annotations

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
        if not self.socket_path.exists():
            raise MasterUnavailable(f"master is not running (no control socket at {self.socket_path})")
        ctx = zmq.Context.instance()
        sock = ctx.socket(zmq.DEALER)
        sock.linger = 0
        sock.maxmsgsize = MAX_REPLY
        try:
            sock.connect(f"ipc://{self.socket_path}")
            sock.send(msgpack.packb(req, use_bin_type=True))
            if not sock.poll(int(timeout * 1000)):
                raise MasterUnavailable(f"master did not answer on {self.socket_path} within {timeout:g}s")
            try:
                reply = msgpack.unpackb(sock.recv(), raw=False, strict_map_key=False)
            except Exception as exc:
                raise MasterUnavailable(f"bad answer from master: {exc}") from None
        finally:
            sock.close()
        if not isinstance(reply, dict) or "ok" not in reply:
            raise MasterUnavailable("bad answer from master: not a control reply")
        return reply

    def request(self, req, timeout: float):
        """The typed form, for Python callers: a control request model in, a ControlReply out."""
        from saline.protocol.control import ControlReply

        return ControlReply.model_validate(self.request_raw(req.model_dump(mode="python"), timeout))
