"""The floor under saline's job round trip: one process, a CURVE ROUTER and a CURVE
DEALER over TCP on 127.0.0.1, and per round trip exactly the protocol work — pack and
sign the job, send, decode, verify, sign the return, send, decode, verify. No
database, no control socket, no threads. saline's real round trip is compared to this.
"""

from __future__ import annotations

import time

import zmq
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from saline.protocol.codec import decode_message, pack
from saline.protocol.ids import new_jid
from saline.protocol.keys import KeySet
from saline.protocol.messages import JobBody, ReturnBody
from saline.protocol.signing import open_job, open_return, sign_job, sign_return

from common import Stats, free_port


def _keyset() -> KeySet:
    pub, sec = zmq.curve_keypair()
    return KeySet(sec.decode(), pub.decode(), Ed25519PrivateKey.generate())


def signed_round_trip_floor(reps: int = 300) -> Stats:
    master, agent = _keyset(), _keyset()
    master_verify, agent_verify = master.public.verifier(), agent.public.verifier()
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.curve_server = True
    router.curve_secretkey = master.curve_secret.encode()
    dealer = ctx.socket(zmq.DEALER)
    dealer.curve_secretkey = agent.curve_secret.encode()
    dealer.curve_publickey = agent.curve_pub.encode()
    dealer.curve_serverkey = master.curve_pub.encode()
    for s in (router, dealer):
        s.linger = 0
    port = free_port()
    router.bind(f"tcp://127.0.0.1:{port}")
    dealer.connect(f"tcp://127.0.0.1:{port}")
    try:
        dealer.send(b"hello")
        if not router.poll(5000):
            raise RuntimeError("CURVE handshake did not complete")
        rid, _ = router.recv_multipart()
        samples = []
        for i in range(reps + 20):
            t0 = time.perf_counter()
            now = time.time()
            body = JobBody(jid=new_jid(), fun="test.ping", targets=["a1"], issued_at=now, not_after=now + 30, timeout=30)
            router.send_multipart([rid, pack(sign_job(body, master))])
            job = open_job(decode_message(dealer.recv()), master_verify)
            ret = ReturnBody(jid=job.jid, agent_id="a1", fun=job.fun, success=True, data=True,
                             started_at=now, finished_at=time.time())
            dealer.send(pack(sign_return(ret, agent)))
            _, frame = router.recv_multipart()
            open_return(decode_message(frame), agent_verify)
            if i >= 20:  # warm-up excluded
                samples.append(time.perf_counter() - t0)
        return Stats.of(samples)
    finally:
        router.close(0)
        dealer.close(0)
        ctx.term()


if __name__ == "__main__":
    st = signed_round_trip_floor()
    print(f"signed CURVE round trip floor: median {st.median * 1000:.3f} ms (min {st.min * 1000:.3f}, max {st.max * 1000:.3f})")
