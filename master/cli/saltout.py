"""``--out salt-json``: a job's returns as ``salt --out json --static`` prints them, one document
keyed by agent id: a state run's results keyed ``module_|-ID_|-name_|-function`` (with
``__id__``, ``__sls__``, ``__run_num__`` …, ``saline.states.engine.saltret``), any other
function's return as it is, an error as its message, an agent without a return as Salt's
"Minion did not return" line."""

from __future__ import annotations

from typing import Any

# Salt's words for a minion that gave no return, by saline's status of that agent.
NO_RETURN = {
    "no_return": "Minion did not return. [No response]",
    "not_connected": "Minion did not return. [Not connected]",
    "pending": "Minion did not return. [Still running]",
    "running": "Minion did not return. [Still running]",
}


def _state_run(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("results"), list) and "summary" in data


def agent_value(ret: dict[str, Any]) -> Any:
    """One agent's entry in Salt's output."""
    if ret["status"] != "returned":
        return NO_RETURN.get(ret["status"], f"Minion did not return. [{ret['status']}]")
    data = ret.get("data")
    if _state_run(data):
        from saline.states.engine.saltret import salt_keyed

        try:
            return salt_keyed(data)
        except ValueError as exc:  # a malformed return: say so, keep the other agents
            return [f"unreadable state run result: {str(exc).splitlines()[0]}"]
    if ret.get("success"):
        return data
    # Salt returns a failed function's message, a failed compile as a list of errors.
    return ret.get("error") or data


def salt_view(job: dict[str, Any]) -> dict[str, Any]:
    """``{agent_id: value}`` for every agent of the job, in the job's order."""
    return {r["agent_id"]: agent_value(r) for r in job["returns"]}
