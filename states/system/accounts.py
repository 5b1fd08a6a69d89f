"""The local account files: ``/etc/passwd`` (passwd(5)), ``/etc/group`` (group(5)) and
``/etc/shadow`` (shadow(5)), read from the state root, and the shadow tools' root option.

saline reads the files, not NSS: a user from LDAP is not a local user, and a container's
rootfs under ``state_root`` has its own files (Salt's ``local: True``). The tools that
change them (useradd, usermod, userdel, groupadd, groupmod, groupdel from Debian's
``passwd`` package) take ``--prefix ROOT`` to work on another root's ``/etc`` files without
a chroot (shadow 4.9+; Debian 12 has 4.13).

``python -m saline.states.system.accounts user|group NAME ROOT`` prints Salt's
``user.info``/``group.info`` of an account as JSON: what user.present/group.present report
for an account they created (its uid/gid is only known once the tool has picked it).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from pydantic import BaseModel

# /etc/passwd of a big site is a few MiB; a file past this is not read (a hostile rootfs).
MAX_FILE_BYTES = 16 * 1024 * 1024

# Debian's shadow accepts [a-z_][a-z0-9_-]*[$] (plus upper case and dots with --badname);
# saline accepts that and upper case, never a leading '-' (an option to the tools) or ':'.
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$")


def check_name(value: str) -> str:
    if not NAME_RE.match(value):
        raise ValueError(f"{value!r} is not a valid user or group name (letters, digits, '_', '-', '.', "
                         f"at most 32, not starting with a digit, '-' or '.')")
    return value


def check_field(value: str) -> str:
    """A value written into one colon-separated field: no ':' and no line break."""
    if any(c in value for c in ":\n\r\x00"):
        raise ValueError(f"{value!r} contains ':', a line break or NUL, which would break the account files")
    return value


class PasswdEntry(BaseModel):
    name: str
    passwd: str
    uid: int
    gid: int
    gecos: str
    home: str
    shell: str


class GroupEntry(BaseModel):
    name: str
    passwd: str
    gid: int
    members: list[str]


class ShadowEntry(BaseModel):
    name: str
    passwd: str
    lstchg: str
    min: str
    max: str
    warn: str
    inact: str
    expire: str


def _rows(text: str, fields: int) -> list[list[str]]:
    """Colon rows with exactly ``fields`` fields; comments, blank lines and NIS ``+``/``-``
    lines are not local accounts and are skipped, as the shadow tools skip them."""
    rows = []
    for line in text.splitlines():
        if not line or line[0] in "#+-":
            continue
        parts = line.split(":")
        if len(parts) == fields:
            rows.append(parts)
    return rows


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def parse_passwd(text: str) -> dict[str, PasswdEntry]:
    out: dict[str, PasswdEntry] = {}
    for name, passwd, uid, gid, gecos, home, shell in _rows(text, 7):
        if _int(uid) is not None and _int(gid) is not None:
            out.setdefault(name, PasswdEntry(name=name, passwd=passwd, uid=int(uid), gid=int(gid),
                                             gecos=gecos, home=home, shell=shell))
    return out


def parse_group(text: str) -> dict[str, GroupEntry]:
    out: dict[str, GroupEntry] = {}
    for name, passwd, gid, members in _rows(text, 4):
        if _int(gid) is not None:
            out.setdefault(name, GroupEntry(name=name, passwd=passwd, gid=int(gid),
                                            members=[m for m in members.split(",") if m]))
    return out


def parse_shadow(text: str) -> dict[str, ShadowEntry]:
    out: dict[str, ShadowEntry] = {}
    for name, passwd, lstchg, min_, max_, warn, inact, expire, _reserved in _rows(text, 9):
        out.setdefault(name, ShadowEntry(name=name, passwd=passwd, lstchg=lstchg, min=min_, max=max_,
                                         warn=warn, inact=inact, expire=expire))
    return out


class Accounts(BaseModel):
    """The three files of one root, parsed."""

    users: dict[str, PasswdEntry]
    groups: dict[str, GroupEntry]
    shadow: dict[str, ShadowEntry]
    usergroups_enab: bool = True  # login.defs USERGROUPS_ENAB: userdel removes the user's own group

    def group_name(self, gid: int) -> str | None:
        return next((g.name for g in self.groups.values() if g.gid == gid), None)

    def gid_of(self, group: int | str) -> int | None:
        """A group given by name or number, as a number (None: no such group)."""
        if isinstance(group, int) or str(group).isdigit():
            return int(group)
        entry = self.groups.get(str(group))
        return entry.gid if entry else None

    def supplementary(self, user: str) -> list[str]:
        """The groups that list ``user`` as a member, sorted."""
        return sorted(g.name for g in self.groups.values() if user in g.members)

    def user_groups(self, user: str) -> list[str]:
        """Salt's ``user.info`` groups: the supplementary groups and the primary one, sorted."""
        entry = self.users[user]
        primary = self.group_name(entry.gid)
        return sorted(set(self.supplementary(user)) | ({primary} if primary else set()))


def _read(root: Path, rel: str) -> str:
    try:
        with open(root / rel, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return ""
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"/{rel} is over {MAX_FILE_BYTES} bytes; not reading it")
    return data.decode("utf-8", errors="replace")


def _usergroups_enab(login_defs: str) -> bool:
    for line in login_defs.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "USERGROUPS_ENAB":
            return words[1].lower() == "yes"
    return True  # shadow's default


def read_files(passwd: str, group: str, shadow: str, login_defs: str = "") -> Accounts:
    return Accounts(users=parse_passwd(passwd), groups=parse_group(group), shadow=parse_shadow(shadow),
                    usergroups_enab=_usergroups_enab(login_defs))


def read(root: Path) -> Accounts:
    """The account files under ``root`` (a host path: ``/`` or a state root)."""
    return read_files(*(_read(root, f"etc/{name}") for name in ("passwd", "group", "shadow", "login.defs")))


ACCOUNT_FILES = ("etc", "etc/passwd", "etc/group", "etc/shadow", "etc/gshadow")


def symlinked(root: Path) -> list[str]:
    """Account files of a root other than ``/`` that are symlinks: the tools follow them, so a
    container's ``/etc/passwd`` linked to the host's would have the host's edited."""
    if str(root) == "/":
        return []
    return ["/" + rel for rel in ACCOUNT_FILES if (root / rel).is_symlink()]


def prefix_opts(root: Path) -> list[str]:
    """The shadow tools' option to act on the files of ``root`` (nothing for ``/``)."""
    return [] if str(root) == "/" else ["--prefix", str(root)]


GECOS_FIELDS = ("fullname", "roomnumber", "workphone", "homephone", "other")


def split_gecos(gecos: str) -> dict[str, str]:
    parts = gecos.split(",", 4)
    parts += [""] * (5 - len(parts))
    return dict(zip(GECOS_FIELDS, parts))


def build_gecos(fields: dict[str, str]) -> str:
    """Salt's ``_build_gecos``: five comma-separated fields, trailing empty ones dropped."""
    return ",".join(fields.get(k, "") for k in GECOS_FIELDS).rstrip(",")


def user_info(accounts: Accounts, name: str) -> dict:
    """Salt's ``user.info`` of a local user."""
    entry = accounts.users[name]
    return {"gid": entry.gid, "groups": accounts.user_groups(name), "home": entry.home, "name": entry.name,
            "passwd": entry.passwd, "shell": entry.shell, "uid": entry.uid, **split_gecos(entry.gecos)}


def group_info(accounts: Accounts, name: str) -> dict:
    """Salt's ``group.info``."""
    entry = accounts.groups[name]
    return {"gid": entry.gid, "members": entry.members, "name": entry.name, "passwd": entry.passwd}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or args[0] not in ("user", "group"):
        print("usage: python -m saline.states.system.accounts user|group NAME ROOT", file=sys.stderr)
        return 2
    kind, name, root = args
    accounts = read(Path(root))
    try:
        info = user_info(accounts, name) if kind == "user" else group_info(accounts, name)
    except KeyError:
        print(f"no {kind} {name} in {root}/etc", file=sys.stderr)
        return 1
    print(json.dumps(info, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
