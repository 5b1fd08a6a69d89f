"""The compiled form of a state run: what the master signs and sends in a ``state.apply`` job.

Everything in here is plain data (str/int/float/bool/None/bytes/list/dict) so it packs
with msgpack unchanged. The agent executes exactly this; it never fetches anything
from the master by path (file contents are already inlined by the compiler).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from saline.protocol.ids import AgentId

from saline.states.compile.requisites import REQUISITES, RequisiteError, check_graph, execution_order, ordering_edges

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
    require_any: list[str] = Field(default_factory=list)
    watch_any: list[str] = Field(default_factory=list)
    onchanges_any: list[str] = Field(default_factory=list)
    onfail_any: list[str] = Field(default_factory=list)
    onfail_all: list[str] = Field(default_factory=list)
    prereq: list[str] = Field(default_factory=list)
    listen: list[str] = Field(default_factory=list)
    sls: str = ""
    sls_id: str = ""  # the ID as written in the SLS (several states share one with several modules or names)
    # Salt's order: definition order (includes first), or the state's ``order:`` (first/last/N).
    order: int = 0
    failhard: bool = False  # a failure stops the run (Salt's failhard)
    # A runtime error found while compiling (unknown function, missing source file): as in
    # Salt, this state fails (and its dependants), the rest of the run applies.
    error: str | None = None

    @field_validator("args")
    @classmethod
    def _plain_args(cls, value: dict[str, Any]) -> dict[str, Any]:
        problem = plain_data_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    def requisites(self) -> dict[str, list[str]]:
        return {kind: getattr(self, kind) for kind in REQUISITES}


class CompiledRun(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: AgentId
    states: list[CompiledState] = Field(default_factory=list)
    failhard: bool = False  # every state's failure stops the run

    @model_validator(mode="after")
    def _consistent(self) -> "CompiledRun":
        seen: set[str] = set()
        for state in self.states:
            if state.id in seen:
                raise ValueError(f"state id {state.id!r} appears twice in the run")
            seen.add(state.id)
        for state in self.states:
            for kind, targets in state.requisites().items():
                missing = [t for t in targets if t not in seen]
                if missing:
                    raise ValueError(f"state {state.id!r} has a {kind} on {missing[0]!r}, which is not in the run")
        try:
            check_graph(self._orders(), self._edges())
        except RequisiteError as exc:
            raise ValueError(str(exc)) from None
        return self

    def _orders(self) -> dict[str, int]:
        return {s.id: s.order for s in self.states}

    def _edges(self) -> dict[str, list[str]]:
        return ordering_edges({s.id: s.requisites() for s in self.states})

    def ordered(self) -> list[CompiledState]:
        """The states in execution order (definition order respecting requisites)."""
        by_id = {s.id: s for s in self.states}
        return [by_id[i] for i in execution_order(self._orders(), self._edges())]
