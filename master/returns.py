"""Checking a return's data on receipt, so what is stored can always be shown.

The signature says who sent a return, not that its data makes sense: a compromised or
buggy agent can sign anything. The frame's shape is already bounded (object count,
depth, string size); here a function whose data has a known shape is validated against
it, and a return that does not fit is stored as a failed return that says why, without
the data, so ``saline apply`` and ``saline jobs show`` never meet it.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from pydantic import ValidationError

from saline.protocol.codec import describe_validation_error
from saline.protocol.messages import ReturnBody


def _state_apply(data: Any) -> None:
    from saline.states.engine.run import RunResult

    RunResult.model_validate(data)


# Function → validator of its ``data`` (raises ValueError/ValidationError). Failed
# returns may carry no data (the error says what went wrong).
SHAPES: dict[str, Callable[[Any], None]] = {"state.apply": _state_apply}


# SQLite's INTEGER: msgpack carries up to 2**64-1, and one retcode past this raised
# OverflowError in the batch's executemany, which ended the master's loop.
INT64 = (-(2**63), 2**63 - 1)


def _unstorable(body: ReturnBody) -> str | None:
    if not INT64[0] <= body.retcode <= INT64[1]:
        return f"retcode {body.retcode} is not a 64-bit integer"
    if not (math.isfinite(body.started_at) and math.isfinite(body.finished_at)):
        return "started_at/finished_at are not finite numbers"
    return None


def checked(body: ReturnBody, job_fun: str | None = None) -> ReturnBody:
    """``job_fun``: the function the job runs; the return is checked as that function's (an
    agent answering a state.apply with ``fun: test.ping`` skipped the state run's check)."""
    bad = _unstorable(body)
    if bad is None and job_fun is not None and body.fun != job_fun:
        bad = f"it names function {body.fun}"
    if bad is not None:
        fun = job_fun or body.fun
        return body.model_copy(update={"fun": fun, "success": False, "retcode": 1, "data": None, "started_at": 0.0,
                                       "finished_at": 0.0,
                                       "error": f"malformed {fun} return refused by the master: {bad}"})
    validate = SHAPES.get(body.fun)
    if validate is None or body.data is None:
        return body
    try:
        validate(body.data)
    except ValidationError as exc:
        reason = describe_validation_error(exc)
    except (ValueError, TypeError, RecursionError) as exc:
        reason = str(exc)[:500]
    else:
        return body
    return body.model_copy(update={
        "success": False, "retcode": body.retcode or 1, "data": None,
        "error": f"malformed {body.fun} return refused by the master: {reason}",
    })
