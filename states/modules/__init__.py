"""State modules. Every module file in this package registers its functions on import.

A module that fails to import must not take every other module down with it: its
error is kept and reported when one of its functions is asked for.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil

log = logging.getLogger("saline.states")

_loaded = False
BROKEN: dict[str, str] = {}


def load_all() -> None:
    global _loaded
    if _loaded:
        return
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        try:
            importlib.import_module(f"{__name__}.{info.name}")
        except Exception as exc:  # a broken module is reported on use, see apply.lookup
            BROKEN[info.name] = f"{type(exc).__name__}: {exc}"
            log.error("state module %s failed to load: %s", info.name, BROKEN[info.name])
    _loaded = True
