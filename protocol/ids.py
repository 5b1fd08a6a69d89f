"""Strict formats for agent ids and job ids.

Ids travel in messages and end up in the job store and in log lines, never in file
paths. The formats are still strict so a hostile id cannot smuggle separators,
globs or control characters anywhere.
"""

from __future__ import annotations

import os
import re
import time
from typing import Annotated

from pydantic import StringConstraints

from .patterns import AGENT_ID_PATTERN, JID_PATTERN

AgentId = Annotated[str, StringConstraints(pattern=AGENT_ID_PATTERN)]
Jid = Annotated[str, StringConstraints(pattern=JID_PATTERN)]

_AGENT_ID_RE = re.compile(AGENT_ID_PATTERN)
_JID_RE = re.compile(JID_PATTERN)


def new_jid(now: float | None = None) -> str:
    """Return a fresh job id, e.g. ``20261127204530123456-1f2e3d4c``."""
    now = time.time() if now is None else now
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(now)) + f"{int((now % 1) * 1_000_000):06d}"
    return f"{stamp}-{os.urandom(4).hex()}"


def is_agent_id(value: str) -> bool:
    return bool(_AGENT_ID_RE.match(value))


def is_jid(value: str) -> bool:
    return bool(_JID_RE.match(value))
