"""Returns bounded at the source, so one big diff never costs the agent its connection.

A frame over the master's ``max_frame`` makes libzmq drop the session, and the spool would
resend it forever. Before a return is signed and spooled: if its frame would exceed the
master's limit, long strings in its data (diffs, command output) are cut with a note, as
Salt's ``show_changes: False`` would leave them out; if it still does not fit, it is
replaced by a small failed return that says why (the job did run: the note says how it
ended).
"""

from __future__ import annotations

from typing import Any

from saline.protocol.codec import pack
from saline.protocol.messages import ReturnBody

# Room for the Return envelope, the signature and the body's other fields.
ENVELOPE = 4096
KEEP_CHARS = 4096
STRING_LIMIT = 64 * 1024


def truncated(value: Any, limit: int, why: str = "the return must fit the master's max_frame") -> Any:
    """``value`` with every string or bytes longer than ``limit`` cut, saying so and ``why``."""
    if isinstance(value, str) and len(value) > limit:
        keep = min(KEEP_CHARS, limit)
        return value[:keep] + f"\n… [{len(value) - keep} more characters left out by the agent: {why}]"
    if isinstance(value, (bytes, bytearray)) and len(value) > limit:
        return f"[{len(value)} bytes left out by the agent: {why}]"
    if isinstance(value, dict):
        return {k: truncated(v, limit, why) for k, v in value.items()}
    if isinstance(value, list):
        return [truncated(v, limit, why) for v in value]
    return value


def bound_return(body: ReturnBody, max_frame: int) -> ReturnBody:
    """``body`` if its frame fits ``max_frame``, else a truncated or a small failed one."""
    budget = max_frame - ENVELOPE
    size = len(pack(body))
    if size <= budget:
        return body
    for limit in (STRING_LIMIT, KEEP_CHARS):
        smaller = body.model_copy(update={
            "data": truncated(body.data, limit),
            "error": truncated(body.error, limit) if body.error else body.error,
        })
        if len(pack(smaller)) <= budget:
            return smaller
    outcome = "succeeded" if body.success else f"failed ({(body.error or '')[:200]})"
    return body.model_copy(update={
        "success": False, "retcode": body.retcode or 1, "data": None,
        "error": f"the return of {size} bytes does not fit the master's limit of {max_frame} bytes "
                 f"(max_frame), even with long strings cut; the job ran and {outcome}",
    })
