"""Signing and verifying job and return bodies (Ed25519 over the packed body bytes)."""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .codec import DEFAULT_MAX_FRAME, decode_model, pack
from .errors import SignatureError
from .keys import KeySet
from .messages import Event, EventBody, Job, JobBody, Return, ReturnBody


def sign_job(body: JobBody, keys: KeySet) -> Job:
    raw = pack(body)
    return Job(body=raw, sig=keys.sign(raw))


def sign_return(body: ReturnBody, keys: KeySet) -> Return:
    raw = pack(body)
    return Return(body=raw, sig=keys.sign(raw))


def _verify(raw: bytes, sig: bytes, key: Ed25519PublicKey, what: str) -> None:
    try:
        key.verify(sig, raw)
    except InvalidSignature:
        raise SignatureError(f"{what} signature does not verify") from None


def open_job(job: Job, key: Ed25519PublicKey, max_size: int = DEFAULT_MAX_FRAME) -> JobBody:
    """Verify first, decode second: unverified bytes are never parsed into a job."""
    _verify(job.body, job.sig, key, "job")
    return decode_model(JobBody, job.body, max_size)


def open_return(ret: Return, key: Ed25519PublicKey, max_size: int = DEFAULT_MAX_FRAME) -> ReturnBody:
    _verify(ret.body, ret.sig, key, "return")
    return decode_model(ReturnBody, ret.body, max_size)


def sign_event(body: EventBody, keys: KeySet) -> Event:
    raw = pack(body)
    return Event(body=raw, sig=keys.sign(raw))


def open_event(event: Event, key: Ed25519PublicKey, max_size: int = DEFAULT_MAX_FRAME) -> EventBody:
    _verify(event.body, event.sig, key, "event")
    return decode_model(EventBody, event.body, max_size)
