"""file.directory with recurse / max_depth / clean against a real temp root: full cycle, refusals,
and the hostile cases — an entry swapped for a symlink between the facts and the steps, and a
tree too big to walk."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from saline.states.engine import safetree
from saline.states.engine.apply import lookup, run_steps, validate_args
from saline.states.engine.runner import Runner
from tests.harness import assert_full_cycle, assert_refused, ctx, run
from tests.real.states.modules.test_file import tree_snapshot

pytestmark = pytest.mark.real

NOBODY, NOGROUP = 65534, 65534
RECURSE = {"name": "/srv/tree", "user": "nobody", "group": "nogroup", "dir_mode": "0750", "file_mode": "0640",
           "recurse": ["user", "group", "mode"]}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    tree = tmp_path / "srv/tree"
    (tree / "a/b").mkdir(parents=True)
    (tree / "a/f").write_text("f\n")
    (tree / "g").write_text("g\n")
    (tree / "link").symlink_to("/etc/passwd")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside/secret").write_text("s\n")
    (tmp_path / "outside/secret").chmod(0o600)
    return tmp_path


def modes(root: Path) -> dict[str, tuple[int, int, int]]:
    return {str(p.relative_to(root)): (p.lstat().st_mode & 0o7777, p.lstat().st_uid, p.lstat().st_gid)
            for p in sorted((root / "srv/tree").rglob("*"))}


def test_recurse_full_cycle_sets_every_entry_and_only_the_links_owner(root):
    passwd = os.stat("/etc/passwd")
    applied = assert_full_cycle("file.directory", RECURSE, Runner(root=root), tree_snapshot(root))
    got = modes(root)
    assert got["srv/tree/a"] == got["srv/tree/a/b"] == (0o750, NOBODY, NOGROUP)
    assert got["srv/tree/a/f"] == got["srv/tree/g"] == (0o640, NOBODY, NOGROUP)
    assert got["srv/tree/link"][1:] == (NOBODY, NOGROUP)  # lchown, as Salt
    after = os.stat("/etc/passwd")
    assert (after.st_mode, after.st_uid, after.st_gid) == (passwd.st_mode, passwd.st_uid, passwd.st_gid)
    # Salt's shape: every path that changed, and the directory's own changes at the top.
    assert applied.changes["/srv/tree/a/f"] == {"user": "nobody", "group": "nogroup", "mode": "0640"}
    assert applied.changes["/srv/tree/link"] == {"user": "nobody", "group": "nogroup"}
    assert {applied.changes[k] for k in ("user", "group", "mode")} == {"nobody", "nogroup", "0750"}


def test_recurse_mode_only_ignore_dirs_and_max_depth(root):
    args = {"name": "/srv/tree", "file_mode": "0600", "recurse": ["mode", "ignore_dirs"], "max_depth": 1}
    applied = assert_full_cycle("file.directory", args, Runner(root=root), tree_snapshot(root))
    got = modes(root)
    assert got["srv/tree/g"][0] == 0o600
    assert got["srv/tree/a/f"][0] == 0o644  # two levels down: past max_depth
    assert got["srv/tree/a"][0] == 0o755  # a directory: ignore_dirs
    assert applied.changes == {"/srv/tree/g": {"mode": "0600"}, "mode": "0600"}  # Salt repeats the last at the top


def test_clean_keeps_the_required_paths_and_exclude_pat(root):
    (root / "srv/tree/keep.conf").write_text("k\n")
    (root / "srv/tree/a/b/deep.conf").write_text("d\n")
    args = {"name": "/srv/tree", "clean": True, "exclude_pat": "*.conf", "keep": ["/srv/tree/a/f"]}
    applied = assert_full_cycle("file.directory", args, Runner(root=root), tree_snapshot(root))
    left = sorted(str(p.relative_to(root / "srv/tree")) for p in (root / "srv/tree").rglob("*"))
    # a/f is required; a/b holds a file exclude_pat spares (saline keeps what holds it; see file_tree)
    assert left == ["a", "a/b", "a/b/deep.conf", "a/f", "keep.conf"]
    assert applied.changes["removed"] == ["/srv/tree/g", "/srv/tree/link"]
    assert applied.changes["/srv/tree/link"] == {"removed": "Removed due to clean"}
    assert (root / "outside/secret").exists() and os.path.exists("/etc/passwd")


@pytest.mark.parametrize("args, match", [
    ({**RECURSE, "recurse": ["user"], "user": None}, "user not specified"),
    ({"name": "/srv/tree", "clean": True, "max_depth": 1}, "both max_depth and clean"),
    ({"name": "/srv/tree", "recurse": ["ignore_files", "ignore_dirs"]}, "at the same time"),
    ({"name": "/srv/tree", "recurse": ["owner"]}, "recurse"),
    ({"name": "/srv/tree", "clean": True, "exclude_pat": "E@("}, "not a valid regular expression"),
    ({**RECURSE, "user": "no-such-user"}, "unknown user"),
    ({"name": "/srv/tree/g", "recurse": ["mode"], "dir_mode": "0700"}, "not a directory"),
])
def test_refusals_change_nothing(root, args, match):
    assert_refused("file.directory", args, Runner(root=root), tree_snapshot(root), match)


def _plan_then(root: Path, args: dict, between) -> None:
    """Facts and plan now, ``between`` runs, then the plan's steps (what a racing local user gets)."""
    context = ctx(Runner(root=root))
    fn = lookup("file.directory")
    parsed = validate_args(fn, args)
    plan = fn.plan(parsed, fn.facts(parsed, context))
    assert plan.steps
    between()
    run_steps(plan.steps, context)


def _swap_for_link(root: Path) -> None:
    shutil.rmtree(root / "srv/tree/a")
    (root / "srv/tree/a").symlink_to(root / "outside")


def test_recurse_never_follows_an_entry_swapped_for_a_symlink(root):
    before = (root / "outside/secret").stat()
    _plan_then(root, RECURSE, lambda: _swap_for_link(root))
    after = (root / "outside/secret").stat()
    assert (after.st_mode, after.st_uid) == (before.st_mode, before.st_uid)
    assert (root / "outside").stat().st_uid == 0
    assert (root / "srv/tree/a").lstat().st_uid == NOBODY  # the link itself, as any link in the tree


def test_clean_never_follows_an_entry_swapped_for_a_symlink(root):
    (root / "srv/tree/a/b/old").write_text("o\n")
    args = {"name": "/srv/tree", "clean": True, "keep": ["/srv/tree/a/f", "/srv/tree/g"]}
    # the plan removes a/b (not kept); a is swapped for a link to outside/ holding a "b"
    (root / "outside/b").mkdir()
    (root / "outside/b/precious").write_text("p\n")
    _plan_then(root, args, lambda: _swap_for_link(root))
    assert (root / "outside/b/precious").read_text() == "p\n"
    assert (root / "outside/secret").exists()


def test_a_tree_too_big_is_refused_and_a_big_one_is_listed_in_part(root, monkeypatch):
    many = root / "srv/tree/many"
    many.mkdir()
    for n in range(600):
        (many / f"f{n:03}").write_text("")
    applied = run("file.directory", {"name": "/srv/tree", "file_mode": "0600", "recurse": ["mode"]}, Runner(root=root))
    assert applied.result is True
    assert len(applied.changes) == 502 and applied.changes["mode"] == "0600" and applied.changes["truncated"] == "102 more paths not listed"  # 602 files (dirs have no mode here)
    assert all((many / f"f{n:03}").stat().st_mode & 0o777 == 0o600 for n in range(600))
    monkeypatch.setattr(safetree, "MAX_ENTRIES", 100)
    assert_refused("file.directory", {"name": "/srv/tree", "file_mode": "0640", "recurse": ["mode"]},
                   Runner(root=root), tree_snapshot(root), "more than 100 entries")
