"""The master's public keys on the agent: provisioned, or pinned on first contact.

``pki_dir/master.pub`` holds the pinned bundle. When it is missing, the agent asks the
master's bootstrap endpoint for its public keys once (trust on first use), checks them
against ``master_fingerprint`` when one is configured, and pins them. A pinned key is
never replaced by the agent: a master that later presents another key is refused.
"""

from __future__ import annotations

import logging
from pathlib import Path

import zmq

from saline.protocol.codec import decode_bootstrap, pack
from saline.protocol.errors import KeyFileError, ProtocolError
from saline.protocol.keys import PublicBundle
from saline.protocol.safedirs import check_file
from saline.protocol.messages import PubkeyReply, PubkeyRequest

log = logging.getLogger("saline.agent.pin")

PINNED = "master.pub"


class PinError(Exception):
    pass


class WrongMasterKey(PinError):
    """The bootstrap endpoint offered a key that is not ``master_fingerprint``: whoever answered
    is not our master (a rogue reply, or a stale one); the agent keeps asking."""


def fetch_master_bundle(ctx: zmq.Context, endpoint: str, timeout: float = 2.0) -> PublicBundle | None:
    """Ask the bootstrap endpoint for the master's public keys; None if it does not answer."""
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    sock.maxmsgsize = 4096
    try:
        sock.connect(endpoint)
        sock.send(pack(PubkeyRequest()))
        if not sock.poll(int(timeout * 1000)):
            return None
        msg = decode_bootstrap(sock.recv())
        if not isinstance(msg, PubkeyReply):
            return None
        return PublicBundle(msg.curve_pub, msg.sign_pub)
    except ProtocolError as exc:
        log.warning("bootstrap endpoint %s sent a bad reply: %s", endpoint, exc)
        return None
    finally:
        sock.close()


def pinned_bundle(pki_dir: Path) -> PublicBundle | None:
    path = Path(pki_dir) / PINNED
    if not path.exists():
        return None
    check_file(path, "pinned master key")  # whoever can write it chooses the master we obey
    try:
        return PublicBundle.read(path)
    except KeyFileError as exc:
        raise PinError(f"{path}: {exc}") from None


def pin_first_contact(ctx: zmq.Context, pki_dir: Path, endpoint: str, expected_fp: str | None) -> PublicBundle | None:
    """Fetch and pin the master's keys. None if the master did not answer (try again later)."""
    offered = fetch_master_bundle(ctx, endpoint)
    if offered is None:
        return None
    if expected_fp and offered.fingerprint != expected_fp.lower():
        raise WrongMasterKey(
            f"master at {endpoint} offers key {offered.fingerprint}, but master_fingerprint is {expected_fp}; refusing"
        )
    offered.write(Path(pki_dir) / PINNED)
    if expected_fp:
        log.info("pinned master key %s (matches master_fingerprint)", offered.fingerprint)
    else:
        log.warning(
            "pinned master key %s on first contact (trust on first use); set master_fingerprint or provision %s to avoid this",
            offered.fingerprint, Path(pki_dir) / PINNED,
        )
    return offered


def check_for_changed_key(ctx: zmq.Context, pinned: PublicBundle, endpoint: str) -> str | None:
    """After a failed handshake: does the master now present a different key? Returns an error text."""
    if not endpoint:
        return None
    offered = fetch_master_bundle(ctx, endpoint, timeout=1.0)
    if offered is not None and offered != pinned:
        return (
            f"MASTER KEY CHANGED: pinned {pinned.fingerprint}, master now offers {offered.fingerprint}; "
            "refusing to talk to it. If the master's keys were replaced on purpose, remove the agent's "
            f"{PINNED} (or provision the new one) and restart the agent."
        )
    return None
