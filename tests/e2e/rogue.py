"""Hostile peers for the security tests, built from saline's own protocol code.

* ``RogueMaster`` binds the agent port with the real master's CURVE key (as if the
  transport key had leaked, or the attacker sits where the master was), so the agent
  connects to it; it then sends jobs signed with whatever key the test chooses.
* ``rogue_agent_socket`` connects to the real master with a fresh or stolen CURVE key
  and sends whatever frames the test wants. A fresh key gets a session only on the
  enrolment port (the agent port admits accepted keys); ``enrol_and_connect`` goes the
  way a real agent does: hello there, accepted, then the agent port.
"""

from __future__ import annotations

import time
from pathlib import Path

import yaml
import zmq

from saline.protocol.codec import decode_message, pack
from saline.protocol.keys import KeySet, load_or_create
from saline.protocol.ids import new_jid
from saline.protocol.messages import Hello, JobBody
from saline.protocol.signing import sign_job


def master_curve(pki: Path) -> dict:
    return yaml.safe_load((pki / "curve.key").read_text())


class RogueMaster:
    def __init__(self, endpoint: str, master_pki: Path):
        curve = master_curve(master_pki)
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.curve_server = True
        self.sock.curve_secretkey = curve["secret"].encode()
        self.sock.linger = 0
        self.sock.bind(endpoint)
        self.agent: bytes | None = None
        self.received: list = []

    def wait_for_agent(self, timeout: float = 15) -> bytes:
        deadline = time.monotonic() + timeout
        while self.agent is None and time.monotonic() < deadline:
            self.pump(0.2)
        assert self.agent is not None, "agent never connected to the rogue master"
        return self.agent

    def pump(self, seconds: float) -> list:
        """Receive for ``seconds``; returns decoded messages (and remembers the agent)."""
        got = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if not self.sock.poll(int(left * 1000) + 1):
                break
            rid, payload = self.sock.recv_multipart()
            self.agent = rid
            got.append(decode_message(payload))
        self.received += got
        return got

    def send_raw(self, payload: bytes) -> None:
        self.sock.send_multipart([self.agent, payload])

    def send_job(self, body: JobBody, signer: KeySet) -> None:
        self.send_raw(pack(sign_job(body, signer)))

    def close(self) -> None:
        self.sock.close(linger=0)
        self.ctx.term()


def job_body(fun: str, targets: list[str], kwargs: dict | None = None, *, jid: str | None = None,
             issued: float | None = None, ttl: float = 30) -> JobBody:
    now = time.time() if issued is None else issued
    return JobBody(jid=jid or new_jid(), fun=fun, kwargs=kwargs or {}, targets=targets, issued_at=now,
                   not_after=now + ttl, timeout=10)


def rogue_agent_socket(ctx: zmq.Context, endpoint: str, master_pki: Path, keys_dir: Path) -> tuple[zmq.Socket, KeySet]:
    """A DEALER that completes the CURVE handshake with ``keys_dir``'s key (made if missing)."""
    keys, _ = load_or_create(keys_dir)
    curve = master_curve(master_pki)
    s = ctx.socket(zmq.DEALER)
    s.curve_secretkey = keys.curve_secret.encode()
    s.curve_publickey = keys.curve_pub.encode()
    s.curve_serverkey = curve["public"].encode()
    s.linger = 0
    s.connect(endpoint)
    return s, keys


def hello(agent_id: str, keys: KeySet) -> bytes:
    return pack(Hello(agent_id=agent_id, version="rogue", sign_pub=keys.public.sign_pub))


def empty_maps_frame(size: int) -> bytes:
    """The costliest msgpack per byte that passes msgpack's per-container limits: an array
    of arrays of empty maps (one Python dict per byte when decoded)."""
    inner_len = 159
    inner = b"\xdc" + inner_len.to_bytes(2, "big") + b"\x80" * inner_len
    count = min(100_000, size // len(inner))
    return b"\xdd" + count.to_bytes(4, "big") + inner * count


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


class RogueAgent:
    """An accepted-looking agent that answers jobs with whatever return the test wants."""

    def __init__(self, ctx: zmq.Context, d, keys_dir: Path, agent_id: str):
        self.sock, self.keys = enrol_and_connect(ctx, d, keys_dir, agent_id)
        self.agent_id = agent_id
        self.master_verify = load_or_create(d.master_dir / "pki")[0].public.verifier()

    def next_job(self, timeout: float = 15):
        from saline.protocol.messages import Job
        from saline.protocol.signing import open_job

        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if self.sock.poll(int(left * 1000) + 1):
                msg = decode_message(self.sock.recv())
                if isinstance(msg, Job):
                    return open_job(msg, self.master_verify)
        raise AssertionError(f"{self.agent_id}: no job within {timeout}s")

    def send_return_bytes(self, body_bytes: bytes) -> None:
        from saline.protocol.messages import Return

        self.sock.send(pack(Return(body=body_bytes, sig=self.keys.sign(body_bytes))))

    def close(self) -> None:
        self.sock.close(linger=0)


def enrol_and_connect(ctx: zmq.Context, d, keys_dir: Path, agent_id: str, hello_frame: bytes | None = None
                      ) -> tuple[zmq.Socket, KeySet]:
    """Hello on the enrolment port until pending, ``saline keys accept``, then a socket on
    the agent port whose hello (``hello_frame``, or a plain one) makes the key "up"."""
    enrol, keys = rogue_agent_socket(ctx, d.enrol, d.master_dir / "pki", keys_dir)
    frame = hello_frame or hello(agent_id, keys)
    try:
        enrol.send(frame)
        d.wait_agent_state(agent_id, "pending")
        assert d.cli("keys", "accept", agent_id).returncode == 0
    finally:
        enrol.close(linger=0)
    s, _ = rogue_agent_socket(ctx, f"tcp://127.0.0.1:{d.port}", d.master_dir / "pki", keys_dir)
    s.send(frame)
    d.wait_agent_state(agent_id, "up")
    return s, keys
