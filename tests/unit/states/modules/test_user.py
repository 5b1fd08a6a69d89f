"""user.* and group.*: the account files parsed (real files made by Debian's shadow tools) and
plans from them."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from saline.states.engine.base import Refuse
from saline.states.modules import group as grp
from saline.states.modules import user as usr
from saline.states.system import accounts
from tests.paths import FIXTURES

FIXTURES = FIXTURES / "accounts"


@pytest.fixture
def known() -> accounts.Accounts:
    return accounts.read_files(**{f: (FIXTURES / f).read_text() for f in ("passwd", "group", "shadow")})


def ufacts(known, **kw) -> usr.UserFacts:
    return usr.UserFacts(accounts=known, root="/", **kw)


def argvs(plan) -> list[list[str]]:
    return [s.argv for s in plan.steps if s.kind == "cmd"]


def test_account_files_parse_as_the_tools_wrote_them(known) -> None:
    fred = known.users["fred"]
    assert (fred.uid, fred.gid, fred.home, fred.shell) == (2001, 2001, "/home/fred", "/bin/bash")
    assert known.groups["ops"].members == ["fred"] and known.groups["ops"].gid == 3000
    assert known.shadow["svc"].passwd == "!" and known.shadow["fred"].passwd.startswith("$6$Mt9QyJ4a$")
    assert accounts.user_info(known, "fred") == {
        "gid": 2001, "groups": ["adm", "fred", "ops"], "home": "/home/fred", "name": "fred", "passwd": "x",
        "shell": "/bin/bash", "uid": 2001, "fullname": "Fred Jones", "roomnumber": "12", "workphone": "555-1",
        "homephone": "555-2", "other": "x"}
    assert accounts.group_info(known, "ops") == {"gid": 3000, "members": ["fred"], "name": "ops", "passwd": "x"}
    assert accounts.build_gecos({"fullname": "A"}) == "A" and accounts.split_gecos("")["other"] == ""


def test_hostile_lines_and_names() -> None:
    parsed = accounts.parse_passwd("+nis::::::\n#c:x:0:0::/:/bin/sh\nshort:x:1\nbad:x:one:0::/:/bin/sh\nok:x:5:5::/h:/s\n")
    assert list(parsed) == ["ok"]
    for bad in ("-o", "a:b", "x\ny", "1abc", "a" * 40, ""):
        with pytest.raises(ValidationError):
            usr.PresentArgs(name=bad)
    with pytest.raises(ValidationError, match="Unsupported char ','"):
        usr.PresentArgs(name="fred", fullname="Jones, Fred")
    with pytest.raises(ValidationError, match="':'"):
        usr.PresentArgs(name="fred", shell="/bin/sh:x")
    with pytest.raises(ValidationError, match="cannot be used with"):
        grp.PresentArgs(name="ops", members=["a"], addusers=["b"])


def test_create_is_one_useradd_then_the_info_salt_reports(known) -> None:
    args = usr.PresentArgs(name="ann", uid=2100, shell="/bin/sh", groups=["ops"], optional_groups=["nope", "adm"],
                           fullname="Ann", password="$6$s$h", createhome=False)
    plan = usr.present(args, ufacts(known, wanted_hash="$6$s$h"))
    assert argvs(plan)[0] == ["useradd", "-s", "/bin/sh", "-u", "2100", "-M", "-G", "adm,ops", "-c", "Ann",
                              "-p", "$6$s$h", "ann"]
    assert argvs(plan)[1][-3:] == ["user", "ann", "/"]
    assert plan.changes["password"] == usr.REDACTED and "$6$s$h" not in str(plan.changes)
    with pytest.raises(Refuse, match="not present: nope"):
        usr.present(usr.PresentArgs(name="ann", groups=["nope"]), ufacts(known))
    with pytest.raises(Refuse, match="already taken by user fred"):
        usr.present(usr.PresentArgs(name="ann", uid=2001), ufacts(known))


def test_existing_user_is_changed_in_place_not_recreated(known) -> None:
    args = usr.PresentArgs(name="fred", shell="/bin/sh", fullname="Fred J", groups=["ops"], home="/home/fred")
    plan = usr.present(args, ufacts(known, home_exists=True))
    assert argvs(plan) == [["usermod", "-s", "/bin/sh", "fred"], ["usermod", "-c", "Fred J,12,555-1,555-2,x", "fred"],
                           ["usermod", "-G", "ops", "fred"]]
    assert plan.changes == {"shell": "/bin/sh", "fullname": "Fred J", "groups": ["fred", "ops"]}
    same = usr.PresentArgs(name="fred", shell="/bin/bash", groups=["adm", "ops"], uid=2001, gid="fred")
    assert usr.present(same, ufacts(known, home_exists=True)).empty
    # remove_groups: false only adds
    assert usr.present(usr.PresentArgs(name="fred", groups=["adm"], remove_groups=False),
                       ufacts(known, home_exists=True)).empty
    # groups not given: the current ones are kept
    assert usr.present(usr.PresentArgs(name="fred"), ufacts(known, home_exists=True)).empty


def test_uid_gid_changes_need_permission_and_home_is_created(known) -> None:
    with pytest.raises(Refuse, match=r"Changing uid \(2001 -> 4000\) not permitted, set allow_uid_change"):
        usr.present(usr.PresentArgs(name="fred", uid=4000), ufacts(known, home_exists=True))
    plan = usr.present(usr.PresentArgs(name="fred", gid="ops", allow_gid_change=True), ufacts(known))
    assert argvs(plan) == [["usermod", "-g", "3000", "fred"]]
    mkdir = plan.steps[1]
    assert (mkdir.path, mkdir.user, mkdir.group, mkdir.mode) == ("/home/fred", "2001", "3000", 0o755)
    assert plan.changes == {"gid": 3000, "homeDoesNotExist": "/home/fred"}
    with pytest.raises(Refuse, match="symlink"):
        usr.present(usr.PresentArgs(name="fred"), ufacts(known, home_is_link=True))


def test_password_enforce_lock_and_empty(known) -> None:
    f = lambda h: ufacts(known, home_exists=True, wanted_hash=h)  # noqa: E731
    current = known.shadow["fred"].passwd
    assert usr.present(usr.PresentArgs(name="fred", password=current), f(current)).empty
    plan = usr.present(usr.PresentArgs(name="fred", password="$6$x$y"), f("$6$x$y"))
    assert argvs(plan) == [["usermod", "-p", "$6$x$y", "fred"]] and plan.changes == {"passwd": usr.REDACTED}
    assert usr.present(usr.PresentArgs(name="fred", password="$6$x$y", enforce_password=False), f("$6$x$y")).empty
    # svc has useradd's "!": enforce_password does not protect it (Salt's default_hash)
    assert argvs(usr.present(usr.PresentArgs(name="svc", password="$6$x$y", enforce_password=False),
                             f("$6$x$y")))[0][-3:] == ["-p", "$6$x$y", "svc"]
    locked = usr.present(usr.PresentArgs(name="fred", password=current, password_lock=True), f(current))
    assert argvs(locked) == [["usermod", "-L", "fred"]]
    assert argvs(usr.present(usr.PresentArgs(name="fred", empty_password=True), f(None))) == [["usermod", "-p", "", "fred"]]


def test_absent_purge_and_the_users_own_group(known) -> None:
    plan = usr.absent(usr.AbsentArgs(name="fred", purge=True), ufacts(known))
    assert argvs(plan) == [["userdel", "-r", "fred"]]
    assert plan.changes == {"fred group": "removed", "fred": "removed"}
    assert usr.absent(usr.AbsentArgs(name="ghost"), ufacts(known)).comment == "User ghost is not present"
    with pytest.raises(Refuse, match="uid 0"):
        usr.absent(usr.AbsentArgs(name="root"), ufacts(known))
    with pytest.raises(Refuse, match="symlink"):
        usr.absent(usr.AbsentArgs(name="fred", purge=True), ufacts(known, home_is_link=True))
    with pytest.raises(Refuse, match="'/bin', a top-level directory"):
        usr.absent(usr.AbsentArgs(name="bin", purge=True), ufacts(known))


def test_group_plans(known) -> None:
    gf = grp.GroupFacts(accounts=known, root="/srv/ct1")
    plan = grp.present(grp.PresentArgs(name="web", gid=3100, members=["fred"], system=True), gf)
    assert argvs(plan)[0] == ["groupadd", "--prefix", "/srv/ct1", "-g", "3100", "-r", "-U", "fred", "web"]
    with pytest.raises(Refuse, match="gid 3000 is already taken by group ops"):
        grp.present(grp.PresentArgs(name="web", gid=3000), gf)
    plan = grp.present(grp.PresentArgs(name="ops", addusers=["svc"], delusers=["fred"]), gf)
    assert argvs(plan) == [["groupmod", "--prefix", "/srv/ct1", "-U", "svc", "ops"]]
    assert plan.changes == {"Final": "All changes applied successfully"} and plan.test_changes == {"members": ["svc"]}
    assert grp.present(grp.PresentArgs(name="ops", members=["fred"], gid=3000), gf).empty
    assert argvs(grp.present(grp.PresentArgs(name="ops", members=[]), gf)) == [
        ["groupmod", "--prefix", "/srv/ct1", "-U", "", "ops"]]
    with pytest.raises(Refuse, match="primary group of user"):
        grp.absent(grp.GroupArgs(name="fred"), gf)
    assert grp.absent(grp.GroupArgs(name="ops"), gf).changes == {"ops": ""}
