"""The agent's end of the Pacemaker alert agent: a local datagram socket.

Who may send: the socket file is owned by the alert user (``hacluster``, the user
Pacemaker runs alerts as) with mode 0600, so only that user and root can connect; the
kernel also passes each sender's credentials (SO_PASSCRED) and anything from another
uid is dropped. What may be sent: one JSON object per datagram (at most 64 KiB); only
the known ``CRM_alert_*`` fields are kept, numbers must be numbers, text is cut and its
control characters escaped, and an unknown ``kind`` is refused, so a hostile
environment can neither crash the agent nor add fields to the event.
"""

from __future__ import annotations

import json
import logging
import os
import pwd
import re
import socket
import stat
import struct
import threading
from pathlib import Path
from typing import Any, Callable

from .pacemaker_alert import INT_FIELDS, TEXT_FIELDS

log = logging.getLogger("saline.agent.alerts")

MAX_DATAGRAM = 65536
MAX_TEXT = 512
KINDS = ("node", "fencing", "resource", "attribute")
_WORD = re.compile(r"^[a-z][a-z_]{0,31}$")
_INT = re.compile(r"^-?[0-9]{1,18}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class AlertRefused(ValueError):
    pass


def escape(text: str, limit: int = MAX_TEXT) -> str:
    """Cut to ``limit`` characters and make control characters visible (``\\x0a``): event
    text ends up in logs and on terminals."""
    cut = text[:limit]
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", cut) + ("…" if len(text) > limit else "")


def parse_alert(raw: bytes) -> tuple[str, dict[str, Any]]:
    """One datagram → (tag, data). Raises AlertRefused with a short reason."""
    try:
        fields = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise AlertRefused(f"not JSON: {exc}") from None
    if not isinstance(fields, dict):
        raise AlertRefused("not a JSON object")
    kind = fields.get("kind")
    if kind not in KINDS:
        raise AlertRefused(f"unknown alert kind {escape(str(kind), 40)!r}")
    data: dict[str, Any] = {"kind": kind}
    for name in INT_FIELDS:
        value = fields.get(name)
        if value is None or value == "":
            continue
        if not isinstance(value, str) or not _INT.match(value):
            raise AlertRefused(f"{name} is not a number: {escape(str(value), 40)!r}")
        data["crm_node_sequence" if name == "node_sequence" else name] = int(value)
    for name in TEXT_FIELDS:
        value = fields.get(name)
        if name != "kind" and isinstance(value, str) and value:
            data[name] = escape(value)
    return alert_tag(data), data


def alert_tag(data: dict[str, Any]) -> str:
    """pacemaker/resource/start, pacemaker/node/lost, pacemaker/fencing, pacemaker/attribute."""
    kind = data["kind"]
    if kind == "resource":
        task = data.get("task", "")
        return f"pacemaker/resource/{task if _WORD.match(task) else 'other'}"
    if kind == "node":
        desc = data.get("desc", "").lower()
        return f"pacemaker/node/{desc if _WORD.match(desc) else 'other'}"
    return f"pacemaker/{kind}"


def alert_uid(user: str | None) -> int | None:
    if not user:
        return None
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        log.warning("alert user %r does not exist: only root can send alerts to the agent", user)
        return None


class AlertListener:
    """A thread reading the alert socket and handing valid alerts to ``emit(tag, data)``."""

    def __init__(self, path: Path, user: str | None, emit: Callable[[str, dict], Any]):
        self.path, self.emit = Path(path), emit
        self.uid = alert_uid(user)
        self.allowed = {0} | ({self.uid} if self.uid is not None else set())
        self.refused = 0
        self.sock = self._bind()
        self._thread = threading.Thread(target=self._serve, name="alerts", daemon=True)

    def _bind(self) -> socket.socket:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        if self.path.is_symlink() or (self.path.exists() and not stat.S_ISSOCK(self.path.lstat().st_mode)):
            raise OSError(f"{self.path} exists and is not a socket; refusing to replace it")
        if self.path.exists():
            self.path.unlink()  # a stale socket of an earlier agent
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        old = os.umask(0o177)
        try:
            sock.bind(str(self.path))
        finally:
            os.umask(old)
        if self.uid is not None:
            os.chown(self.path, self.uid, -1)
        os.chmod(self.path, 0o600)
        return sock

    def start(self) -> None:
        self._thread.start()
        log.info("alert socket at %s (senders: %s)", self.path, ", ".join(str(u) for u in sorted(self.allowed)))

    def stop(self) -> None:
        self.sock.close()  # recvmsg in the thread fails and the thread ends
        try:
            self.path.unlink()
        except OSError:
            pass

    def _serve(self) -> None:
        ancillary = socket.CMSG_SPACE(struct.calcsize("3i"))
        while True:
            try:
                raw, anc, _flags, _addr = self.sock.recvmsg(MAX_DATAGRAM, ancillary)
            except OSError:
                return  # closed by stop()
            try:
                self.handle(raw, sender_uid(anc))
            except Exception:
                log.exception("alert handling failed; continuing")

    def handle(self, raw: bytes, uid: int | None) -> int | None:
        """Validate one datagram and emit it; returns the event's seq, None if refused."""
        if uid not in self.allowed:
            self._refuse(f"sender uid {uid} may not send alerts")
            return None
        try:
            tag, data = parse_alert(raw)
        except AlertRefused as exc:
            self._refuse(str(exc))
            return None
        return self.emit(tag, data)

    def _refuse(self, reason: str) -> None:
        self.refused += 1
        # Rate-bounded: the first ten, then every hundredth.
        if self.refused <= 10 or self.refused % 100 == 0:
            log.warning("alert refused (%d so far): %s", self.refused, reason)


def sender_uid(ancillary: list) -> int | None:
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS and len(payload) >= 12:
            return struct.unpack("3i", payload[:12])[1]
    return None
