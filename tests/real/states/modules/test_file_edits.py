"""file.append, file.replace, file.symlink against a real temp root: full cycle and refusals."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from saline.states.engine.runner import Runner
from tests.harness import assert_full_cycle, assert_refused, run
from tests.real.states.modules.test_file import tree_snapshot

pytestmark = pytest.mark.real


def links(root: Path):
    """The tree with each symlink's target, so re-pointing a link shows as a change."""
    files = tree_snapshot(root)
    return lambda: (files(), sorted((str(p), os.readlink(p)) for p in root.rglob("*") if p.is_symlink()))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "etc").mkdir()
    return tmp_path


@pytest.fixture
def runner(root: Path) -> Runner:
    return Runner(root=root)


def test_append_adds_only_what_is_missing(root, runner):
    conf = root / "etc/profile"
    conf.write_text("export A=1\nexport  B=2")  # no final newline; B spaced differently
    applied = assert_full_cycle("file.append", {"name": "/etc/profile", "text": ["export B=2", "export C=3"]},
                                runner, tree_snapshot(root))
    assert conf.read_text() == "export A=1\nexport  B=2\nexport C=3\n"
    assert "+export C=3" in applied.changes["diff"]


def test_append_creates_a_missing_file_with_makedirs(root, runner):
    assert_full_cycle("file.append", {"name": "/etc/new/list", "text": "one", "makedirs": True}, runner,
                      tree_snapshot(root))
    assert (root / "etc/new/list").read_text() == "one\n"


def test_replace_multiline_count_and_append_if_not_found(root, runner):
    conf = root / "etc/ssh.conf"
    conf.write_text("PermitRootLogin yes\n# PermitRootLogin yes\nX 1\n")
    assert_full_cycle("file.replace", {"name": "/etc/ssh.conf", "pattern": "^PermitRootLogin .*$",
                                       "repl": "PermitRootLogin no"}, runner, tree_snapshot(root))
    assert conf.read_text() == "PermitRootLogin no\n# PermitRootLogin yes\nX 1\n"
    assert (root / "etc/ssh.conf.bak").read_text() == "PermitRootLogin yes\n# PermitRootLogin yes\nX 1\n"  # Salt's backup
    assert_full_cycle("file.replace", {"name": "/etc/ssh.conf", "pattern": "^Banner .*$", "repl": "Banner /etc/issue",
                                       "append_if_not_found": True}, runner, tree_snapshot(root))
    assert conf.read_text().endswith("X 1\nBanner /etc/issue\n")
    same = run("file.replace", {"name": "/etc/ssh.conf", "pattern": "^Nothing$", "repl": "x", "backup": False}, runner)
    assert same.result is True and same.changes == {}


def test_replace_refusals(root, runner):
    snap = tree_snapshot(root)
    assert_refused("file.replace", {"name": "/etc/none", "pattern": "a", "repl": "b"}, runner, snap, "does not exist")
    assert_refused("file.replace", {"name": "/etc/x", "pattern": "(", "repl": "b"}, runner, snap, "regular expression")
    skipped = run("file.replace", {"name": "/etc/none", "pattern": "a", "repl": "b", "ignore_if_missing": True}, runner)
    assert skipped.result is True and skipped.changes == {}


def test_symlink_create_repoint_and_force(root, runner):
    applied = assert_full_cycle("file.symlink", {"name": "/etc/alt", "target": "/usr/bin/vim"}, runner,
                                links(root))
    assert os.readlink(root / "etc/alt") == "/usr/bin/vim" and applied.changes == {"new": "/etc/alt"}
    # Salt's dry run of a re-point says {"change": path}; applied, {"new": path}.
    assert run("file.symlink", {"name": "/etc/alt", "target": "/usr/bin/nano"}, runner, test=True).changes == \
        {"change": "/etc/alt"}
    repointed = assert_full_cycle("file.symlink", {"name": "/etc/alt", "target": "/usr/bin/nano"}, runner, links(root))
    assert os.readlink(root / "etc/alt") == "/usr/bin/nano" and repointed.changes == {"new": "/etc/alt"}
    (root / "etc/in-the-way").mkdir()
    assert_refused("file.symlink", {"name": "/etc/in-the-way", "target": "x"}, runner, links(root),
                   "set force: true")
    assert_full_cycle("file.symlink", {"name": "/etc/in-the-way", "target": "x", "force": True}, runner,
                      links(root))
    assert os.readlink(root / "etc/in-the-way") == "x"
