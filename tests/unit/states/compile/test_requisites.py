"""The requisite graph: execution order, cycles, missing targets; the CompiledRun boundary."""

from __future__ import annotations

import datetime

import msgpack
import pytest
from pydantic import ValidationError

from saline.states.compile.compiled import CompiledRun, CompiledState, plain_data_problem
from saline.states.compile.requisites import RequisiteError, check_graph, execution_order, find_cycle


def test_order_is_definition_order_without_requisites() -> None:
    order = {"c": 2, "a": 0, "b": 1}
    assert execution_order(order, {}) == ["a", "b", "c"]


def test_a_target_runs_just_before_its_first_dependent_as_in_salt() -> None:
    # Salt 3008: a target defined after its dependent runs right before it (not after "other").
    order = {"svc": 0, "other": 1, "conf": 2, "last": 3}
    assert execution_order(order, {"svc": ["conf"]}) == ["conf", "svc", "other", "last"]


def test_chain_of_requisites_orders_transitively() -> None:
    order = {"a": 0, "b": 1, "c": 2}
    assert execution_order(order, {"a": ["b"], "b": ["c"]}) == ["c", "b", "a"]


def test_cycle_is_found_with_its_path() -> None:
    cycle = find_cycle({"a": ["b"], "b": ["c"], "c": ["a"], "d": []})
    assert cycle is not None and cycle[0] == cycle[-1] and set(cycle) == {"a", "b", "c"}
    with pytest.raises(RequisiteError, match="recursive requisite found: .* -> "):
        execution_order({"a": 0, "b": 1, "c": 2, "d": 3}, {"a": ["b"], "b": ["c"], "c": ["a"]})


def test_self_requisite_is_a_cycle() -> None:
    assert find_cycle({"a": ["a"]}) == ["a", "a"]


def test_long_chain_does_not_recurse() -> None:
    n = 5000
    edges = {f"s{i}": [f"s{i + 1}"] for i in range(n - 1)}
    order = {f"s{i}": i for i in range(n)}
    assert find_cycle(edges) is None
    assert execution_order(order, edges)[0] == f"s{n - 1}"


def test_missing_target_is_named() -> None:
    with pytest.raises(RequisiteError, match="'a' has a requisite on 'ghost'"):
        check_graph({"a": 0}, {"a": ["ghost"]})


def _state(sid: str, order: int, **reqs) -> CompiledState:
    return CompiledState(id=sid, name=sid, fun="etest.file", args={"name": sid, "contents": ""}, order=order, **reqs)


def test_compiled_run_rejects_cycles_missing_targets_and_duplicate_ids() -> None:
    with pytest.raises(ValidationError, match="recursive requisite"):
        CompiledRun(agent_id="n1", states=[_state("a", 0, require=["b"]), _state("b", 1, watch=["a"])])
    with pytest.raises(ValidationError, match="not in the run"):
        CompiledRun(agent_id="n1", states=[_state("a", 0, onfail=["nope"])])
    with pytest.raises(ValidationError, match="appears twice"):
        CompiledRun(agent_id="n1", states=[_state("a", 0), _state("a", 1)])


def test_compiled_run_rejects_bad_agent_id_and_non_plain_args() -> None:
    with pytest.raises(ValidationError):
        CompiledRun(agent_id="../etc", states=[])
    with pytest.raises(ValidationError, match="date"):
        CompiledState(id="a", name="a", fun="x.y", args={"when": datetime.date(2024, 1, 1)})


def test_compiled_run_roundtrips_through_msgpack() -> None:
    run = CompiledRun(agent_id="n1", states=[_state("a", 0), _state("b", 1, require=["a"], onchanges=["a"])])
    packed = msgpack.packb(run.model_dump(mode="python"), use_bin_type=True)
    again = CompiledRun.model_validate(msgpack.unpackb(packed, raw=False))
    assert again == run
    assert [s.id for s in again.ordered()] == ["a", "b"]


def test_plain_data_problem_names_the_key() -> None:
    assert plain_data_problem({"a": [1, "x", {"b": b"\x00", "c": None}]}) is None
    assert "a[1]" in plain_data_problem({"a": [1, {2, 3}]})
    assert "non-string key" in plain_data_problem({"a": {1: "x"}})
