"""git.latest with a local bare repository as the remote and the checkout in a temp root."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from saline.states.engine.runner import Runner
from tests.harness import assert_full_cycle, assert_refused

pytestmark = pytest.mark.real

ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
       "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_GLOBAL": "/dev/null", "HOME": "/nonexistent",
       "PATH": "/usr/bin:/bin"}


def git(*argv: str, cwd: Path) -> str:
    return subprocess.run(["git", *argv], cwd=cwd, env=ENV, check=True, capture_output=True, text=True).stdout.strip()


def commit(work: Path, name: str, text: str) -> str:
    (work / name).write_text(text)
    git("add", name, cwd=work)
    git("commit", "-q", "-m", name, cwd=work)
    git("push", "-q", "origin", "HEAD:main", cwd=work)
    return git("rev-parse", "HEAD", cwd=work)


@pytest.fixture
def remote(tmp_path: Path) -> tuple[Path, Path]:
    bare, work = tmp_path / "remote.git", tmp_path / "work"
    git("init", "-q", "--bare", "-b", "main", str(bare), cwd=tmp_path)
    git("clone", "-q", str(bare), str(work), cwd=tmp_path)
    git("checkout", "-q", "-b", "main", cwd=work)
    commit(work, "README", "one\n")
    git("tag", "v1", cwd=work)
    git("push", "-q", "origin", "v1", cwd=work)
    return bare, work


def test_clone_update_local_changes_and_tags(tmp_path: Path, remote) -> None:
    bare, work = remote
    root = tmp_path / "root"
    root.mkdir()
    runner = Runner(root=root)
    checkout = root / "srv/app"
    snap = lambda: (sorted(p.name for p in checkout.iterdir()) if checkout.exists() else None,  # noqa: E731
                    git("rev-parse", "HEAD", cwd=checkout) if checkout.exists() else None,
                    (checkout / "README").read_text() if checkout.exists() else None)
    args = {"name": str(bare), "target": "/srv/app"}
    made = assert_full_cycle("git.latest", args, runner, snap)
    first = git("rev-parse", "HEAD", cwd=work)
    assert made.changes == {"new": f"{bare} => /srv/app", "revision": {"old": None, "new": first}}

    second = commit(work, "NEWS", "two\n")
    moved = assert_full_cycle("git.latest", args, runner, snap)
    assert moved.changes == {"revision": {"old": first, "new": second}}
    assert (checkout / "NEWS").read_text() == "two\n"

    third = commit(work, "README", "three\n")
    (checkout / "README").write_text("edited here\n")
    assert_refused("git.latest", args, runner, snap, "has local changes; set force_reset")
    assert_full_cycle("git.latest", {**args, "force_reset": True}, runner, snap)
    assert (checkout / "README").read_text() == "three\n" and git("rev-parse", "HEAD", cwd=checkout) == third

    # an older tag is not a fast-forward: refused without force_reset
    assert_refused("git.latest", {**args, "rev": "v1"}, runner, snap, "not a fast-forward")
    assert_full_cycle("git.latest", {**args, "rev": "v1", "force_reset": True}, runner, snap)
    assert git("rev-parse", "HEAD", cwd=checkout) == first


def test_bad_input_changes_nothing(tmp_path: Path, remote) -> None:
    bare, _ = remote
    root = tmp_path / "root"
    (root / "srv/taken").mkdir(parents=True)
    (root / "srv/taken/file").write_text("x")
    runner = Runner(root=root)
    snap = lambda: sorted(str(p) for p in root.rglob("*"))  # noqa: E731
    assert_refused("git.latest", {"name": "ext::sh -c touch% /tmp/pwned", "target": "/srv/a"}, runner, snap,
                   "is not a git URL")
    assert_refused("git.latest", {"name": "--upload-pack=touch /tmp/x", "target": "/srv/a"}, runner, snap,
                   "is not a git URL")
    assert_refused("git.latest", {"name": str(bare), "target": "/srv/a", "rev": "--orphan"}, runner, snap,
                   "not a valid value for the 'rev'")
    assert_refused("git.latest", {"name": str(bare), "target": "/srv/a", "rev": "nope"}, runner, snap,
                   "No revision matching 'nope'")
    assert_refused("git.latest", {"name": str(bare), "target": "/srv/taken"}, runner, snap,
                   "is not an empty directory or a git checkout")
    assert_refused("git.latest", {"name": str(tmp_path / "nothing.git"), "target": "/srv/a"}, runner, snap,
                   "Failed to check remote refs")
