"""Ed25519 through libsodium (PyNaCl), for the master's hot paths.

The master verifies one signature per return and per event: at 10,000 agents that is
10,000 per ``test.ping``. libsodium does it in half the time of OpenSSL through
``cryptography`` on these machines (verify 121 vs 230 µs, sign 34 vs 74 µs). The
signatures are the same Ed25519 (RFC 8032): either library checks the other's. Agents
keep ``cryptography`` (one job at a time; it also reads the PEM key files), so they do
not pay for a second library. Where PyNaCl is not installed (a virtualenv made before it
was a dependency), ``cryptography`` does the same work, slower.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

try:
    from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair
    from nacl.exceptions import BadSignatureError, CryptoError
except ImportError:  # pragma: no cover - a virtualenv without the new dependency
    HAVE_SODIUM = False
else:
    HAVE_SODIUM = True

SIG_BYTES = 64


class Verifier:
    """An Ed25519 public key that checks signatures like ``Ed25519PublicKey.verify``
    (raises ``InvalidSignature``), so ``protocol/signing.py`` takes either."""

    __slots__ = ("public", "_fallback")

    def __init__(self, public: bytes):
        if len(public) != 32:
            raise ValueError(f"an Ed25519 public key has 32 bytes, not {len(public)}")
        self.public = bytes(public)
        self._fallback = None if HAVE_SODIUM else Ed25519PublicKey.from_public_bytes(self.public)

    def verify(self, sig: bytes, data: bytes) -> None:
        if self._fallback is not None:
            self._fallback.verify(sig, data)
            return
        if len(sig) != SIG_BYTES:
            raise InvalidSignature()
        try:
            crypto_sign_open(bytes(sig) + bytes(data), self.public)
        except (BadSignatureError, CryptoError, ValueError):
            # libsodium also refuses small-order keys and non-canonical signatures that
            # OpenSSL would take: stricter, never looser.
            raise InvalidSignature() from None


class Signer:
    """The signing half, made from the same secret as a ``cryptography`` key."""

    __slots__ = ("_secret", "_fallback")

    def __init__(self, private: Ed25519PrivateKey):
        self._fallback = None if HAVE_SODIUM else private
        if HAVE_SODIUM:
            seed = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                         serialization.NoEncryption())
            self._secret = crypto_sign_seed_keypair(seed)[1]

    def sign(self, data: bytes) -> bytes:
        if self._fallback is not None:
            return self._fallback.sign(bytes(data))
        return crypto_sign(bytes(data), self._secret)[:SIG_BYTES]
