"""file.append, file.replace and file.symlink (Salt's names and arguments).

They build on file.managed's facts (an ``lstat`` of the node path and its bytes) and its
text-edit plan; the edits themselves are pure functions in
:mod:`saline.states.system.lineedit`. Changes are Salt's: ``{"diff": …}`` for text edits,
``{"new": path}`` for a symlink made or re-pointed.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

from saline.states.engine.base import Plan, Refuse, RemoveStep, StateArgs, SymlinkStep, state_function
from saline.states.engine.paths import NodePath
from saline.states.modules.file import Backup, FileFacts, _refuse_missing_parent, edit_plan, file_facts
from saline.states.system.lineedit import append as append_text, check_regex, replace as replace_text


def _lines(value: object) -> object:
    return [value] if isinstance(value, str) else value


class AppendArgs(StateArgs):
    name: NodePath
    text: Annotated[list[str], BeforeValidator(_lines)] = Field(min_length=1)
    makedirs: bool = False


@state_function("file.append", AppendArgs, facts=file_facts)
def append(args: AppendArgs, facts: FileFacts) -> Plan:
    """Each text (a string or a list) at the end of the file unless it is already in it; a
    missing file is created, as Salt does."""
    if facts.kind == "missing" and not facts.parent_exists and not args.makedirs:
        _refuse_missing_parent(facts, makedirs=False)
    return edit_plan(facts, lambda text: append_text(text, args.text), create=True, makedirs=args.makedirs)


class ReplaceArgs(StateArgs):
    name: NodePath
    pattern: Annotated[str, AfterValidator(check_regex)]
    repl: str
    count: int = Field(default=0, ge=0)
    # Salt's flags: re module flag names or their integer sum; default MULTILINE (8), as Salt.
    flags: int | list[str] = 8
    append_if_not_found: bool = False
    prepend_if_not_found: bool = False
    not_found_content: str | None = None
    ignore_if_missing: bool = False
    backup: Backup = ".bak"

    def regex_flags(self) -> int:
        if isinstance(self.flags, int):
            return self.flags
        try:
            return sum(int(getattr(re, name.upper())) for name in self.flags)
        except AttributeError:
            raise Refuse(f"flags: {self.flags!r} are not re flag names (IGNORECASE, MULTILINE, DOTALL …)") from None


@state_function("file.replace", ReplaceArgs, facts=file_facts)
def replace(args: ReplaceArgs, facts: FileFacts) -> Plan:
    """A regular expression replaced throughout the file (Salt's file.replace)."""
    if facts.kind == "missing" and args.ignore_if_missing:
        return Plan(comment=f"{args.name} does not exist; ignore_if_missing is set")
    flags = args.regex_flags()
    return edit_plan(facts, lambda text: replace_text(
        text, args.pattern, args.repl, count=args.count, flags=flags, append_if_not_found=args.append_if_not_found,
        prepend_if_not_found=args.prepend_if_not_found, not_found_content=args.not_found_content),
        backup=args.backup)


class SymlinkArgs(StateArgs):
    name: NodePath
    target: str = Field(min_length=1)
    force: bool = False
    makedirs: bool = False


@state_function("file.symlink", SymlinkArgs, facts=file_facts)
def symlink(args: SymlinkArgs, facts: FileFacts) -> Plan:
    """A symlink at ``name`` pointing to ``target``; a file or directory in the way is
    replaced only with ``force: true``."""
    if facts.kind == "symlink" and facts.link_target == args.target:
        return Plan(comment=f"Symlink {args.name} is present and owned by the correct user/group")
    link = SymlinkStep(description=f"Link {args.name} -> {args.target}", path=args.name, target=args.target,
                       makedirs=args.makedirs)
    if facts.kind == "missing":
        _refuse_missing_parent(facts, args.makedirs, assuming={"new": args.name})
        return Plan(steps=[link], changes={"new": args.name})
    if facts.kind == "symlink":  # re-pointed: Salt's dry run says "change", its run "new"
        return Plan(steps=[link], changes={"new": args.name}, test_changes={"change": args.name})
    if not args.force:
        raise Refuse(f"File exists where the symlink {args.name} should be (a {facts.kind}; set force: true to replace it)")
    remove = RemoveStep(description=f"Remove the {facts.kind} at {args.name}", path=args.name, recursive=True)
    return Plan(steps=[remove, link], changes={"new": args.name, "forced": f"{facts.kind} replaced"})
