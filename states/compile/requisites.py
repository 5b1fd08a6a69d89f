"""Requisite graph: which state waits for which, cycles, and the execution order.

Shared by the compiler (errors that name the SLS file) and by the compiled-run model
(a hand-made or tampered run is rejected before anything executes), so both apply
exactly the same rules.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping

# Salt's requisites (each also as KIND_in on the target). All of them order (the target
# runs before the state naming it) except ``listen`` (the listener's mod_watch runs at the
# end of the run) and ``prereq`` (the state runs *before* its target, if the target would change).
REQUISITES: tuple[str, ...] = (
    "require", "watch", "onchanges", "onfail",
    "require_any", "watch_any", "onchanges_any", "onfail_any", "onfail_all",
    "prereq", "listen",
)
ORDERING: tuple[str, ...] = tuple(k for k in REQUISITES if k not in ("prereq", "listen"))

# Salt requisites saline does not implement; naming them is a clear compile error
# rather than "unknown argument".
UNSUPPORTED_REQUISITES: frozenset[str] = frozenset({"use_in", "prereq_all"})


def ordering_edges(lists: Mapping[str, Mapping[str, Iterable[str]]]) -> dict[str, list[str]]:
    """state → the states that must run before it: its ordering requisites' targets, and
    for ``A prereq: B`` the edge B → A (A runs first)."""
    edges: dict[str, list[str]] = {node: [t for kind in ORDERING for t in kinds.get(kind, ())]
                                   for node, kinds in lists.items()}
    for node, kinds in lists.items():
        for target in kinds.get("prereq", ()):
            edges.setdefault(target, []).append(node)
    return dependencies(edges)


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
    """Salt 3008's run order: a topological order of the requisite graph where, among the
    states ready to run, the one with the smallest key goes next. A state's key is the
    smallest ``order`` of itself and of the states that depend on it, then its own order:
    so a requisite target defined after its first dependent runs right before that
    dependent, and a run without requisites keeps its written (or ``order:``) order.
    (Salt considers only the dependants of its heaviest requisite kind; saline all of them.)
    """
    check_graph(order, edges)
    graph = dependencies(edges)
    dependants: dict[str, list[str]] = {node: [] for node in order}
    for node, targets in graph.items():
        for target in targets:
            dependants[target].append(node)
    key = {node: (min([order[node], *(order[d] for d in dependants[node])]), order[node], node) for node in order}
    waiting = {node: set(graph.get(node, ())) for node in order}
    ready = [key[node] for node, targets in waiting.items() if not targets]
    heapq.heapify(ready)
    result: list[str] = []
    while ready:
        node = heapq.heappop(ready)[2]
        result.append(node)
        for dependant in dependants[node]:
            waiting[dependant].discard(node)
            if not waiting[dependant]:
                heapq.heappush(ready, key[dependant])
    return result
