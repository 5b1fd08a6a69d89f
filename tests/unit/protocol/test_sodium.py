"""libsodium Ed25519 (the master's hot path) against cryptography's (the agents' and the key files')."""

import pytest
from cryptography.exceptions import InvalidSignature

from saline.protocol import merkle
from saline.protocol.keys import load_or_create
from saline.protocol.messages import Job
from saline.protocol.signing import open_job
from saline.protocol.sodium import Signer, Verifier


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return load_or_create(tmp_path_factory.mktemp("pki"))[0]


def test_same_signatures_as_cryptography_and_each_checks_the_other(keys):
    data = b"a job body"
    sig = Signer(keys.signer).sign(data)
    assert sig == keys.sign(data)  # Ed25519 is deterministic: the same key signs the same bytes
    Verifier(keys.public.sign_pub).verify(keys.sign(data), data)
    keys.public.verifier().verify(sig, data)


@pytest.mark.parametrize("tamper", ["data", "sig", "short_sig"])
def test_a_bad_signature_raises_invalid_signature(keys, tamper):
    data = b"a return body"
    sig = keys.sign(data)
    if tamper == "data":
        data = b"a return bodY"
    elif tamper == "sig":
        sig = bytes([sig[0] ^ 1]) + sig[1:]
    else:
        sig = sig[:63]
    with pytest.raises(InvalidSignature):
        Verifier(keys.public.sign_pub).verify(sig, data)


def test_another_key_does_not_verify(keys, tmp_path):
    other = load_or_create(tmp_path)[0]
    with pytest.raises(InvalidSignature):
        Verifier(other.public.sign_pub).verify(keys.sign(b"x"), b"x")


def test_wrong_key_length_is_refused():
    with pytest.raises(ValueError, match="32 bytes"):
        Verifier(b"\x01" * 31)


def test_signing_open_job_accepts_a_sodium_verifier(keys):
    from saline.protocol.codec import pack
    import time

    from saline.protocol.messages import JobBody
    from saline.protocol.ids import new_jid

    now = time.time()
    raw = pack(JobBody(jid=new_jid(), fun="test.ping", targets=["n1"], issued_at=now, not_after=now + 5, timeout=5))
    job = Job(body=raw, sig=Signer(keys.signer).sign(merkle.signed_message(raw, [])))
    assert open_job(job, Verifier(keys.public.sign_pub)).targets == ["n1"]


def test_without_pynacl_cryptography_does_the_same(keys, monkeypatch):
    """A virtualenv made before PyNaCl was a dependency still runs, on cryptography."""
    from saline.protocol import sodium

    monkeypatch.setattr(sodium, "HAVE_SODIUM", False)
    sig = Signer(keys.signer).sign(b"x")
    assert sig == keys.sign(b"x")
    Verifier(keys.public.sign_pub).verify(sig, b"x")
    with pytest.raises(InvalidSignature):
        Verifier(keys.public.sign_pub).verify(sig, b"y")
