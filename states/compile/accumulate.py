"""Salt's ``file.accumulated``: text gathered from several states into one file.blockreplace.

Salt keeps accumulators at run time and the blockreplace of ``filename`` appends their text
to its ``content``. saline knows the whole run when it compiles, so it does the same here:
each file.blockreplace gets the text of the file.accumulated states for its path that it
requires (``require_in``/``watch_in`` from the accumulator, as Salt asks), or, when none is
tied to it, of every accumulator for its path; each line once per accumulator, in run order,
joined with newlines after the state's own content. An accumulator tied to no file state
fails at run time, as Salt's ("Orphaned accumulator").
"""

from __future__ import annotations

from saline.states.compile.compiled import CompiledState


def _chunks(state: CompiledState) -> list[str]:
    text = state.args.get("text")
    return [str(c) for c in (text if isinstance(text, list) else [text]) if c is not None]


def add_accumulated(states: list[CompiledState]) -> None:
    accumulators = sorted((s for s in states if s.fun == "file.accumulated"), key=lambda s: s.order)
    if not accumulators:
        return
    tied: dict[str, set[str]] = {}  # accumulator state id -> the file states that require or watch it
    for state in states:
        if state.fun.startswith("file.") and state.fun != "file.accumulated":
            for target in [*state.require, *state.watch]:
                tied.setdefault(target, set()).add(state.id)
    # (filename, accumulator name) -> its chunks, each once, and the file states tied to it
    named: dict[tuple[str, str], tuple[list[str], set[str]]] = {}
    for acc in accumulators:
        if not tied.get(acc.id):
            acc.error = acc.error or f"Orphaned accumulator {acc.name} in {acc.sls}:{acc.sls_id}"
            continue
        chunks, targets = named.setdefault((str(acc.args.get("filename")), acc.name), ([], set()))
        chunks += [c for c in _chunks(acc) if c not in chunks]
        targets |= tied[acc.id]
    for state in states:
        if state.fun != "file.blockreplace":
            continue
        mine = [(chunks, targets) for (filename, _), (chunks, targets) in named.items() if filename == state.name]
        chosen = [chunks for chunks, targets in mine if state.id in targets] or [chunks for chunks, _ in mine]
        lines = [line for chunks in chosen for line in chunks]
        if lines:
            content = state.args.get("content") or ""
            state.args["content"] = "\n".join([content, *lines] if content else lines)
