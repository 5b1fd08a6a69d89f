"""Who may say "not now" to a drift run: the rolling-maintenance lock.

Drift runs never touch a node under rolling maintenance. A check names the nodes it
holds and why ("*": all of them); each drift run asks every registered check before it
publishes anything and leaves those nodes out (the run's event says which and why).
The scheduler registers ``maintenance_lock`` (the maintenance run's lock) at start;
other subsystems may ``register`` their own.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from saline.master.interface import MasterAPI

log = logging.getLogger("saline.master.schedule")

MaintenanceCheck = Callable[["MasterAPI"], dict[str, str]]  # → {node: why it is held}
_checks: list[MaintenanceCheck] = []


def register(check: MaintenanceCheck) -> None:
    if check not in _checks:
        _checks.append(check)


def unregister(check: MaintenanceCheck) -> None:
    if check in _checks:
        _checks.remove(check)


def maintenance_lock(master: "MasterAPI") -> dict[str, str]:
    """The rolling-maintenance lock (master/maintenance/lock.py) is cluster-wide: while a
    run holds it, no drift run touches any node."""
    from saline.master.maintenance import lock

    held = lock.held(master.jobs.conn)
    return {"*": f"rolling maintenance: lock {held.describe()}"} if held else {}


def held_nodes(master: "MasterAPI") -> dict[str, str]:
    held: dict[str, str] = {}
    for check in list(_checks):
        try:
            held.update(check(master))
        except Exception as exc:  # a broken check must hold everything, not nothing
            log.exception("maintenance check failed")
            return {"*": f"the maintenance check failed ({exc}); drift runs wait"}
    return held
