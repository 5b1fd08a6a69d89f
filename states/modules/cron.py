"""cron.present / cron.absent / cron.env_present / cron.env_absent (Salt's): entries in a
user's crontab, read with ``crontab -u USER -l`` and installed with ``crontab -u USER -``.

Arguments are Salt 3008's: ``user`` (default root), ``minute``, ``hour``, ``daymonth``,
``month``, ``dayweek`` (default ``*``; ``random`` and ``A:B`` as Salt's), ``comment``,
``commented``, ``identifier`` (default: the command), ``special`` (``@reboot`` …). The
crontab keeps Salt's layout and ``# SALT_CRON_IDENTIFIER:`` markers
(:mod:`saline.states.system.crontab`), so a crontab Salt manages is adopted as it is, and
the lines above Salt's marker are never touched. Changes are Salt's ``{USER: NAME}``.

crontab(1) works on this node's own users, so these states are refused under a
``state_root`` other than ``/``. A command, identifier or time field with a line break is
refused (it would add lines of its own to the crontab).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, field_validator

from saline.states.engine.base import CommandStep, Facts, Plan, Refuse, StateArgs, StateContext, state_function
from saline.states.modules.group import Name
from saline.states.system import crontab
from saline.states.system.crontab import Tab


def _one_line(value: str) -> str:
    if any(c in value for c in "\n\r\x00"):
        raise ValueError(f"{value!r} contains a line break or NUL, which would add lines to the crontab")
    return value


def _time_field(value: object) -> object:
    text = str(value).lower() if isinstance(value, (int, str)) else value
    if isinstance(text, str) and (not text or any(c.isspace() for c in text)):
        raise ValueError(f"{value!r} is not a cron time field (no spaces, not empty)")
    return text


OneLine = Annotated[str, AfterValidator(_one_line)]
TimeField = Annotated[str, BeforeValidator(_time_field)]


class CronArgs(StateArgs):
    name: OneLine
    user: Name = "root"
    identifier: OneLine | bool = False  # Salt: False means the command is the identifier
    special: str | None = None

    @field_validator("name")
    @classmethod
    def _command(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the command is empty")
        return value.strip()

    @field_validator("special")
    @classmethod
    def _special(cls, value: str | None) -> str | None:
        if value is not None and value not in crontab.SPECIALS:
            raise ValueError(f"special {value!r} is not one of {', '.join(crontab.SPECIALS)} (quote it in YAML)")
        return value

    @property
    def ident(self) -> str | None:
        if self.identifier is False:
            return self.name
        return None if self.identifier is True else str(self.identifier) or None


class PresentArgs(CronArgs):
    minute: TimeField = "*"
    hour: TimeField = "*"
    daymonth: TimeField = "*"
    month: TimeField = "*"
    dayweek: TimeField = "*"
    comment: str | None = None
    commented: bool = False


def _env_name(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise ValueError(f"{value!r} is not an environment variable name")
    return value


class EnvArgs(StateArgs):
    name: Annotated[str, AfterValidator(_env_name)]
    user: Name = "root"


class EnvPresentArgs(EnvArgs):
    value: OneLine | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _text(cls, value: object) -> object:
        return value if value is None else str(value)


class CronFacts(Facts):
    user: str
    tab: Tab


def cron_facts(args: CronArgs | EnvArgs, ctx: StateContext) -> CronFacts:
    if str(ctx.runner.root) != "/":
        raise Refuse(f"crontab -u works on this node's own users, not under state_root {ctx.runner.root}")
    listed = ctx.runner.run(["crontab", "-u", args.user, "-l"])
    if not listed.ok:
        if "no crontab for" not in listed.stderr:
            raise Refuse(f"cannot read the crontab of {args.user}: {listed.stderr.strip()[-300:]}")
        return CronFacts(user=args.user, tab=Tab())
    if len(listed.stdout) > crontab.MAX_BYTES:
        raise Refuse(f"the crontab of {args.user} is over {crontab.MAX_BYTES} bytes; not editing it")
    return CronFacts(user=args.user, tab=crontab.parse(listed.stdout))


def _outcome(facts: CronFacts, status: crontab.Status, new: Tab, what: str, name: str) -> Plan:
    """Salt's comments for each status; a change installs the whole new crontab."""
    if status in ("present", "absent"):
        return Plan(comment=f"{what} already {status}")
    done = {"new": f"added to {facts.user}'s crontab", "updated": "updated",
            "removed": f"removed from {facts.user}'s crontab"}[status]
    step = CommandStep(description=f"{what} {done}", argv=["crontab", "-u", facts.user, "-"], stdin=crontab.render(new))
    return Plan(steps=[step], changes={facts.user: name})


@state_function("cron.present", PresentArgs, facts=cron_facts)
def present(args: PresentArgs, facts: CronFacts) -> Plan:
    """The job is in the user's crontab with the schedule, comment and state given."""
    times = None if args.special else {f: getattr(args, f) for f in crontab.TIME_FIELDS}
    status, new = crontab.set_job(facts.tab, args.user, args.name, times=times, special=args.special,
                                  comment=args.comment, commented=args.commented, identifier=args.ident)
    return _outcome(facts, status, new, f"Cron {args.name}", args.name)


@state_function("cron.absent", CronArgs, facts=cron_facts)
def absent(args: CronArgs, facts: CronFacts) -> Plan:
    """The job (found by identifier, or by command) is not in the user's crontab."""
    status, new = crontab.rm_job(facts.tab, args.name, special=args.special, identifier=args.ident)
    return _outcome(facts, status, new, f"Cron {args.name}", args.name)


@state_function("cron.env_present", EnvPresentArgs, facts=cron_facts)
def env_present(args: EnvPresentArgs, facts: CronFacts) -> Plan:
    """``NAME=value`` in the user's crontab (below Salt's marker)."""
    status, new = crontab.set_env(facts.tab, args.name, args.value)
    return _outcome(facts, status, new, f"Cron env {args.name}", args.name)


@state_function("cron.env_absent", EnvArgs, facts=cron_facts)
def env_absent(args: EnvArgs, facts: CronFacts) -> Plan:
    """No ``NAME=`` line below Salt's marker."""
    status, new = crontab.rm_env(facts.tab, args.name)
    return _outcome(facts, status, new, f"Cron env {args.name}", args.name)
