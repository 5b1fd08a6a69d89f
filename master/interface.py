"""What the master's request handlers may use of the master: its stores and two verbs.

The control handler, the compile step (and the maintenance runner, reactor and scheduler
as they come) are written against this interface, not the ``Master`` class, so the
socket loop in ``server.py`` imports them and nothing imports the server back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Protocol

if TYPE_CHECKING:
    from saline.protocol.control import ControlReply
    from saline.protocol.keys import KeySet

    from .config import MasterConfig
    from .events.intake import EventIntake
    from .events.store import EventStore
    from .schedule.scheduler import DriftScheduler
    from .jobstore import JobStore
    from .keystore import KeyStore
    from .maintenance.service import MaintenanceService
    from .presence import PresenceTable


class MasterAPI(Protocol):
    cfg: "MasterConfig"
    keyset: "KeySet"
    keys: "KeyStore"
    jobs: "JobStore"
    presence: "PresenceTable"
    events: "EventStore"
    event_intake: "EventIntake"
    maintenance: "MaintenanceService"
    drift: "DriftScheduler"

    def publish(self, target: str, fun: str, args: list, kwargs_for: Callable[[str], dict], timeout: float,
                stored_kwargs: dict | None = None, agents: list[str] | None = None) -> str:
        """Resolve, record, sign one body per agent, send. Returns the jid."""
        ...

    def reply_control(self, client: bytes, reply: "ControlReply") -> None:
        """Answer control client ``client`` now (a handler that returned None answers later)."""
        ...

    def wait_for(self, client: bytes, jid: str, timeout: float, reply: Callable[[str], "ControlReply"]) -> None:
        """Answer control client ``client`` with ``reply(jid)`` when the job completes or times out."""
        ...

    def when_done(self, jid: str, timeout: float, callback: Callable[[str], None]) -> None:
        """Call ``callback(jid)`` on the loop thread when the job completes or times out."""
        ...

    def call_soon(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the master's loop thread (it owns the sockets and the database); thread-safe."""
        ...

    def reply_control(self, client: bytes, reply: "ControlReply") -> None:
        """Answer a control client whose request was held (``saline events --follow``)."""
        ...
