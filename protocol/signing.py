"""Signing and verifying job and return bodies (Ed25519 over the packed body bytes)."""

from __future__ import annotations

from typing import Protocol

from cryptography.exceptions import InvalidSignature

from . import merkle
from .codec import DEFAULT_MAX_FRAME, decode_model, pack
from .errors import SignatureError
from .keys import KeySet
from .messages import Event, EventBody, Job, JobBody, Return, ReturnBody


class PublicKey(Protocol):
    """``cryptography``'s Ed25519PublicKey, or libsodium's (``sodium.Verifier``)."""

    def verify(self, signature: bytes, data: bytes) -> None: ...


def sign_job(body: JobBody, keys: KeySet) -> Job:
    """A job for one agent: a tree of one leaf (the master's fan-out: master/fanout.py)."""
    raw = pack(body)
    return Job(body=raw, sig=keys.sign(merkle.signed_message(raw, [])))


def sign_return(body: ReturnBody, keys: KeySet) -> Return:
    raw = pack(body)
    return Return(body=raw, sig=keys.sign(raw))


def _verify(raw: bytes, sig: bytes, key: PublicKey, what: str) -> None:
    try:
        key.verify(sig, raw)
    except InvalidSignature:
        raise SignatureError(f"{what} signature does not verify") from None


def open_job(job: Job, key: PublicKey, max_size: int = DEFAULT_MAX_FRAME) -> JobBody:
    """Verify first, decode second: unverified bytes are never parsed into a job. The
    signature covers the root that the body's hash and its proof lead to."""
    _verify(merkle.signed_message(job.body, job.proof), job.sig, key, "job")
    return decode_model(JobBody, job.body, max_size)


def open_return(ret: Return, key: PublicKey, max_size: int = DEFAULT_MAX_FRAME) -> ReturnBody:
    _verify(ret.body, ret.sig, key, "return")
    return decode_model(ReturnBody, ret.body, max_size)


def sign_event(body: EventBody, keys: KeySet) -> Event:
    raw = pack(body)
    return Event(body=raw, sig=keys.sign(raw))


def open_event(event: Event, key: PublicKey, max_size: int = DEFAULT_MAX_FRAME) -> EventBody:
    _verify(event.body, event.sig, key, "event")
    return decode_model(EventBody, event.body, max_size)
