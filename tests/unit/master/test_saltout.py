"""`--out salt-json` and the batch window, without a master: shapes and counting."""

from __future__ import annotations

import pytest

from saline.master.cli.batch import combined_exit_code, window_size
from saline.master.cli.saltout import salt_view

RUN = {"results": [{"id": "a", "name": "/a", "fun": "file.managed", "result": True, "changes": {"diff": "New file"},
                    "comment": "c", "duration_ms": 1.5, "sls": "web", "sls_id": "a"}],
       "summary": {"succeeded": 1, "changed": 1, "failed": 0, "total": 1, "duration_ms": 2.0}}


def ret(aid: str, status: str = "returned", success: bool = True, data=None, error=None) -> dict:
    return {"agent_id": aid, "status": status, "success": success, "data": data, "error": error}


def test_salt_view_keys_state_runs_like_salt_and_keeps_other_returns() -> None:
    job = {"fun": "state.apply", "returns": [
        ret("node1", data=RUN),
        ret("node2", success=False, error="compile failed"),
        ret("node3", status="not_connected"), ret("node4", status="no_return"), ret("node5", status="running"),
        ret("node6", data={"results": "not a list", "summary": {}}),
        ret("node7", data={"results": [{"id": 1}], "summary": {}}),
    ]}
    view = salt_view(job)
    assert view["node1"] == {"file_|-a_|-/a_|-managed": {
        "__id__": "a", "__run_num__": 0, "__sls__": "web", "changes": {"diff": "New file"}, "comment": "c",
        "duration": 1.5, "name": "/a", "result": True}}
    assert view["node2"] == "compile failed"
    assert view["node3"] == "Minion did not return. [Not connected]"
    assert view["node4"] == "Minion did not return. [No response]"
    assert view["node5"] == "Minion did not return. [Still running]"
    assert view["node6"] == {"results": "not a list", "summary": {}}  # not a run: shown as returned
    assert view["node7"][0].startswith("unreadable state run result")  # a malformed run: said, not raised
    assert salt_view({"fun": "test.ping", "returns": [ret("n", data=True)]}) == {"n": True}


@pytest.mark.parametrize("spec,total,size", [("1", 5, 1), ("3", 2, 3), ("40%", 5, 2), ("10%", 5, 1),
                                             ("100%", 7, 7), ("25%", 10, 2)])
def test_window_size_as_salts_get_bnum(spec: str, total: int, size: int) -> None:
    assert window_size(spec, total) == size


def test_batch_exit_code_is_the_jobs_code_over_every_agent() -> None:
    assert combined_exit_code([0, 0]) == 0
    assert combined_exit_code([0, 3]) == 3
    assert combined_exit_code([3, 2, 0]) == 2
    assert combined_exit_code([]) == 0
