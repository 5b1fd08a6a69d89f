"""file.exists and file.missing (Salt's names and comments): they change nothing, and fail
the state when the path is not as said, so other states can ``require`` them."""

from __future__ import annotations

from saline.states.engine.base import Plan, Refuse, StateArgs, state_function
from saline.states.engine.paths import NodePath
from saline.states.modules.file import FileFacts, file_facts


class PathArgs(StateArgs):
    name: NodePath


@state_function("file.exists", PathArgs, facts=file_facts)
def exists(args: PathArgs, facts: FileFacts) -> Plan:
    """Something (a file, directory or link, even a dangling one) is at the path."""
    if facts.kind == "missing":
        raise Refuse(f"Specified path {args.name} does not exist")
    return Plan(comment=f"Path {args.name} exists")


@state_function("file.missing", PathArgs, facts=file_facts)
def missing(args: PathArgs, facts: FileFacts) -> Plan:
    """Nothing is at the path."""
    if facts.kind != "missing":
        raise Refuse(f"Specified path {args.name} exists")
    return Plan(comment=f"Path {args.name} is missing")
