"""file.blockreplace (Salt's names, arguments and return): a block of text between two marker
lines, the edit itself in :mod:`saline.states.system.blockedit`; and file.accumulated, whose
text the compiler adds to the blockreplace's content (:mod:`saline.states.compile.accumulate`).

As Salt: the file must exist; the old file is kept next to it as ``NAME.bak`` (``backup``: a
suffix, or false for none) when the block changes; ``changes`` is ``{"diff": …}`` (a diff
without file names, as Salt's) or ``{"diff": true}`` with ``show_changes: false``.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from saline.states.engine.base import Facts, Plan, Refuse, StateArgs, WriteFileStep, state_function
from saline.states.engine.paths import NodePath
from saline.states.engine.textdiff import decode_text
from saline.states.modules.file import Backup, FileFacts, backup_steps, file_facts
from saline.states.system.blockedit import replace_block
from saline.states.system.lineedit import EditError, check_regex


def _no_source(value: object) -> object:
    if value is not None:
        raise ValueError("file.blockreplace takes its text in content (saline does not inline a source here); "
                         "read a file into it with {% import_text 'path' as text %} and content: {{ text | yaml_encode }}")
    return value


class BlockReplaceArgs(StateArgs):
    name: NodePath
    marker_start: str = Field(default="#-- start managed zone --", min_length=1)
    marker_end: str = Field(default="#-- end managed zone --", min_length=1)
    content: str = ""
    append_if_not_found: bool = False
    prepend_if_not_found: bool = False
    insert_before_match: Annotated[str | None, AfterValidator(check_regex)] = None
    insert_after_match: Annotated[str | None, AfterValidator(check_regex)] = None
    backup: Backup = ".bak"
    show_changes: bool = True
    append_newline: bool | None = None
    source: Annotated[str | list | None, AfterValidator(_no_source)] = None

    @model_validator(mode="after")
    def _one_place(self) -> "BlockReplaceArgs":
        given = [self.append_if_not_found, self.prepend_if_not_found, bool(self.insert_before_match),
                 bool(self.insert_after_match)]
        if sum(given) > 1:
            raise ValueError("Only one of append_if_not_found, prepend_if_not_found, insert_before_match, "
                             "and insert_after_match is permitted")
        if any("\n" in m or "\r" in m for m in (self.marker_start, self.marker_end)):
            raise ValueError("marker_start and marker_end must be single lines")
        return self

    def where(self) -> tuple[str | None, str | None]:
        if self.append_if_not_found:
            return "append", None
        if self.prepend_if_not_found:
            return "prepend", None
        if self.insert_before_match:
            return "before", self.insert_before_match
        if self.insert_after_match:
            return "after", self.insert_after_match
        return None, None


def salt_diff(old: str, new: str) -> str:
    """Salt's ``stringutils.get_diff``: a unified diff of the lines, without file names."""
    return "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True)))


@state_function("file.blockreplace", BlockReplaceArgs, facts=file_facts)
def blockreplace(args: BlockReplaceArgs, facts: FileFacts) -> Plan:
    """The text between ``marker_start`` and ``marker_end`` lines is ``content``."""
    if facts.kind == "missing":
        raise Refuse(f"{args.name}: file not found")
    if facts.kind != "file":
        raise Refuse(f"{args.name} is a {facts.kind}, not a regular file")
    try:
        old = decode_text(facts.content or b"", args.name)
    except ValueError as exc:
        raise Refuse(f"Cannot perform string replacements on a binary file: {exc}") from None
    where, match = args.where()
    try:
        new = replace_block(old, args.marker_start, args.marker_end, args.content, where=where, match=match,  # type: ignore[arg-type]
                            append_newline=args.append_newline)
    except (EditError, re.error) as exc:
        raise Refuse(str(exc)) from None
    diff = salt_diff(old, new)
    if not diff:
        return Plan(comment="No changes needed to be made")
    steps = backup_steps(facts, args.backup)
    steps.append(WriteFileStep(description=f"Edit the marked block in {args.name}", path=args.name,
                               content=new.encode()))
    return Plan(steps=steps, changes={"diff": diff if args.show_changes else True})


class AccumulatedArgs(StateArgs):
    name: str = Field(min_length=1)  # the accumulator's name
    filename: NodePath
    text: str | list[str]


class NoFacts(Facts):
    pass


@state_function("file.accumulated", AccumulatedArgs, facts=lambda args, ctx: NoFacts())
def accumulated(args: AccumulatedArgs, facts: NoFacts) -> Plan:
    """Text for the file.blockreplace of ``filename`` that requires it (added when compiling)."""
    return Plan(comment=f"Accumulator {args.name} for file {args.filename} was charged by text")
