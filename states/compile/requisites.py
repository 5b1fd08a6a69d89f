"""Requisite graph: which state waits for which, cycles, and the execution order.

Shared by the compiler (errors that name the SLS file) and by the compiled-run model
(a hand-made or tampered run is rejected before anything executes), so both apply
exactly the same rules.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping

# Salt's requisites that saline implements. Every one of them also orders: the
# target runs before the state that names it.
REQUISITES: tuple[str, ...] = ("require", "watch", "onchanges", "onfail")

# Salt requisites saline deliberately does not implement; naming them is a clear
# compile error rather than "unknown argument".
UNSUPPORTED_REQUISITES: frozenset[str] = frozenset(
    {
        "prereq", "prereq_in", "listen", "listen_in", "use", "use_in",
        "require_any", "watch_any", "onchanges_any", "onfail_any", "onfail_all",
    }
)


class RequisiteError(ValueError):
    pass


def dependencies(edges: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    return {node: list(dict.fromkeys(targets)) for node, targets in edges.items()}


def find_cycle(edges: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A cycle as a path ``[a, b, ..., a]`` (state → target), or None."""
    graph = dependencies(edges)
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(graph, WHITE)
    for start in graph:
        if colour[start] != WHITE:
            continue
        # Iterative DFS so a long chain of requisites cannot hit the recursion limit.
        path: list[str] = [start]
        stack = [iter(graph[start])]
        colour[start] = GREY
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                colour[path.pop()] = BLACK
                stack.pop()
                continue
            if nxt not in colour:
                continue  # missing targets are reported by check_targets
            if colour[nxt] == GREY:
                return path[path.index(nxt):] + [nxt]
            if colour[nxt] == WHITE:
                colour[nxt] = GREY
                path.append(nxt)
                stack.append(iter(graph[nxt]))
    return None


def check_graph(order: Mapping[str, int], edges: Mapping[str, Iterable[str]]) -> None:
    """Raise RequisiteError for a missing target or a cycle."""
    for node, targets in edges.items():
        for target in targets:
            if target not in order:
                raise RequisiteError(f"state {node!r} has a requisite on {target!r}, which is not in the run")
    cycle = find_cycle(edges)
    if cycle:
        raise RequisiteError("recursive requisite found: " + " -> ".join(cycle))


def execution_order(order: Mapping[str, int], edges: Mapping[str, Iterable[str]]) -> list[str]:
    """Definition order, except that every target runs before the states naming it.

    Kahn's algorithm with the definition index as priority: among the states whose
    requisites are all placed, the one defined first goes next, so a run without
    requisites keeps the order it was written in.
    """
    check_graph(order, edges)
    graph = dependencies(edges)
    waiting = {node: set(graph.get(node, ())) for node in order}
    dependants: dict[str, list[str]] = {node: [] for node in order}
    for node, targets in waiting.items():
        for target in targets:
            dependants[target].append(node)
    ready = [(order[node], node) for node, targets in waiting.items() if not targets]
    heapq.heapify(ready)
    result: list[str] = []
    while ready:
        _, node = heapq.heappop(ready)
        result.append(node)
        for dependant in dependants[node]:
            waiting[dependant].discard(node)
            if not waiting[dependant]:
                heapq.heappush(ready, (order[dependant], dependant))
    return result
