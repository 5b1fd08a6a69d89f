"""What ``clean: true`` keeps: the paths of the ``file`` states the cleaning state requires.

Salt's file.directory / file.recurse read the run's lowstate on the minion to find them;
saline resolves them here, once the requisites are known, and passes them as the state's
``keep`` argument (a ``require_in`` from the file state counts, as in Salt). A required
``file.recurse`` keeps the files it manages, any other ``file`` state its path (the node
keeps everything below it when that path is a directory).
"""

from __future__ import annotations

from saline.states.compile.compiled import CompiledState

CLEANERS = ("file.directory", "file.recurse")


def _paths(state: CompiledState) -> list[str]:
    if state.fun == "file.recurse":
        top = state.name.rstrip("/")
        return [f"{top}/{rel}" for rel in [*(state.args.get("files") or {}), *(state.args.get("binary_files") or {})]] + \
               [f"{top}/{rel}" for rel in (state.args.get("dirs") or [])]
    return [state.name]


def add_clean_keep(states: list[CompiledState]) -> None:
    by_id = {s.id: s for s in states}
    for state in states:
        if state.fun not in CLEANERS or state.args.get("clean") is not True:
            continue
        required = [by_id[i] for i in state.require if by_id[i].fun.startswith("file.")]
        keep = [p for other in required for p in _paths(other)]
        if keep:
            state.args["keep"] = sorted(set(keep) | set(state.args.get("keep") or []))
