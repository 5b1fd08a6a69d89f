"""file.* against a real temp root: full cycle (dry run, apply, re-apply, dry run) and refusals."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from saline.states.engine.runner import Runner
from tests.harness import assert_full_cycle, assert_refused, run
from tests.paths import FIXTURES

pytestmark = pytest.mark.real

FIXTURES = FIXTURES / "file"
LVM_RULE_REGEX = r'^SUBSYSTEM=="block", ACTION=="add\|change", ENV\{ID_FS_TYPE\}=="lvm'


def tree_snapshot(root: Path):
    """Every path under the root with its type, mode, owner and bytes."""

    def snap():
        out = {}
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                p = Path(dirpath, name)
                st = p.lstat()
                body = p.read_bytes() if p.is_file() and not p.is_symlink() else None
                out[str(p.relative_to(root))] = (st.st_mode, st.st_uid, st.st_gid, body)
        return out

    return snap


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "etc" / "default").mkdir(parents=True)
    return tmp_path


@pytest.fixture
def runner(root: Path) -> Runner:
    return Runner(root=root)


def test_managed_full_cycle_creates_with_mode_and_owner(root, runner):
    args = {"name": "/etc/saline/motd", "contents": "hello\n", "mode": "0640", "user": "root", "group": "daemon",
            "makedirs": True}
    applied = assert_full_cycle("file.managed", args, runner, tree_snapshot(root))
    target = root / "etc/saline/motd"
    assert target.read_text() == "hello\n" and oct(target.stat().st_mode & 0o7777) == "0o640"
    assert target.stat().st_gid == 1  # daemon
    assert applied.changes == {"diff": "New file", "mode": "0640"}


def test_managed_full_cycle_fixes_drifted_content_and_mode(root, runner):
    target = root / "etc/motd"
    target.write_text("old\n")
    target.chmod(0o600)
    applied = assert_full_cycle("file.managed", {"name": "/etc/motd", "contents": "new\n", "mode": 644}, runner,
                                tree_snapshot(root))
    assert applied.changes["mode"] == "0644"
    assert "-old\n+new\n" in applied.changes["diff"]
    assert target.read_text() == "new\n" and target.stat().st_mode & 0o777 == 0o644


def test_managed_create_false_leaves_a_missing_file_missing(root, runner):
    snap = tree_snapshot(root)
    before = snap()
    for test in (True, False):
        result = run("file.managed", {"name": "/etc/none", "contents": "x", "create": False}, runner, test=test)
        assert result.result is True and result.changes == {}
        assert result.comment == "File /etc/none is not present and is not set for creation"
    assert snap() == before


def test_managed_mode_only_change(root, runner):
    (root / "etc/motd").write_text("same\n")
    applied = assert_full_cycle("file.managed", {"name": "/etc/motd", "mode": "0600"}, runner, tree_snapshot(root))
    assert applied.changes == {"mode": "0600"}


@pytest.mark.parametrize("args,match", [
    ({"name": "etc/motd", "contents": "x"}, "not an absolute path"),
    ({"name": "/etc/../motd", "contents": "x"}, "'..'"),
    ({"name": "/etc/motd", "mode": "0999"}, "not an octal file mode"),
    ({"name": "/etc/motd", "source": "salt://motd"}, "source"),
    ({"name": "/etc/motd", "user": "no-such-user-saline"}, "unknown user"),
    ({"name": "/etc/new/motd", "contents": "x"}, "makedirs"),
    ({"name": "/etc/default", "contents": "x"}, "is a directory, not a file"),
])
def test_managed_refusals_leave_the_root_alone(root, runner, args, match):
    assert_refused("file.managed", args, runner, tree_snapshot(root), match)


def test_managed_refuses_a_symlink_with_follow_symlinks_false(root, runner):
    (root / "etc/link").symlink_to("motd")
    assert_refused("file.managed", {"name": "/etc/link", "contents": "x", "follow_symlinks": False}, runner,
                   tree_snapshot(root), "follow_symlinks is false")


def test_directory_full_cycle(root, runner):
    assert_full_cycle("file.directory", {"name": "/var/lib/saline/x", "mode": "0750", "makedirs": True}, runner,
                      tree_snapshot(root))
    assert (root / "var/lib/saline/x").stat().st_mode & 0o7777 == 0o750


def test_directory_refusals(root, runner):
    (root / "etc/motd").write_text("x")
    assert_refused("file.directory", {"name": "/etc/motd"}, runner, tree_snapshot(root), "not a directory")
    assert_refused("file.directory", {"name": "/a/b"}, runner, tree_snapshot(root), "makedirs")


def test_absent_full_cycle_removes_a_tree(root, runner):
    (root / "etc/old.d/sub").mkdir(parents=True)
    (root / "etc/old.d/sub/f").write_text("x")
    assert_full_cycle("file.absent", {"name": "/etc/old.d"}, runner, tree_snapshot(root))
    assert not (root / "etc/old.d").exists() and (root / "etc/default").is_dir()


@pytest.mark.parametrize("name", ["/", "//"])
def test_absent_refuses_root(root, runner, name):
    assert_refused("file.absent", {"name": name}, runner, tree_snapshot(root), "refusing to make '/' absent")


def test_keyvalue_full_cycle_on_grub_default(root, runner):
    grub = root / "etc/default/grub"
    grub.write_text((FIXTURES / "grub.default").read_text().replace("GRUB_TIMEOUT=5", "GRUB_TIMEOUT=2"))
    applied = assert_full_cycle(
        "file.keyvalue",
        {"name": "/etc/default/grub", "key_values": {"GRUB_TIMEOUT": 5, "GRUB_DISABLE_OS_PROBER": True,
                                                    "GRUB_TERMINAL": "console"}, "uncomment": "#"},
        runner, tree_snapshot(root))
    assert "-GRUB_TIMEOUT=2\n+GRUB_TIMEOUT=5\n" in applied.changes["diff"]
    text = grub.read_text()
    assert "GRUB_TIMEOUT=5\n" in text and "\nGRUB_TERMINAL=console\n" in text
    assert "GRUB_DISABLE_OS_PROBER=true\n" in text


def test_keyvalue_append_and_refusals(root, runner):
    grub = root / "etc/default/grub"
    grub.write_text("GRUB_TIMEOUT=2\n")
    snap = tree_snapshot(root)
    assert_refused("file.keyvalue", {"name": "/etc/default/grub", "key": "GRUB_DISABLE_OS_PROBER", "value": True},
                   runner, snap, "append_if_not_found")
    assert_refused("file.keyvalue", {"name": "/etc/default/nosuch", "key_values": {"A": 1}}, runner, snap,
                   "does not exist")
    assert_refused("file.keyvalue", {"name": "/etc/default/grub", "key_values": {"A": 1}, "frob": 1}, runner, snap,
                   "frob")
    assert_full_cycle("file.keyvalue", {"name": "/etc/default/grub", "key": "GRUB_DISABLE_OS_PROBER",
                                        "value": True, "append_if_not_found": True}, runner, snap)
    assert grub.read_text() == "GRUB_TIMEOUT=2\nGRUB_DISABLE_OS_PROBER=true\n"


def test_comment_full_cycle_on_the_lvm2_udev_rule(root, runner):
    rules = root / "lib/udev/rules.d"
    rules.mkdir(parents=True)
    (rules / "85-lvm2.rules").write_bytes((FIXTURES / "85-lvm2.rules").read_bytes())
    args = {"name": "/lib/udev/rules.d/85-lvm2.rules", "regex": LVM_RULE_REGEX}
    applied = assert_full_cycle("file.comment", args, runner, tree_snapshot(root))
    assert "+#\tRUN+=" in applied.changes["diff"]
    assert all(ln.startswith("#") for ln in (rules / "85-lvm2.rules").read_text().splitlines() if ln)
    # Salt's default backup: the file as it was, next to it.
    assert (rules / "85-lvm2.rules.bak").read_bytes() == (FIXTURES / "85-lvm2.rules").read_bytes()
    # And back: uncomment restores the package's file byte for byte (no backup asked this time).
    assert_full_cycle("file.uncomment", {**args, "backup": False}, runner, tree_snapshot(root))
    assert (rules / "85-lvm2.rules").read_bytes() == (FIXTURES / "85-lvm2.rules").read_bytes()
    assert (rules / "85-lvm2.rules.bak").read_bytes() == (FIXTURES / "85-lvm2.rules").read_bytes()


def test_comment_refusals(root, runner):
    (root / "etc/x.conf").write_text("a=1\n")
    snap = tree_snapshot(root)
    assert_refused("file.comment", {"name": "/etc/x.conf", "regex": "^zzz"}, runner, snap, "not found")
    assert_refused("file.comment", {"name": "/etc/x.conf", "regex": "(["}, runner, snap, "regular expression")
    assert_refused("file.uncomment", {"name": "/etc/none", "regex": "^a"}, runner, snap, "does not exist")
    ok = run("file.comment", {"name": "/etc/none", "regex": "^a", "ignore_missing": True}, runner)
    assert ok.result is True and ok.changes == {} and snap() == snap()


def test_line_full_cycles(root, runner):
    conf = root / "etc/ssh_config"
    conf.write_text("Host *\n#Banner none\n    SendEnv LANG\n")
    snap = tree_snapshot(root)
    assert_full_cycle("file.line", {"name": "/etc/ssh_config", "mode": "replace", "match": "^#?Banner",
                                    "content": "Banner /etc/issue.net"}, runner, snap)
    assert_full_cycle("file.line", {"name": "/etc/ssh_config", "mode": "ensure", "after": "^Host",
                                    "content": "ForwardAgent no"}, runner, snap)
    assert_full_cycle("file.line", {"name": "/etc/ssh_config", "mode": "delete", "match": "SendEnv"}, runner, snap)
    assert_full_cycle("file.line", {"name": "/etc/new.conf", "mode": "insert", "content": "x=1", "create": True},
                      runner, snap)
    assert conf.read_text() == "Host *\nForwardAgent no\nBanner /etc/issue.net\n"
    assert (root / "etc/new.conf").read_text() == "x=1\n"


def test_line_refusals(root, runner):
    (root / "etc/x.conf").write_text("a\n")
    snap = tree_snapshot(root)
    assert_refused("file.line", {"name": "/etc/x.conf", "mode": "ensure", "content": "b", "after": "^q"}, runner,
                   snap, "no line matches after")
    assert_refused("file.line", {"name": "/etc/x.conf", "mode": "ensure", "content": "b"}, runner, snap,
                   "before and/or after")
    assert_refused("file.line", {"name": "/etc/y.conf", "mode": "insert", "content": "b"}, runner, snap,
                   "does not exist")
