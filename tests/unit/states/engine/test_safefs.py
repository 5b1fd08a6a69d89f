"""File steps under the state root: no symlink followed out of the root, none followed at the
last component, and a file swapped for a symlink between facts and apply is not touched
(issue #11 item 3)."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from saline.states.engine.base import MkdirStep, RemoveStep, SetAttrsStep, WriteFileStep, execute_step
from saline.states.engine.runner import Runner
from saline.states.engine.safefs import read_as_seen, resolve
from tests.harness import assert_full_cycle, run


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def layout(tmp_path: Path):
    """root/ (the state root) and a root-owned 0600 secret and 0700 directory outside it."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "etc").mkdir(parents=True)
    outside.mkdir(mode=0o700)
    os.chmod(outside, 0o700)
    secret = outside / "secret"
    secret.write_text("s3cret\n")
    os.chmod(secret, 0o600)
    return root, outside, secret


@pytest.mark.parametrize("step, victim", [
    (SetAttrsStep(description="chmod", path="/etc/app", mode=0o604), "secret"),
    (SetAttrsStep(description="chown", path="/etc/app", user="nobody"), "secret"),
    (MkdirStep(description="mkdir", path="/etc/app", mode=0o777), "outside"),
])
def test_mode_or_owner_change_on_a_path_swapped_for_a_symlink_is_refused(layout, step, victim: str) -> None:
    root, outside, secret = layout
    target = secret if victim == "secret" else outside
    before = os.stat(target)
    (root / "etc" / "app").symlink_to(target)  # the swap, after the facts saw a file or directory
    with pytest.raises(OSError, match="/etc/app is a symbolic link; refusing to change what it points to"):
        execute_step(step, Runner(root=root))
    after = os.stat(target)
    assert (after.st_mode, after.st_uid, after.st_gid) == (before.st_mode, before.st_uid, before.st_gid)


def test_write_replaces_a_symlink_and_never_copies_its_target(layout) -> None:
    root, _, secret = layout
    (root / "etc" / "app.conf").symlink_to(secret)
    execute_step(WriteFileStep(description="write", path="/etc/app.conf", content=b"new\n"), Runner(root=root))
    assert secret.read_text() == "s3cret\n" and mode(secret) == 0o600
    assert (root / "etc" / "app.conf").read_text() == "new\n" and mode(root / "etc" / "app.conf") == 0o644


@pytest.mark.parametrize("link", ["absolute", "relative"])
def test_a_symlinked_parent_cannot_lead_a_write_out_of_the_root(layout, link: str) -> None:
    root, outside, _ = layout
    target = str(outside) if link == "absolute" else "../../../outside"
    (root / "etc" / "app").symlink_to(target)
    res = run("file.managed", {"name": "/etc/app/app.conf", "contents": "x\n", "makedirs": True}, Runner(root=root))
    assert res.result is True, res.comment
    assert sorted(p.name for p in outside.iterdir()) == ["secret"]
    # Resolved as the kernel would inside a chroot at root: ROOT/<target>.
    inside = root / (str(outside).lstrip("/") if link == "absolute" else "outside")
    assert (inside / "app.conf").read_text() == "x\n"
    assert resolve(root, "/etc/app/app.conf") == inside / "app.conf"


def test_links_inside_the_root_still_work_for_every_step(tmp_path: Path) -> None:
    """A container rootfs with merged /usr: /lib -> usr/lib; the full cycle through it."""
    root = tmp_path / "root"
    (root / "usr" / "lib").mkdir(parents=True)
    (root / "lib").symlink_to("usr/lib")
    runner = Runner(root=root)

    def snapshot():
        return sorted((str(p.relative_to(root)), p.is_symlink(), mode(p)) for p in root.rglob("*"))

    assert_full_cycle("file.managed", {"name": "/lib/app/app.conf", "contents": "x\n", "makedirs": True, "mode": "0640"},
                      runner, snapshot)
    assert (root / "usr/lib/app/app.conf").read_text() == "x\n" and mode(root / "usr/lib/app/app.conf") == 0o640
    assert_full_cycle("file.directory", {"name": "/lib/d", "mode": "0750"}, runner, snapshot)
    assert mode(root / "usr/lib/d") == 0o750
    execute_step(RemoveStep(description="rm", path="/lib/d"), runner)
    assert not (root / "usr/lib/d").exists() and (root / "lib").is_symlink()


def test_a_racing_swap_never_changes_the_secret(layout) -> None:
    """A local user flips /etc/app.conf between a file and a symlink to the secret while
    file.managed sets its mode, again and again."""
    root, _, secret = layout
    conf, spare, spare_link = root / "etc" / "app.conf", root / "etc" / ".file", root / "etc" / ".link"
    stop = threading.Event()

    def attacker() -> None:
        while not stop.is_set():
            spare.write_text("x\n")
            os.chmod(spare, 0o600)
            os.replace(spare, conf)
            spare_link.symlink_to(secret)
            os.replace(spare_link, conf)

    thread = threading.Thread(target=attacker)
    thread.start()
    try:
        for _ in range(300):
            run("file.managed", {"name": "/etc/app.conf", "contents": "x\n", "mode": "0604", "replace": False}, Runner(root=root))
            run("file.managed", {"name": "/etc/app.conf", "contents": "x\n", "mode": "0604"}, Runner(root=root))
    finally:
        stop.set()
        thread.join()
    assert mode(secret) == 0o600 and secret.read_text() == "s3cret\n"


def test_facts_never_read_a_symlink_swapped_in_after_the_lstat(layout) -> None:
    root, _, secret = layout
    conf = root / "etc" / "app.conf"
    conf.write_text("mine\n")
    os.link(conf, root / "keep")  # the inode stays in use, so a new file cannot get its number
    seen = os.lstat(conf)
    assert read_as_seen(conf, seen) == b"mine\n"
    conf.unlink()
    conf.symlink_to(secret)
    with pytest.raises(OSError):  # ELOOP: O_NOFOLLOW
        read_as_seen(conf, seen)
    conf.unlink()
    conf.write_text("another file\n")
    with pytest.raises(OSError, match="was replaced while it was being read"):
        read_as_seen(conf, seen)
