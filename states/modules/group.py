"""group.present / group.absent (Salt's): a local group, through groupadd/groupmod/groupdel.

Arguments are Salt 3008's: ``gid``, ``system``, ``members`` (the whole member list) or
``addusers``/``delusers``, ``non_unique``. Under a ``state_root`` other than ``/`` the tools
get ``--prefix ROOT`` and change that root's ``/etc/group`` and ``/etc/gshadow``.

Changes are Salt's: a created group reports ``group.info`` (``{gid, members, name, passwd}``,
the gid the tool picked included), a changed one ``{"Final": "All changes applied
successfully"}`` (a dry run shows what would change), a removed one ``{NAME: ""}``.
Stricter than Salt: ``members`` with ``addusers``/``delusers``, or a user in both, is a
compile error (Salt returns a None result), and removing a group that is a user's primary
group is refused with the user's name (groupdel would fail).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from saline.states.engine.base import CommandStep, Facts, Plan, Refuse, Report, StateArgs, StateContext, state_function
from saline.states.engine.runner import CommandResult
from saline.states.system import accounts
from saline.states.system.accounts import Accounts

Name = Annotated[str, AfterValidator(accounts.check_name)]


class GroupArgs(StateArgs):
    name: Name


class PresentArgs(GroupArgs):
    gid: int | None = Field(default=None, ge=0, le=2**32 - 2)
    system: bool = False
    addusers: list[Name] | None = None
    delusers: list[Name] | None = None
    members: list[Name] | None = None
    non_unique: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> PresentArgs:
        if self.members is not None and (self.addusers is not None or self.delusers is not None):
            raise ValueError("'members' replaces the member list and cannot be used with 'addusers'/'delusers'")
        both = set(self.addusers or []) & set(self.delusers or [])
        if both:
            raise ValueError(f"the same user(s) cannot be added and deleted: {', '.join(sorted(both))}")
        return self


class GroupFacts(Facts):
    accounts: Accounts
    root: str  # the host path of the root the tools work on


def group_facts(args: GroupArgs, ctx: StateContext) -> GroupFacts:
    root = ctx.runner.root
    linked = accounts.symlinked(root)
    if linked:
        raise Refuse(f"{', '.join(linked)} under {root} is a symlink; the shadow tools would follow it out of the root")
    return GroupFacts(accounts=accounts.read(root), root=str(root))


def _tool(facts: GroupFacts, tool: str, *opts: str) -> list[str]:
    return [tool, *accounts.prefix_opts(facts.root), *opts]


def info_step(kind: str, name: str, root: str) -> CommandStep:
    """Read a created account back (its uid/gid is only known once the tool picked it)."""
    return CommandStep(description=f"Read {kind} {name}",
                       argv=[sys.executable, "-m", "saline.states.system.accounts", kind, name, root])


def _members_wanted(args: PresentArgs, have: list[str]) -> list[str] | None:
    """The member list to set, or None when it is already right."""
    if args.members is not None:
        return None if set(have) == set(args.members) else list(args.members)
    wanted = [m for m in have if m not in (args.delusers or [])]
    wanted += [u for u in args.addusers or [] if u not in wanted]
    return None if wanted == have else wanted


def info_report(kind: str) -> Callable[[StateArgs, list[CommandResult]], Report | None]:
    """A created account: Salt reports its ``info`` (read after the tool ran) as the changes."""

    def report(args: StateArgs, outputs: list[CommandResult]) -> Report | None:
        last = outputs[-1]
        if "saline.states.system.accounts" not in last.argv:
            return None
        if not last.ok:
            return Report(changes={}, comment=last.describe(), result=False)
        return Report(changes=json.loads(last.stdout), comment=f"New {kind} {args.name} created")

    return report


@state_function("group.present", PresentArgs, facts=group_facts, report=info_report("group"))
def present(args: PresentArgs, facts: GroupFacts) -> Plan:
    """The group exists with ``gid`` and the members asked for."""
    group = facts.accounts.groups.get(args.name)
    if group is None:
        return _create(args, facts)
    steps: list[CommandStep] = []
    wanted: dict = {}
    if args.gid is not None and group.gid != args.gid:
        steps.append(CommandStep(description=f"Set gid of group {args.name} to {args.gid}",
                                 argv=_tool(facts, "groupmod", "-g", str(args.gid), *(["-o"] if args.non_unique else []),
                                            args.name)))
        wanted["gid"] = args.gid
    members = _members_wanted(args, group.members)
    if members is not None:
        steps.append(CommandStep(description=f"Set the members of group {args.name} to {', '.join(members) or 'none'}",
                                 argv=_tool(facts, "groupmod", "-U", ",".join(members), args.name)))
        wanted["members"] = members
    if not steps:
        return Plan(comment=f"Group {args.name} is present and up to date")
    return Plan(steps=steps, changes={"Final": "All changes applied successfully"}, test_changes=wanted)


def _create(args: PresentArgs, facts: GroupFacts) -> Plan:
    if args.gid is not None and not args.non_unique:
        taken = facts.accounts.group_name(args.gid)
        if taken is not None:
            raise Refuse(f"Group {args.name} is not present but gid {args.gid} is already taken by group {taken}")
    members = list(args.members or args.addusers or [])
    opts = (["-g", str(args.gid)] if args.gid is not None else []) + (["-o"] if args.non_unique else []) \
        + (["-r"] if args.system else []) + (["-U", ",".join(members)] if members else [])
    step = CommandStep(description=f"Create group {args.name}", argv=_tool(facts, "groupadd", *opts, args.name))
    would = {"name": args.name, "members": members, **({"gid": args.gid} if args.gid is not None else {})}
    return Plan(steps=[step, info_step("group", args.name, facts.root)], changes=would, test_changes=would)


@state_function("group.absent", GroupArgs, facts=group_facts)
def absent(args: GroupArgs, facts: GroupFacts) -> Plan:
    """The group does not exist."""
    group = facts.accounts.groups.get(args.name)
    if group is None:
        return Plan(comment="Group not present")
    owners = sorted(u.name for u in facts.accounts.users.values() if u.gid == group.gid)
    if owners:
        raise Refuse(f"group {args.name} is the primary group of user(s) {', '.join(owners)}: "
                     f"change or remove them first (user.present gid / user.absent)")
    step = CommandStep(description=f"Remove group {args.name}", argv=_tool(facts, "groupdel", args.name))
    return Plan(steps=[step], changes={args.name: ""})
