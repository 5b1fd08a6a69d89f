"""Events bounded at the source, like returns (returnsize.py).

The master refuses an event frame over its ``max_event_frame`` (64 KiB by default, told
in its welcome) and does not ack it, so the agent's spool would resend it forever. Before
an event is signed and spooled: if its frame would exceed the limit, long strings in its
data are cut with a note; if it still does not fit, its data is replaced by one field
saying why (the tag, time and sequence number stay, so the master still learns that it
happened and no gap opens in the agent's sequence).
"""

from __future__ import annotations

from saline.protocol.codec import pack
from saline.protocol.messages import EventBody

from .returnsize import truncated

# The master's default max_event_frame; a master that says otherwise in its welcome is believed.
DEFAULT_MAX_EVENT_FRAME = 64 * 1024
# Room for the Event envelope and its signature around the body.
ENVELOPE = 512
WHY = "the event must fit the master's max_event_frame"


def bound_event(body: EventBody, max_frame: int) -> EventBody:
    """``body`` if its frame fits ``max_frame``, else one with long strings cut, else one
    whose data only says why it was left out."""
    budget = max_frame - ENVELOPE
    size = len(pack(body))
    if size <= budget:
        return body
    for limit in (max(256, budget // 4), 256):
        smaller = body.model_copy(update={"data": truncated(body.data, limit, WHY)})
        if len(pack(smaller)) <= budget:
            return smaller
    return body.model_copy(update={"data": {
        "saline_error": f"the event's data ({size} bytes) was left out by the agent: {WHY} of {max_frame} bytes"}})
