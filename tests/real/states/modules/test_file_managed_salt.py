"""file.managed's check_cmd, backup: minion and follow_symlinks against a real temp root: full
cycle, refusals that change nothing, and the hostile cases (a link not root's, a link swapped
between the facts and the write)."""

from __future__ import annotations

import glob
import os
from pathlib import Path

import pytest

from saline.states.engine import backups
from saline.states.engine.apply import lookup, run_steps, validate_args
from saline.states.engine.runner import Runner
from tests.harness import assert_full_cycle, assert_refused, ctx, run
from tests.real.states.modules.test_file import tree_snapshot

pytestmark = pytest.mark.real


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "root/etc").mkdir(parents=True)
    (tmp_path / "root/etc/sudoers").write_text("old\n")
    (tmp_path / "root/etc/sudoers").chmod(0o440)
    return tmp_path / "root"


def leftover_checks() -> list[str]:
    return glob.glob("/tmp/saline-check-*")


def test_check_cmd_passes_on_the_new_content_then_the_file_is_written(root):
    before = leftover_checks()
    args = {"name": "/etc/sudoers", "contents": "root ALL=(ALL) ALL", "check_cmd": "grep -q ALL=", "tmp_ext": ".conf"}
    applied = assert_full_cycle("file.managed", args, Runner(root=root), tree_snapshot(root))
    assert (root / "etc/sudoers").read_text() == "root ALL=(ALL) ALL\n" and "diff" in applied.changes
    assert leftover_checks() == before  # the temp file is gone


def test_check_cmd_failing_fails_the_state_and_leaves_the_file(root):
    before = tree_snapshot(root)()
    args = {"name": "/etc/sudoers", "contents": "broken", "check_cmd": ["grep", "-q", "ALL="]}
    assert run("file.managed", args, Runner(root=root), test=True).result is None  # as Salt: not run in a dry run
    result = run("file.managed", args, Runner(root=root))
    assert result.result is False and result.changes == {} and result.comment == "check_cmd execution failed", result
    assert tree_snapshot(root)() == before
    assert (root / "etc/sudoers").read_text() == "old\n"


def test_check_cmd_with_shell_syntax_is_an_argument_error(root):
    assert_refused("file.managed", {"name": "/etc/sudoers", "contents": "x", "check_cmd": "visudo -c -f $FILE"},
                   Runner(root=root), tree_snapshot(root), "shell syntax")


def test_backup_minion_keeps_the_old_file_bounded(root, tmp_path):
    store = tmp_path / "state/file_backup"
    os.chown(root / "etc/sudoers", 65534, 65534)
    assert_full_cycle("file.managed", {"name": "/etc/sudoers", "contents": "new", "backup": "minion"},
                      Runner(root=root), tree_snapshot(root), backup_dir=store)
    (kept,) = list((store / "etc").iterdir())
    assert kept.name.startswith("sudoers_") and kept.read_text() == "old\n"
    st = kept.stat()
    assert (st.st_mode & 0o777, st.st_uid, st.st_gid) == (0o440, 65534, 65534)
    for n in range(backups.KEEP + 3):
        result = run("file.managed", {"name": "/etc/sudoers", "contents": f"v{n}", "backup": "minion"},
                     Runner(root=root), backup_dir=store)
        assert result.result is True
    assert len(list((store / "etc").iterdir())) == backups.KEEP
    # each write kept the content before it: the newest KEEP of those are v2 … v11
    assert {p.read_text() for p in (store / "etc").iterdir()} == {f"v{n}\n" for n in range(2, backups.KEEP + 2)}


def test_backup_minion_without_a_backup_directory_is_refused(root):
    assert_refused("file.managed", {"name": "/etc/sudoers", "contents": "new", "backup": "minion"},
                   Runner(root=root), tree_snapshot(root), "backup directory")


def test_a_root_link_in_a_root_directory_is_followed(root):
    (root / "etc/alternatives").mkdir()
    (root / "etc/alternatives/editor.conf").write_text("nano\n")
    (root / "etc/editor.conf").symlink_to("alternatives/editor.conf")
    assert_full_cycle("file.managed", {"name": "/etc/editor.conf", "contents": "vim", "mode": "0600"},
                      Runner(root=root), tree_snapshot(root))
    assert (root / "etc/editor.conf").is_symlink()
    assert (root / "etc/alternatives/editor.conf").read_text() == "vim\n"
    assert (root / "etc/alternatives/editor.conf").stat().st_mode & 0o777 == 0o600


def test_a_dangling_root_link_gets_its_target_created(root):
    (root / "etc/motd").symlink_to("/etc/motd.real")  # absolute: inside the root
    assert_full_cycle("file.managed", {"name": "/etc/motd", "contents": "hi"}, Runner(root=root), tree_snapshot(root))
    assert (root / "etc/motd.real").read_text() == "hi\n"


@pytest.mark.parametrize("make, match", [
    (lambda r: os.lchown(r / "etc/link", 65534, 65534), "owned by uid 65534"),
    (lambda r: (r / "etc").chmod(0o777), "others can write to"),
])
def test_links_others_control_are_not_followed(root, make, match):
    (root / "etc/link").symlink_to("sudoers")
    make(root)
    try:
        assert_refused("file.managed", {"name": "/etc/link", "contents": "pwned"}, Runner(root=root),
                       tree_snapshot(root), match)
        assert (root / "etc/sudoers").read_text() == "old\n"
    finally:
        (root / "etc").chmod(0o755)


def test_a_link_repointed_after_the_facts_cannot_redirect_the_write(root):
    (root / "etc/shadow").write_text("secret\n")
    (root / "etc/target").write_text("t\n")
    (root / "etc/link").symlink_to("target")
    context = ctx(Runner(root=root))
    fn = lookup("file.managed")
    parsed = validate_args(fn, {"name": "/etc/link", "contents": "new"})
    plan = fn.plan(parsed, fn.facts(parsed, context))
    (root / "etc/link").unlink()
    (root / "etc/link").symlink_to("shadow")
    run_steps(plan.steps, context)
    assert (root / "etc/shadow").read_text() == "secret\n"
    assert (root / "etc/target").read_text() == "new\n"


def test_check_cmd_output_is_in_the_comment(root):
    args = {"name": "/etc/sudoers", "contents": "x", "check_cmd": ["sh", "-c", "echo syntax error in $1 >&2; exit 1", "sh"],
            "tmp_ext": ".conf"}
    result = run("file.managed", args, Runner(root=root))
    assert result.result is False and result.comment.startswith("check_cmd execution failed\nsyntax error in /tmp/saline-check-")
    assert result.comment.endswith(".conf") and (root / "etc/sudoers").read_text() == "old\n"
