"""The CLI's side of the control socket."""

from __future__ import annotations

from pathlib import Path

import zmq
from pydantic import BaseModel

from saline.protocol.codec import decode_model, pack
from saline.protocol.control import ControlReply
from saline.protocol.errors import ProtocolError


class MasterUnavailable(Exception):
    pass


class ControlClient:
    def __init__(self, socket_path: Path):
        self.socket_path = Path(socket_path)

    def request(self, req: BaseModel, timeout: float) -> ControlReply:
        if not self.socket_path.exists():
            raise MasterUnavailable(f"master is not running (no control socket at {self.socket_path})")
        ctx = zmq.Context.instance()
        sock = ctx.socket(zmq.DEALER)
        sock.linger = 0
        try:
            sock.connect(f"ipc://{self.socket_path}")
            sock.send(pack(req))
            if not sock.poll(int(timeout * 1000)):
                raise MasterUnavailable(f"master did not answer on {self.socket_path} within {timeout:g}s")
            try:
                return decode_model(ControlReply, sock.recv(), 256 * 1024 * 1024)
            except ProtocolError as exc:
                raise MasterUnavailable(f"bad answer from master: {exc}") from None
        finally:
            sock.close()
