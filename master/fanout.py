"""Signing one job for many agents: one signature per fan-out.

Each agent still gets its own body naming only itself (``targets=[agent]``; its own
kwargs, so its own pillar and compiled states) and a random nonce. The bodies are the
leaves of a Merkle tree (protocol/merkle.py) whose root the master signs once; each
agent's frame carries its body, the signature and its proof. What is done once per
fan-out instead of once per agent: the Ed25519 signature and the pydantic validation of
the job's fields (a body differs from the next only by its target, nonce and, for
``state.apply``, its kwargs, which are validated whenever they differ). Per agent there
is one msgpack pack of the body, one hash per tree level and one pack of the frame.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Iterable

import msgpack

from saline.protocol import merkle
from saline.protocol.messages import JobBody
from saline.protocol.sodium import Signer

NONCE_BYTES = 16


def _packb(obj: Any) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def job_frames(signer: Signer, jid: str, fun: str, args: list, kwargs_for: Callable[[str], dict],
               agents: Iterable[str], issued_at: float, timeout: float) -> dict[str, bytes]:
    """Agent id → its packed, signed ``Job`` frame. ValidationError if the job is malformed."""
    bodies: dict[str, bytes] = {}
    template: dict[str, Any] | None = None
    last_kwargs: object = None
    for aid in agents:
        kwargs = kwargs_for(aid)
        if template is None or kwargs is not last_kwargs:
            # The same checks as the model makes, once per distinct kwargs (once for test.ping to all).
            template = JobBody(jid=jid, fun=fun, args=args, kwargs=kwargs, targets=[aid], issued_at=issued_at,
                               not_after=issued_at + timeout, timeout=timeout).model_dump(mode="python")
            last_kwargs = kwargs
        # JobBody's field order, as protocol.codec.pack(JobBody(...)) would write it.
        bodies[aid] = _packb({**template, "targets": [aid], "nonce": os.urandom(NONCE_BYTES)})
    if not bodies:
        return {}
    root, proofs = merkle.tree([merkle.leaf(b) for b in bodies.values()])
    sig = signer.sign(merkle.ROOT_TAG + root)
    return {aid: _packb({"body": body, "sig": sig, "kind": "job", "proof": proof})
            for (aid, body), proof in zip(bodies.items(), proofs)}
