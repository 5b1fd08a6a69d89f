"""One state run per agent at a time.

Two state runs interleaved on one node race each other (mdadm, LVM, mkfs, DRBD), so a
second run is refused with the running job's id, as Salt refuses a second
``state.apply``; with ``queue`` it waits for the first one instead (Salt's ``queue=True``).
"""

from __future__ import annotations

import threading
import time

from .functions import FunctionError

# A state run is refused (not failed by a state): the retcode says "nothing ran".
RETCODE_BUSY = 1


class StateRunBusy(FunctionError):
    def __init__(self, agent_id: str, running_jid: str, since: float):
        ago = time.time() - since
        super().__init__(
            f"a state run is already running on {agent_id}: job {running_jid} (started {ago:.0f}s ago); "
            f"nothing was run. Wait for it (saline jobs wait {running_jid}), queue behind it (--queue) "
            f"or stop it (saline jobs kill {running_jid})",
            RETCODE_BUSY, {"running_jid": running_jid},
        )


class StateRunLock:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.holder: str | None = None
        self.since = 0.0

    def acquire(self, agent_id: str, jid: str, queue: bool, cancel: threading.Event) -> None:
        """Take the lock for job ``jid``; refuse (or, with ``queue``, wait) while another holds it."""
        with self._cond:
            if self.holder is not None and not queue:
                raise StateRunBusy(agent_id, self.holder, self.since)
            while self.holder is not None:
                if cancel.is_set():
                    raise FunctionError(f"job {jid} was stopped while it waited for job {self.holder}")
                self._cond.wait(0.1)
            self.holder, self.since = jid, time.time()

    def release(self, jid: str) -> None:
        with self._cond:
            if self.holder == jid:
                self.holder = None
                self._cond.notify_all()
