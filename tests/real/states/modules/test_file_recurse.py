"""file.recurse (the agent's half: the files the master inlined) against a real temp root: full
cycle, clean, refusals, and a directory of the tree swapped for a symlink before the steps."""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

import pytest

from saline.states.engine.apply import lookup, run_steps, validate_args
from saline.states.engine.runner import Runner
from tests.harness import assert_full_cycle, assert_refused, ctx
from tests.real.states.modules.test_file import tree_snapshot

pytestmark = pytest.mark.real

FILES = {"index.html": "hello\n", "sub/a.txt": "a\n", "sub/deep/d.txt": "d\n"}
ARGS = {"name": "/srv/site", "files": FILES, "user": "nobody", "group": "nogroup", "dir_mode": "0750",
        "file_mode": "0640"}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "srv").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside/a.txt").write_text("precious\n")
    return tmp_path


def test_creates_the_tree_with_owners_and_modes(root):
    applied = assert_full_cycle("file.recurse", ARGS, Runner(root=root), tree_snapshot(root))
    site = root / "srv/site"
    assert (site / "sub/deep/d.txt").read_text() == "d\n"
    assert (site / "sub/deep").stat().st_mode & 0o777 == 0o750 and (site / "index.html").stat().st_mode & 0o777 == 0o640
    assert (site / "sub/a.txt").stat().st_uid == 65534
    assert applied.changes["/srv/site/index.html"] == {"diff": "New file", "user": "nobody", "group": "nogroup",
                                                       "mode": "0640"}
    assert applied.changes["/srv/site/sub"] == {"/srv/site/sub": {"directory": "new"}}


def test_updates_differing_files_and_cleans_what_it_does_not_manage(root):
    site = root / "srv/site"
    (site / "sub/old").mkdir(parents=True)
    (site / "sub/a.txt").write_text("stale\n")
    (site / "sub/old/o").write_text("o\n")
    (site / "keep.bak").write_text("k\n")
    (site / "index.html").mkdir()  # a directory where the tree has a file: clean replaces it
    args = {"name": "/srv/site", "files": FILES, "clean": True, "exclude_pat": "*.bak",
            "keep": ["/srv/site/required"]}
    (site / "required").write_text("r\n")
    applied = assert_full_cycle("file.recurse", args, Runner(root=root), tree_snapshot(root))
    left = sorted(str(p.relative_to(site)) for p in site.rglob("*"))
    assert left == ["index.html", "keep.bak", "required", "sub", "sub/a.txt", "sub/deep", "sub/deep/d.txt"]
    assert applied.changes["removed"] == ["/srv/site/sub/old"]
    assert applied.changes["/srv/site/sub/a.txt"] == {"diff": "--- \n+++ \n@@ -1 +1 @@\n-stale\n+a\n"}


def test_binary_files_are_written_byte_for_byte(root):
    png = b"\x89PNG\r\n\x1a\n\xff\x00"
    args = {"name": "/srv/site", "files": {"a.txt": "a\n"}, "binary_files": {"img/logo.png": base64.b64encode(png).decode()}}
    assert_full_cycle("file.recurse", args, Runner(root=root), tree_snapshot(root))
    assert (root / "srv/site/img/logo.png").read_bytes() == png
    (root / "srv/site/img/logo.png").write_bytes(b"\xff\xfe old")
    changed = assert_full_cycle("file.recurse", args, Runner(root=root), tree_snapshot(root))
    assert changed.changes["/srv/site/img/logo.png"] == {"diff": "Replace binary file"}


def test_replace_false_leaves_content_but_sets_attributes(root):
    (root / "srv/site").mkdir()
    (root / "srv/site/index.html").write_text("mine\n")
    applied = assert_full_cycle("file.recurse", {"name": "/srv/site", "files": {"index.html": "x\n"},
                                                 "replace": False, "file_mode": "0600"}, Runner(root=root),
                                tree_snapshot(root))
    assert (root / "srv/site/index.html").read_text() == "mine\n"
    assert applied.changes == {"/srv/site/index.html": {"mode": "0600"}}


@pytest.mark.parametrize("setup, args, match", [
    (lambda r: (r / "srv/site").write_text("x"), ARGS, "exists and is not a directory"),
    (lambda r: (r / "srv/site/sub").mkdir(parents=True) or (r / "srv/site/sub/a.txt").mkdir(),
     {"name": "/srv/site", "files": FILES}, "clean: true replaces it"),
    (lambda r: None, {**ARGS, "mode": "0644"}, "'mode' is not allowed"),
    (lambda r: None, {**ARGS, "files": {"../x": "x"}}, "plain path"),
    (lambda r: None, {**ARGS, "files": {"a": "x", "a/b": "y"}}, "both a file and the directory"),
    (lambda r: None, {**ARGS, "user": "no-such-user"}, "unknown user"),
    (lambda r: None, {**ARGS, "binary_files": {"x": "not base64!"}}, "not base64"),
    (lambda r: None, {**ARGS, "binary_files": {"index.html": ""}}, "both a text and a binary file"),
])
def test_refusals_change_nothing(root, setup, args, match):
    setup(root)
    assert_refused("file.recurse", args, Runner(root=root), tree_snapshot(root), match)


def test_a_directory_swapped_for_a_symlink_is_not_written_through(root):
    site = root / "srv/site"
    (site / "sub").mkdir(parents=True)
    (site / "sub/a.txt").write_text("stale\n")
    context = ctx(Runner(root=root))
    fn = lookup("file.recurse")
    parsed = validate_args(fn, {"name": "/srv/site", "files": FILES})
    plan = fn.plan(parsed, fn.facts(parsed, context))
    shutil.rmtree(site / "sub")
    (site / "sub").symlink_to(root / "outside")  # what a local user racing the run could do
    with pytest.raises(OSError, match="symbolic link below /srv/site"):
        run_steps(plan.steps, context)
    assert (root / "outside/a.txt").read_text() == "precious\n"
    assert sorted(p.name for p in (root / "outside").iterdir()) == ["a.txt"]


def test_a_target_too_big_to_walk_is_refused(root, monkeypatch):
    from saline.states.engine import safetree

    site = root / "srv/site/junk"
    site.mkdir(parents=True)
    for n in range(50):
        (site / f"f{n}").write_text("")
    monkeypatch.setattr(safetree, "MAX_ENTRIES", 20)
    assert_refused("file.recurse", {"name": "/srv/site", "files": FILES, "clean": True}, Runner(root=root),
                   tree_snapshot(root), "more than 20 entries")


def test_a_file_owned_by_an_id_without_a_name_keeps_its_owner(root):
    (root / "srv/site").mkdir()
    (root / "srv/site/index.html").write_text("old\n")
    os.chown(root / "srv/site/index.html", 54321, 54321)  # no such user or group
    assert_full_cycle("file.recurse", {"name": "/srv/site", "files": {"index.html": "new\n"}}, Runner(root=root),
                      tree_snapshot(root))
    st = (root / "srv/site/index.html").stat()
    assert (st.st_uid, st.st_gid) == (54321, 54321)
