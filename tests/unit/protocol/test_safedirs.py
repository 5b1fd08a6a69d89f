"""Key, state and socket directories: modes only on what saline creates; refused when another
user owns them or anyone else could write them (ssh's StrictModes), with a message that says what to run."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from saline.agent.pinning import pinned_bundle
from saline.protocol.keys import load_or_create
from saline.protocol.safedirs import UnsafePathError, check_dir, ensure_dir, ensure_private_dir
from tests.users import local_user


@pytest.fixture
def stranger():
    with local_user() as user:
        yield user


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_created_directories_get_the_mode_existing_ones_keep_theirs(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        made = ensure_dir(tmp_path / "a" / "b", 0o755, "socket directory")
    finally:
        os.umask(old)
    assert mode(made) == 0o755  # exactly, whatever the umask
    existing = tmp_path / "keys"
    existing.mkdir(mode=0o755)
    os.chmod(existing, 0o755)
    ensure_private_dir(existing)
    assert mode(existing) == 0o755  # not chmodded behind the admin's back
    assert mode(ensure_private_dir(tmp_path / "new")) == 0o700


@pytest.mark.parametrize("bad_mode, says", [(0o777, "writable by group and others"), (0o1777, "writable by group and others"),
                                            (0o770, "writable by group")])
def test_a_directory_others_can_write_is_refused_and_left_alone(tmp_path: Path, bad_mode: int, says: str) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, bad_mode)
    with pytest.raises(UnsafePathError, match=f"{says} \\(mode {bad_mode:04o}\\); run: chmod go-w {shared}"):
        ensure_private_dir(shared)
    assert mode(shared) == bad_mode


def test_a_writable_parent_is_refused_unless_sticky(tmp_path: Path) -> None:
    parent = tmp_path / "p"
    (parent / "keys").mkdir(parents=True)
    os.chmod(parent, 0o777)
    with pytest.raises(UnsafePathError, match=f"{parent} is writable"):
        check_dir(parent / "keys", "key directory")
    os.chmod(parent, 0o1777)  # like /tmp: others cannot rename what they do not own
    check_dir(parent / "keys", "key directory")


def test_directory_or_key_file_owned_by_another_user_is_refused(tmp_path: Path, stranger) -> None:
    pki = tmp_path / "pki"
    load_or_create(pki)
    os.chown(pki, stranger.pw_uid, -1)
    with pytest.raises(UnsafePathError, match=f"{pki} is owned by {stranger.pw_name}, who could replace what is in it; run: chown root {pki}"):
        load_or_create(pki)
    os.chown(pki, 0, -1)
    os.chown(pki / "sign.key", stranger.pw_uid, -1)
    with pytest.raises(UnsafePathError, match=f"key file {pki / 'sign.key'} is owned by {stranger.pw_name}"):
        load_or_create(pki)
    os.chown(pki / "sign.key", 0, -1)
    keys, _ = load_or_create(pki)
    keys.public.write(pki / "master.pub")
    os.chown(pki / "master.pub", stranger.pw_uid, -1)
    with pytest.raises(UnsafePathError, match=f"pinned master key {pki / 'master.pub'} is owned by {stranger.pw_name}"):
        pinned_bundle(pki)


def test_master_database_another_user_could_replace_is_refused(tmp_path: Path, stranger) -> None:
    """The database holds the accepted agent keys."""
    from saline.master.db import open_db

    db_dir = tmp_path / "db"
    open_db(db_dir / "jobs.sqlite").close()
    os.chown(db_dir / "jobs.sqlite", stranger.pw_uid, -1)
    with pytest.raises(UnsafePathError, match=f"database {db_dir / 'jobs.sqlite'} is owned by {stranger.pw_name}"):
        open_db(db_dir / "jobs.sqlite")
    os.chown(db_dir / "jobs.sqlite", 0, -1)
    os.chmod(db_dir, 0o777)
    with pytest.raises(UnsafePathError, match="database directory"):
        open_db(db_dir / "jobs.sqlite")
