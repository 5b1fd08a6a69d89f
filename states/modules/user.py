"""user.present / user.absent (Salt's): a local user, through useradd/usermod/userdel.

Arguments are Salt 3008's (those that mean something on Linux): ``uid``, ``gid`` (name or
number), ``usergroup``, ``groups``, ``optional_groups``, ``remove_groups``, ``home``,
``createhome``, ``persist_home``, ``password`` (a crypt hash; ``hash_password: true`` hashes
a clear text with the salt already in ``/etc/shadow``), ``enforce_password``,
``empty_password``, ``password_lock``, ``shell``, ``unique``, ``system``, ``fullname``,
``roomnumber``, ``workphone``, ``homephone``, ``other``, ``nologinit``,
``allow_uid_change``, ``allow_gid_change``, the aging fields ``date``, ``mindays``,
``maxdays``, ``inactdays``, ``warndays``, ``expire`` (days; chage); ``user.absent``:
``purge``, ``force``.

A user that exists with other settings is changed in place with usermod, never recreated;
its uid or primary gid only with ``allow_uid_change``/``allow_gid_change`` (file ownership
is not changed, as in Salt). Under a ``state_root`` other than ``/`` the tools get
``--prefix ROOT`` and change that root's account files (a container's rootfs).

Changes are Salt's: a created user reports ``user.info`` (uid and gid as the tool picked
them, ``password: XXX-REDACTED-XXX``), a changed one the ``user.info`` keys that change
(``passwd: XXX-REDACTED-XXX`` for a new password hash), a removed one ``{NAME: "removed",
"NAME group": "removed"}``. A password or hash never appears in a change or comment.
"""

from __future__ import annotations

import os
import secrets
from pathlib import PurePosixPath
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator

from saline.states.engine.base import (CommandStep, Facts, MkdirStep, Plan, Refuse, Report, StateArgs, StateContext,
                                       state_function)
from saline.states.engine.paths import NodePath
from saline.states.engine.runner import CommandResult
from saline.states.modules.group import Name, info_report, info_step
from saline.states.system import accounts
from saline.states.system.accounts import Accounts

REDACTED = "XXX-REDACTED-XXX"
# Salt's aging arguments → (the shadow.info key Salt reports, chage's option).
AGING = {"date": ("lstchg", "-d"), "mindays": ("min", "-m"), "maxdays": ("max", "-M"),
         "inactdays": ("inact", "-I"), "warndays": ("warn", "-W"), "expire": ("expire", "-E")}
# Salt's shadow.default_hash on Linux: what useradd leaves as the password of a new user.
DEFAULT_HASH = "!"
# Salt's hash_password: the algorithm of the hash already there (openssl passwd option).
ALGORITHMS = {"1": "-1", "5": "-5", "6": "-6"}

Field_ = Annotated[str, AfterValidator(accounts.check_field)]


def _no_comma(value: str | None) -> str | None:
    if value is not None and "," in value:
        raise ValueError(f"Unsupported char ',' in {value!r} (the GECOS field separates its parts with commas)")
    return value


class UserArgs(StateArgs):
    name: Name


class PresentArgs(UserArgs):
    uid: int | None = Field(default=None, ge=0, le=2**32 - 2)
    gid: int | Name | None = None
    usergroup: bool | None = None
    groups: list[Name] | None = None
    optional_groups: list[Name] | None = None
    remove_groups: bool = True
    home: NodePath | None = None
    createhome: bool = True
    persist_home: bool = False
    password: Field_ | None = None
    hash_password: bool = False
    enforce_password: bool = True
    empty_password: bool = False
    password_lock: bool | None = None
    shell: Field_ | None = None
    unique: bool = True
    system: bool = False
    fullname: Field_ | None = None
    roomnumber: Field_ | None = None
    workphone: Field_ | None = None
    homephone: Field_ | None = None
    other: Field_ | None = None
    nologinit: bool = False
    allow_uid_change: bool = False
    allow_gid_change: bool = False
    # /etc/shadow's aging fields, days (since 1970-01-01 for date and expire; -1: none)
    date: int | None = Field(default=None, ge=-1)
    mindays: int | None = Field(default=None, ge=-1)
    maxdays: int | None = Field(default=None, ge=-1)
    inactdays: int | None = Field(default=None, ge=-1)
    warndays: int | None = Field(default=None, ge=-1)
    expire: int | None = Field(default=None, ge=-1)

    _gecos_commas = field_validator("fullname", "roomnumber", "workphone")(_no_comma)

    @field_validator("fullname", "roomnumber", "workphone", "homephone", "other", mode="before")
    @classmethod
    def _as_text(cls, value: object) -> object:
        return value if value is None else str(value)  # Salt: phone numbers typed as numbers


class AbsentArgs(UserArgs):
    purge: bool = False
    force: bool = False


class UserFacts(Facts):
    accounts: Accounts
    root: str
    home_exists: bool = False  # the home the user will have, as a directory
    home_is_link: bool = False
    wanted_hash: str | None = None  # the password as it must be in /etc/shadow
    skel: str | None = None  # the root's /etc/skel as a host path, under a root other than /


def _home_of(args: PresentArgs, facts_accounts: Accounts) -> str | None:
    user = facts_accounts.users.get(args.name)
    return args.home or (user.home if user else None)


def _hash(args: PresentArgs, current: str | None, ctx: StateContext) -> str | None:
    """Salt's hash_password: the clear text hashed with the salt of the hash in /etc/shadow
    (so it compares equal once set), or a new SHA-512 salt."""
    if args.password is None or not args.hash_password:
        return args.password
    parts = (current or "").lstrip("!").split("$")
    if len(parts) == 4 and parts[1] in ALGORITHMS:
        algo, salt = ALGORITHMS[parts[1]], parts[2]
    else:
        algo, salt = "-6", secrets.token_urlsafe(12).replace("-", ".").replace("_", "/")
    result = ctx.runner.run(["openssl", "passwd", algo, "-salt", salt, "-stdin"], input=args.password + "\n")
    if not result.ok:
        raise Refuse("hash_password: openssl passwd failed (is openssl installed?)")
    return result.stdout.strip()


def user_facts(args: UserArgs, ctx: StateContext) -> UserFacts:
    root = ctx.runner.root
    linked = accounts.symlinked(root)
    if linked:
        raise Refuse(f"{', '.join(linked)} under {root} is a symlink; the shadow tools would follow it out of the root")
    found = accounts.read(root)
    facts = UserFacts(accounts=found, root=str(root))
    home = _home_of(args, found) if isinstance(args, PresentArgs) else (
        found.users[args.name].home if args.name in found.users else None)
    if home is None and isinstance(args, PresentArgs) and args.name not in found.users:
        home = f"/home/{args.name}"  # useradd's default (HOME=/home in /etc/default/useradd)
    if home and home.startswith("/"):
        unresolved = root / home.lstrip("/")
        # The shadow tools follow every link in ROOT/home/NAME on the host: under a container's
        # root, a parent linked to '/abs' is the host's /abs (userdel -r would empty it).
        below = [unresolved] if str(root) == "/" else [root.joinpath(*PurePosixPath(home).parts[1:i])
                                                      for i in range(2, len(PurePosixPath(home).parts) + 1)]
        facts.home_is_link = any(p.is_symlink() for p in below)
        try:
            facts.home_exists = ctx.runner.path(home).is_dir()
        except (OSError, ValueError):
            facts.home_exists = False
    if str(root) != "/":
        try:
            skel = ctx.runner.path("/etc/skel")
            facts.skel = str(skel) if skel.is_dir() else None
        except (OSError, ValueError):
            facts.skel = None
    if isinstance(args, PresentArgs):
        shadow = found.shadow.get(args.name)
        facts.wanted_hash = _hash(args, shadow.passwd if shadow else None, ctx)
    return facts


def _tool(facts: UserFacts, tool: str, *opts: str) -> list[str]:
    return [tool, *accounts.prefix_opts(facts.root), *opts]


def _usermod(facts: UserFacts, name: str, description: str, *opts: str) -> CommandStep:
    return CommandStep(description=description, argv=_tool(facts, "usermod", *opts, name))


def _present_groups(args: PresentArgs, known: Accounts) -> list[str]:
    """``groups`` and the ``optional_groups`` that exist; a missing required group refuses."""
    missing = [g for g in args.groups or [] if g not in known.groups]
    if missing:
        raise Refuse(f"The following group(s) are not present: {','.join(missing)}")
    return sorted(set(args.groups or []) | {g for g in args.optional_groups or [] if g in known.groups})


@state_function("user.present", PresentArgs, facts=user_facts, report=lambda args, outputs: _created(args, outputs))
def present(args: PresentArgs, facts: UserFacts) -> Plan:
    """The user exists with the settings given; settings not given are left as they are."""
    if args.name not in facts.accounts.users:
        return _create(args, facts)
    return _update(args, facts)


def _gecos(args: PresentArgs) -> dict[str, str]:
    return {k: getattr(args, k) for k in accounts.GECOS_FIELDS if getattr(args, k) is not None}


def _create(args: PresentArgs, facts: UserFacts) -> Plan:
    groups = _present_groups(args, facts.accounts)
    if isinstance(args.gid, str) and args.gid not in facts.accounts.groups:
        raise Refuse(f"group {args.gid} (gid) does not exist")
    if args.uid is not None and args.unique:
        taken = next((u.name for u in facts.accounts.users.values() if u.uid == args.uid), None)
        if taken:
            raise Refuse(f"uid {args.uid} is already taken by user {taken} (unique: false allows it)")
    opts: list[str] = []
    if args.shell:
        opts += ["-s", args.shell]
    if args.uid is not None:
        opts += ["-u", str(args.uid)]
    if args.gid is not None:
        opts += ["-g", str(args.gid)]
    elif args.usergroup is not None:
        opts.append("-U" if args.usergroup else "-N")
    if args.createhome and facts.home_is_link:
        raise Refuse(f"the home of {args.name} is through a symlink under {facts.root}; not creating it there "
                     f"(useradd would follow it)")
    opts.append("-m" if args.createhome else "-M")
    if args.nologinit:
        opts.append("-l")
    if args.home:
        opts += ["-d", args.home]
    if args.createhome and facts.skel:
        opts += ["-k", facts.skel]  # under --prefix, useradd would copy the host's /etc/skel
    if not args.unique:
        opts.append("-o")
    if args.system:
        opts.append("-r")
    if groups:
        opts += ["-G", ",".join(groups)]
    gecos = accounts.build_gecos(_gecos(args))
    if gecos:
        opts += ["-c", gecos]
    password = "" if args.empty_password else facts.wanted_hash
    if password is not None:
        opts += ["-p", password]
    steps = [CommandStep(description=f"Create user {args.name}", argv=_tool(facts, "useradd", *opts, args.name))]
    if args.password_lock and password:
        steps.append(_usermod(facts, args.name, f"Lock the password of {args.name}", "-L"))
    aging = {arg: getattr(args, arg) for arg in AGING if getattr(args, arg) is not None}
    if aging:
        steps.append(_chage(facts, args.name, aging))
    would = {"name": args.name, **{k: v for k, v in (("uid", args.uid), ("gid", args.gid), ("home", args.home),
                                                     ("shell", args.shell)) if v is not None},
             **({"groups": groups} if groups else {}), **_gecos(args),
             **({"password": REDACTED} if password else {}), **aging}
    return Plan(steps=[*steps, info_step("user", args.name, facts.root)], changes=would, test_changes=would)


def _created(args: PresentArgs, outputs: list[CommandResult]) -> Report | None:
    last = outputs[-1]
    if not last.ok and "-p" in last.argv:  # a failed useradd/usermod: its comment without the hash
        argv = list(last.argv)
        argv[argv.index("-p") + 1] = REDACTED
        return Report(changes={}, comment=last.model_copy(update={"argv": argv}).describe(), result=False)
    report = info_report("user")(args, outputs)
    if report is None or not report.result:
        return report
    changes = dict(report.changes)
    if not args.createhome:
        changes["home"] = ""  # Salt's: "pwd incorrectly reports presence of home"
    if args.password and not args.empty_password:
        changes["password"] = REDACTED
    if args.empty_password:
        changes["password"] = ""
    changes.update({arg: getattr(args, arg) for arg in AGING if getattr(args, arg) not in (None, 0)
                    or (arg == "date" and args.date is not None)})
    return Report(changes=changes, comment=report.comment)


def _groups_change(args: PresentArgs, facts: UserFacts, gid: int) -> list[str] | None:
    """Salt's ``_changes`` for groups: the supplementary groups to set, or None."""
    known = facts.accounts
    wanted = set(_present_groups(args, known))
    current = set(known.supplementary(args.name))
    if not args.remove_groups or (args.groups is None and not args.optional_groups):
        wanted |= current
    for primary in {known.group_name(gid), known.group_name(known.users[args.name].gid)}:
        current.discard(primary)
        wanted.discard(primary)
    if args.name in current and args.name not in wanted:
        current.discard(args.name)
    if current == wanted or (not args.remove_groups and wanted <= current):
        return None
    return sorted(wanted)


def _update(args: PresentArgs, facts: UserFacts) -> Plan:
    known = facts.accounts
    user = known.users[args.name]
    shadow = known.shadow.get(args.name)
    steps: list = []
    changes: dict = {}
    errors = []
    gid = user.gid
    if args.uid is not None and args.uid != user.uid:
        if not args.allow_uid_change:
            errors.append(f"Changing uid ({user.uid} -> {args.uid}) not permitted, set allow_uid_change to True to "
                          f"force this change. Note that this will not change file ownership.")
        steps.append(_usermod(facts, args.name, f"Set uid of {args.name} to {args.uid}", "-u", str(args.uid),
                              *([] if args.unique else ["-o"])))
        changes["uid"] = args.uid
    if args.gid is not None:
        wanted_gid = known.gid_of(args.gid)
        if wanted_gid is None:
            raise Refuse(f"group {args.gid} (gid) does not exist")
        if wanted_gid != user.gid:
            if not args.allow_gid_change:
                errors.append(f"Changing gid ({user.gid} -> {args.gid}) not permitted, set allow_gid_change to True "
                              f"to force this change. Note that this will not change file ownership.")
            steps.append(_usermod(facts, args.name, f"Set primary group of {args.name} to {args.gid}",
                                  "-g", str(wanted_gid)))
            changes["gid"] = gid = wanted_gid
    if errors:
        raise Refuse("Encountered error checking for needed changes: " + " ".join(errors))
    home = args.home or user.home
    if args.home and args.home != user.home:
        steps.append(_usermod(facts, args.name, f"Set home of {args.name} to {args.home}", "-d", args.home,
                              *(["-m"] if args.persist_home else [])))
        changes["home"] = args.home
    if args.createhome and not facts.home_exists and not (args.persist_home and "home" in changes):
        if facts.home_is_link:
            raise Refuse(f"the home {home} of {args.name} is a symlink; not creating a directory through it")
        steps.append(MkdirStep(description=f"Create home directory {home}", path=home, mode=0o755,
                               user=str(args.uid if args.uid is not None else user.uid), group=str(gid),
                               parents=False))
        changes.setdefault("homeDoesNotExist", home)
    if args.shell and args.shell != user.shell:
        steps.append(_usermod(facts, args.name, f"Set shell of {args.name} to {args.shell}", "-s", args.shell))
        changes["shell"] = args.shell
    have_gecos = accounts.split_gecos(user.gecos)
    new_gecos = {**have_gecos, **_gecos(args)}
    if new_gecos != have_gecos:
        steps.append(_usermod(facts, args.name, f"Set the GECOS field of {args.name}", "-c",
                              accounts.build_gecos(new_gecos)))
        changes.update({k: v for k, v in new_gecos.items() if v != have_gecos[k]})
    groups = _groups_change(args, facts, gid)
    if groups is not None:
        steps.append(_usermod(facts, args.name, f"Set the groups of {args.name} to {', '.join(groups) or 'none'}",
                              *([] if args.remove_groups else ["-a"]), "-G", ",".join(groups)))
        changes["groups"] = sorted(set(groups) | {known.group_name(gid) or str(gid)})
    steps += _password_steps(args, facts, shadow.passwd if shadow else "", changes)
    have = {arg: _days(getattr(shadow, key)) if shadow else -1 for arg, (key, _) in AGING.items()}
    aging = {arg: getattr(args, arg) for arg in AGING if getattr(args, arg) not in (None, have[arg])}
    if aging:
        steps.append(_chage(facts, args.name, aging))
        changes.update({AGING[arg][0]: value for arg, value in aging.items()})
    if not steps:
        return Plan(comment=f"User {args.name} is present and up to date")
    return Plan(steps=steps, changes=changes)


def _days(field: str) -> int:
    """A shadow aging field as Salt's shadow.info has it: empty is -1."""
    return int(field) if field.lstrip("-").isdigit() else -1


def _chage(facts: UserFacts, name: str, aging: dict[str, int]) -> CommandStep:
    # chage has no --prefix: under another root it chroots there (-R), needing nothing inside.
    root = [] if facts.root == "/" else ["-R", facts.root]
    opts = [o for arg, value in aging.items() for o in (AGING[arg][1], str(value))]
    return CommandStep(description=f"Set password aging of {name}: "
                                   + ", ".join(f"{arg} {value}" for arg, value in aging.items()),
                       argv=["chage", *root, *opts, name])


def _password_steps(args: PresentArgs, facts: UserFacts, current: str, changes: dict) -> list[CommandStep]:
    steps = []
    locked = current.startswith("!") and current != DEFAULT_HASH
    bare = current[1:] if locked else current  # a locked hash is the hash behind a '!'
    want = facts.wanted_hash
    if args.empty_password:
        if current != "":
            steps.append(_usermod(facts, args.name, f"Empty the password of {args.name}", "-p", ""))
            changes["passwd"] = ""
        return steps
    if want is not None and bare != want and (current == DEFAULT_HASH or args.enforce_password):
        steps.append(_usermod(facts, args.name, f"Set the password of {args.name}", "-p",
                              ("!" + want) if locked and args.password_lock is not False else want))
        changes["passwd"] = REDACTED
        current = want
    if args.password_lock is True and not current.startswith("!"):
        steps.append(_usermod(facts, args.name, f"Lock the password of {args.name}", "-L"))
        changes["passwd"] = REDACTED
    elif args.password_lock is False and locked:
        steps.append(_usermod(facts, args.name, f"Unlock the password of {args.name}", "-U"))
        changes["passwd"] = REDACTED
    return steps


@state_function("user.absent", AbsentArgs, facts=user_facts)
def absent(args: AbsentArgs, facts: UserFacts) -> Plan:
    """The user does not exist (with ``purge``, nor its home and mail spool)."""
    user = facts.accounts.users.get(args.name)
    if user is None:
        return Plan(comment=f"User {args.name} is not present")
    if user.uid == 0:
        raise Refuse(f"{args.name} has uid 0; saline does not remove a superuser account")
    # userdel -r removes whatever the home is: never a top-level directory (bin's /bin, sys's
    # /dev) nor through a symlink (a container's home pointing at the host).
    top_level = len(PurePosixPath(os.path.normpath(user.home or "/")).parts) < 3
    if args.purge and (facts.home_is_link or top_level or not user.home.startswith("/")):
        raise Refuse(f"purge: the home of {args.name} is {user.home!r}"
                     f"{' (through a symlink)' if facts.home_is_link else ', a top-level directory'}; not removing it, "
                     f"remove the user without purge")
    opts = (["-r"] if args.purge else []) + (["-f"] if args.force else [])
    step = CommandStep(description=f"Remove user {args.name}" + (" and its home" if args.purge else ""),
                       argv=_tool(facts, "userdel", *opts, args.name))
    changes: dict = {}
    own = facts.accounts.groups.get(args.name)
    others = [u for u in facts.accounts.users.values() if u.name != args.name and own and u.gid == own.gid]
    if facts.accounts.usergroups_enab and own and own.gid == user.gid and not others \
            and not set(own.members) - {args.name}:
        changes[f"{args.name} group"] = "removed"
    changes[args.name] = "removed"
    return Plan(steps=[step], changes=changes)
