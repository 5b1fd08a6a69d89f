"""Key pairs on disk: a CURVE pair (transport encryption + authentication) and an
Ed25519 pair (signing jobs and returns), for the master and for every agent.

Secret key files are 0600 in a 0700 directory (when saline creates it); loading refuses
looser modes, and files or directories another user owns or could write, the way ssh
refuses a world-readable private key (see :mod:`safedirs`).
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import yaml
import zmq
from zmq.utils import z85
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import KeyFileError
from .safedirs import check_file, ensure_private_dir

CURVE_SECRET = "curve.key"
SIGN_SECRET = "sign.key"
PUBLIC_BUNDLE = "public.yaml"


def fingerprint(curve_pub: str, sign_pub: bytes) -> str:
    """sha256 over both public keys, shown as colon-separated hex (first 16 bytes).

    Accepting by fingerprint therefore pins the transport key and the signing key together.
    """
    digest = hashlib.sha256(z85.decode(curve_pub.encode()) + sign_pub).hexdigest()[:32]
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


@dataclass(frozen=True)
class PublicBundle:
    curve_pub: str  # z85, 40 chars
    sign_pub: bytes  # raw Ed25519, 32 bytes

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.curve_pub, self.sign_pub)

    def verifier(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(self.sign_pub)

    def to_yaml(self) -> str:
        return yaml.safe_dump({"curve_pub": self.curve_pub, "sign_pub": self.sign_pub.hex()})

    @classmethod
    def from_yaml(cls, text: str) -> "PublicBundle":
        try:
            data = yaml.safe_load(text)
            curve_pub, sign_pub = data["curve_pub"], bytes.fromhex(data["sign_pub"])
        except Exception as exc:
            raise KeyFileError(f"not a saline public key bundle: {exc}") from None
        if not isinstance(curve_pub, str) or len(curve_pub) != 40 or len(sign_pub) != 32:
            raise KeyFileError("public key bundle has keys of the wrong length")
        return cls(curve_pub, sign_pub)

    def write(self, path: Path) -> None:
        write_private(path, self.to_yaml().encode(), mode=0o644)

    @classmethod
    def read(cls, path: Path) -> "PublicBundle":
        return cls.from_yaml(Path(path).read_text())


@dataclass(frozen=True)
class KeySet:
    curve_secret: str
    curve_pub: str
    signer: Ed25519PrivateKey

    @property
    def public(self) -> PublicBundle:
        raw = self.signer.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return PublicBundle(self.curve_pub, raw)

    def sign(self, data: bytes) -> bytes:
        return self.signer.sign(data)


def write_private(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write atomically with the final mode set before any byte lands on disk."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _check_secret_mode(path: Path) -> None:
    check_file(path, "key file")
    st = path.stat()
    if stat.S_IMODE(st.st_mode) & 0o077:
        raise KeyFileError(
            f"{path} is accessible by group/others (mode {stat.S_IMODE(st.st_mode):04o}); "
            f"run: chmod 600 {path}"
        )


def load_or_create(pki_dir: Path) -> tuple[KeySet, bool]:
    """Load the key set in ``pki_dir``, creating it on first start. Returns (keys, created)."""
    pki_dir = ensure_private_dir(pki_dir)
    curve_file, sign_file = pki_dir / CURVE_SECRET, pki_dir / SIGN_SECRET
    created = False
    if not curve_file.exists() and not sign_file.exists():
        pub, sec = zmq.curve_keypair()
        write_private(curve_file, yaml.safe_dump({"public": pub.decode(), "secret": sec.decode()}).encode())
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        write_private(sign_file, pem)
        created = True
    for f in (curve_file, sign_file):
        if not f.exists():
            raise KeyFileError(f"{f} is missing but its partner exists; restore it or remove both to make new keys")
        _check_secret_mode(f)
    try:
        curve = yaml.safe_load(curve_file.read_text())
        signer = serialization.load_pem_private_key(sign_file.read_bytes(), password=None)
    except Exception as exc:
        # The library's text is long and technical: its first line, then what to do.
        raise KeyFileError(f"cannot read keys in {pki_dir}: {str(exc).splitlines()[0][:200]}; restore them from "
                           f"a backup, or move the directory away to create new keys (a master's agents, or an "
                           f"agent's master, must then accept the new key)") from None
    if not isinstance(signer, Ed25519PrivateKey):
        raise KeyFileError(f"{sign_file} is not an Ed25519 key")
    if not (isinstance(curve, dict) and all(isinstance(curve.get(k), str) for k in ("secret", "public"))):
        raise KeyFileError(f"{curve_file} is not a CURVE key pair (public: and secret:); restore it from a backup, "
                           f"or move {pki_dir} away to create new keys")
    keys = KeySet(curve["secret"], curve["public"], signer)
    keys.public.write(pki_dir / PUBLIC_BUNDLE)
    return keys, created
