"""user.* and group.* through the real shadow tools (useradd/usermod/userdel/groupadd/groupmod/
groupdel --prefix) on a private root: the host's accounts are never touched."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from saline.states.engine.runner import Runner
from tests.harness import assert_full_cycle, assert_refused, run
from tests.paths import FIXTURES

pytestmark = pytest.mark.real


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "etc/skel").mkdir(parents=True)
    (tmp_path / "home").mkdir()
    for name in ("passwd", "group", "shadow"):
        shutil.copy(FIXTURES / "accounts" / name, tmp_path / "etc" / name)
    (tmp_path / "etc/gshadow").write_text("")
    (tmp_path / "etc/shadow").chmod(0o640)
    shutil.copy("/etc/login.defs", tmp_path / "etc/login.defs")
    (tmp_path / "etc/skel/.profile").write_text("# the container's skel\n")
    return tmp_path


def snapshot(root: Path):
    def snap() -> tuple:
        files = tuple((root / "etc" / n).read_bytes() for n in ("passwd", "group", "shadow", "gshadow"))
        homes = tuple(sorted((str(p.relative_to(root)), p.lstat().st_uid, p.lstat().st_gid, oct(p.lstat().st_mode))
                             for p in (root / "home").rglob("*")))
        return files, homes
    return snap


def line(root: Path, file: str, name: str) -> str:
    return next(l for l in (root / "etc" / file).read_text().splitlines() if l.split(":")[0] == name)


def test_group_and_user_created_changed_and_removed(root: Path) -> None:
    runner, snap = Runner(root=root), snapshot(root)
    made = assert_full_cycle("group.present", {"name": "web", "gid": 3100, "members": ["fred"]}, runner, snap)
    assert made.changes == {"gid": 3100, "members": ["fred"], "name": "web", "passwd": "x"}
    assert made.comment == "New group web created"

    ann = {"name": "ann", "shell": "/bin/sh", "groups": ["web", "adm"], "fullname": "Ann Example", "workphone": 5551,
           "password": "$6$abcdefgh$" + "x" * 86, "home": "/home/ann"}
    made = assert_full_cycle("user.present", ann, runner, snap)
    uid = made.changes["uid"]
    assert made.changes == {"fullname": "Ann Example", "gid": uid, "groups": ["adm", "ann", "web"], "home": "/home/ann",
                            "homephone": "", "name": "ann", "other": "", "passwd": "x", "roomnumber": "", "shell": "/bin/sh",
                            "uid": uid, "workphone": "5551", "password": "XXX-REDACTED-XXX"}
    assert line(root, "shadow", "ann").split(":")[1] == ann["password"]
    profile = root / "home/ann/.profile"
    assert profile.read_text() == "# the container's skel\n" and profile.stat().st_uid == uid  # the root's skel

    # changed in place: the uid stays, the settings not named stay
    changed = assert_full_cycle("user.present", {"name": "ann", "shell": "/bin/bash", "groups": ["web"],
                                                 "fullname": "Ann E"}, runner, snap)
    assert changed.changes == {"shell": "/bin/bash", "fullname": "Ann E", "groups": ["ann", "web"]}
    assert line(root, "passwd", "ann") == f"ann:x:{uid}:{uid}:Ann E,,5551:/home/ann:/bin/bash"
    assert "ann" not in line(root, "group", "adm")

    added = assert_full_cycle("group.present", {"name": "adm", "addusers": ["ann"]}, runner, snap)
    assert added.changes == {"Final": "All changes applied successfully"}
    assert line(root, "group", "adm") == "adm:*:4:fred,ann"

    gone = assert_full_cycle("user.absent", {"name": "ann", "purge": True}, runner, snap)
    assert gone.changes == {"ann group": "removed", "ann": "removed"}
    assert not (root / "home/ann").exists() and "ann" not in (root / "etc/group").read_text()
    assert assert_full_cycle("group.absent", {"name": "web"}, runner, snap).changes == {"web": ""}


def test_home_created_for_an_existing_user_and_hashed_password(root: Path) -> None:
    runner, snap = Runner(root=root), snapshot(root)
    made = assert_full_cycle("user.present", {"name": "fred", "password": "s3cret", "hash_password": True}, runner, snap)
    assert made.changes == {"homeDoesNotExist": "/home/fred", "passwd": "XXX-REDACTED-XXX"}
    assert "s3cret" not in made.comment + str(made.changes)
    home = (root / "home/fred").lstat()
    assert (home.st_uid, home.st_gid, oct(home.st_mode & 0o7777)) == (2001, 2001, "0o755")
    stored = line(root, "shadow", "fred").split(":")[1]
    _, algo, salt, _ = stored.split("$")
    again = subprocess.run(["openssl", "passwd", "-6", "-salt", salt, "s3cret"], capture_output=True, text=True)
    assert algo == "6" and again.stdout.strip() == stored  # a real SHA-512 crypt of the clear text
    # the same clear text later: no change (the salt in /etc/shadow is reused, as Salt does)
    assert run("user.present", {"name": "fred", "password": "s3cret", "hash_password": True}, runner).changes == {}


def test_bad_input_and_hostile_roots_change_nothing(root: Path, tmp_path_factory) -> None:
    runner, snap = Runner(root=root), snapshot(root)
    assert_refused("user.present", {"name": "fred", "uid": 4000}, runner, snap, "set allow_uid_change to True")
    assert_refused("user.present", {"name": "zed", "groups": ["nope"]}, runner, snap, "not present: nope")
    assert_refused("user.present", {"name": "-o"}, runner, snap, "not a valid user or group name")
    assert_refused("user.present", {"name": "zed", "fullname": "a:b"}, runner, snap, "contains ':'")
    assert_refused("group.present", {"name": "web", "gid": 3000}, runner, snap, "already taken by group ops")
    assert_refused("group.absent", {"name": "fred"}, runner, snap, "primary group of user(s) fred")

    # a home that is a symlink out of the root: never purged, never created through
    outside = tmp_path_factory.mktemp("outside")
    (outside / "precious").write_text("keep")
    (root / "home/fred").symlink_to(outside)
    assert_refused("user.absent", {"name": "fred", "purge": True}, runner, snap, "symlink")
    assert (outside / "precious").read_text() == "keep"

    # a container whose /etc/passwd links to another file: the tools would edit that file
    victim = outside / "passwd"
    victim.write_text("root:x:0:0:root:/root:/bin/bash\n")
    (root / "etc/passwd").unlink()
    (root / "etc/passwd").symlink_to(victim)
    assert_refused("user.present", {"name": "zed"}, runner, lambda: victim.read_bytes(), "is a symlink")
    assert_refused("group.present", {"name": "zed"}, runner, lambda: victim.read_bytes(), "is a symlink")


def test_password_lock_keeps_the_hash_and_converges(root: Path) -> None:
    runner, snap = Runner(root=root), snapshot(root)
    before = line(root, "shadow", "fred").split(":")[1]
    locked = assert_full_cycle("user.present", {"name": "fred", "password": before, "password_lock": True,
                                                "createhome": False}, runner, snap)
    assert locked.changes == {"passwd": "XXX-REDACTED-XXX"}
    assert line(root, "shadow", "fred").split(":")[1] == "!" + before
    new = "$6$saltsalt$" + "y" * 86
    changed = assert_full_cycle("user.present", {"name": "fred", "password": new, "password_lock": True,
                                                 "createhome": False}, runner, snap)
    assert changed.changes == {"passwd": "XXX-REDACTED-XXX"} and new not in changed.comment
    assert line(root, "shadow", "fred").split(":")[1] == "!" + new  # still locked, with the new hash
    assert_full_cycle("user.present", {"name": "fred", "password_lock": False, "createhome": False}, runner, snap)
    assert line(root, "shadow", "fred").split(":")[1] == new


def test_a_failed_command_does_not_show_the_hash(root: Path) -> None:
    (root / "etc/shadow").chmod(0o640)
    secret = "$6$saltsalt$" + "z" * 86
    # useradd fails (a group named like the user exists and -U asks for a new one); its argv has the hash
    res = run("user.present", {"name": "ops", "usergroup": True, "password": secret, "createhome": False},
              Runner(root=root))
    assert res.result is False and "useradd" in res.comment and "group ops exists" in res.comment
    assert secret not in res.comment and "XXX-REDACTED-XXX" in res.comment


def test_password_aging_fields(root: Path) -> None:
    runner, snap = Runner(root=root), snapshot(root)
    made = assert_full_cycle("user.present", {"name": "ann", "maxdays": 90, "warndays": 14, "createhome": False},
                             runner, snap)
    assert made.changes["maxdays"] == 90 and made.changes["warndays"] == 14
    assert line(root, "shadow", "ann").split(":")[4:6] == ["90", "14"]
    changed = assert_full_cycle("user.present", {"name": "ann", "maxdays": 90, "mindays": 1, "expire": 20454,
                                                 "inactdays": -1, "createhome": False}, runner, snap)
    assert changed.changes == {"min": 1, "expire": 20454}  # inactdays -1 is the empty field already there
    assert line(root, "shadow", "ann").split(":")[3:8] == ["1", "90", "14", "", "20454"]


def test_a_symlinked_parent_of_the_home_is_not_purged_or_created_through(root: Path, tmp_path_factory) -> None:
    """Attack pass (#11): the container's root replaces its /home by a symlink to a host
    directory ('/home -> /abs/host/dir' resolves on the host): userdel --prefix -r removed
    the host's files, and useradd --prefix -m made a directory there owned by the new user."""
    host = tmp_path_factory.mktemp("host")
    (host / "fred").mkdir()
    (host / "fred/precious").write_text("keep")
    shutil.rmtree(root / "home")
    (root / "home").symlink_to(host)
    runner, snap = Runner(root=root), lambda: (snapshot(root)()[0], sorted(str(p) for p in host.rglob("*")))
    assert_refused("user.absent", {"name": "fred", "purge": True}, runner, snap, "symlink")
    assert (host / "fred/precious").read_text() == "keep"
    assert_refused("user.present", {"name": "zed", "home": "/home/zed"}, runner, snap, "symlink")
    assert_refused("user.present", {"name": "zed"}, runner, snap, "symlink")  # useradd's default /home/zed
    assert not (host / "zed").exists()
