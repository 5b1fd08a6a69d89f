"""A job never goes out bigger than the agent accepts.

An agent's libzmq drops the session on a frame over its ``max_frame`` (and, before the
agent learned to redial, never reconnected). Agents say their limit in their hello; the
master checks each agent's compiled run when compiling (the error names the state, its
SLS file and the size) and every signed job frame before it publishes anything.
"""

from __future__ import annotations

from typing import Any

# AgentConfig's default, for agents that did not say (older hellos).
AGENT_DEFAULT_MAX_FRAME = 64 * 1024 * 1024
# Room for the job envelope, signature, jid, targets and timestamps around the kwargs.
ENVELOPE = 4096


class JobTooLarge(Exception):
    """Nothing was published: the job is over an agent's frame limit."""


def mib(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB"


def _size(value: Any) -> int:
    if isinstance(value, (str, bytes)):
        return len(value)
    if isinstance(value, dict):
        return sum(len(str(k)) + _size(v) for k, v in value.items())
    if isinstance(value, list):
        return sum(_size(v) for v in value)
    return 8


def compiled_too_large(agent_id: str, run: dict[str, Any], packed_size: int, limit: int | None) -> str | None:
    """The compile error for a run that would not fit ``agent_id``'s frame limit, naming the biggest state."""
    limit = limit or AGENT_DEFAULT_MAX_FRAME
    if packed_size + ENVELOPE <= limit:
        return None
    states = run.get("states") or []
    biggest = max(states, key=lambda s: _size(s.get("args")), default=None)
    what = ""
    if biggest is not None:
        sls = biggest.get("sls") or "?"
        what = (f"; the biggest state is {biggest.get('id')!r} ({biggest.get('fun')} in {sls}.sls) with "
                f"{mib(_size(biggest.get('args')))} of arguments (file contents are inlined)")
    return (f"the job for {agent_id} would be {mib(packed_size)}, over the agent's limit of {mib(limit)} "
            f"(max_frame in its agent.yaml){what}")


def check_frame(agent_id: str, frame_len: int, limit: int | None) -> None:
    limit = limit or AGENT_DEFAULT_MAX_FRAME
    if frame_len > limit:
        raise JobTooLarge(f"the job for {agent_id} is {mib(frame_len)}, over the agent's limit of {mib(limit)} "
                          "(max_frame in its agent.yaml); nothing was published")
