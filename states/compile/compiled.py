"""The compiled form of a state run: what the master signs and sends in a ``state.apply`` job.

Everything in here is plain data (str/int/float/bool/None/bytes/list/dict) so it packs
with msgpack unchanged. The agent executes exactly this; it never fetches anything
from the master by path (file contents are already inlined by the compiler).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from saline.protocol.ids import AgentId

from saline.states.compile.requisites import REQUISITES, RequisiteError, check_graph, execution_order

_PLAIN_SCALARS = (str, int, float, bool, bytes, type(None))


def plain_data_problem(value: Any, where: str = "") -> str | None:
    """Where ``value`` holds something msgpack/JSON cannot carry (a YAML date, a set…), or None."""
    if isinstance(value, _PLAIN_SCALARS):
        return None
    if isinstance(value, list):
        for i, item in enumerate(value):
            problem = plain_data_problem(item, f"{where}[{i}]")
            if problem:
                return problem
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{where or 'value'} has a non-string key {key!r}"
            problem = plain_data_problem(item, f"{where}.{key}" if where else key)
            if problem:
                return problem
        return None
    return f"{where or 'value'} is a {type(value).__name__} ({value!r}); quote it in the YAML"


class CompiledState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Unique in the run. The SLS ID, or "ID (module)" when one ID holds several modules.
    id: str = Field(min_length=1)
    name: str
    fun: str = Field(pattern=r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")
    args: dict[str, Any] = Field(default_factory=dict)
    require: list[str] = Field(default_factory=list)
    watch: list[str] = Field(default_factory=list)
    onchanges: list[str] = Field(default_factory=list)
    onfail: list[str] = Field(default_factory=list)
    sls: str = ""
    # Definition order (includes first); requisites may move a state later, never earlier.
    order: int = 0

    @field_validator("args")
    @classmethod
    def _plain_args(cls, value: dict[str, Any]) -> dict[str, Any]:
        problem = plain_data_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    def requisite_targets(self) -> list[str]:
        return [t for kind in REQUISITES for t in getattr(self, kind)]


class CompiledRun(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: AgentId
    states: list[CompiledState] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> "CompiledRun":
        seen: set[str] = set()
        for state in self.states:
            if state.id in seen:
                raise ValueError(f"state id {state.id!r} appears twice in the run")
            seen.add(state.id)
        try:
            check_graph(self._orders(), self._edges())
        except RequisiteError as exc:
            raise ValueError(str(exc)) from None
        return self

    def _orders(self) -> dict[str, int]:
        return {s.id: s.order for s in self.states}

    def _edges(self) -> dict[str, list[str]]:
        return {s.id: s.requisite_targets() for s in self.states}

    def ordered(self) -> list[CompiledState]:
        """The states in execution order (definition order respecting requisites)."""
        by_id = {s.id: s for s in self.states}
        return [by_id[i] for i in execution_order(self._orders(), self._edges())]
