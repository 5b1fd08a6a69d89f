"""pkg.* for real: tiny .debs built with dpkg-deb, installed by dpkg into a temp root's own database.

The host's dpkg database is never touched: every runner has a temp root (dpkg --root)
or, for the DPKG_ADMINDIR test, only selections are changed in a private database.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from saline.states.system.dpkg import QUERY_FORMAT
from saline.states.engine.runner import Runner
from tests.harness import assert_full_cycle, assert_refused, run

from tests.debs import build_deb, empty_dpkg_db

pytestmark = [
    pytest.mark.real,
    pytest.mark.skipif(not shutil.which("dpkg-deb"), reason="dpkg-deb not installed"),
]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    empty_dpkg_db(tmp_path / "var/lib/dpkg")
    debs = tmp_path / "srv/debs"
    debs.mkdir(parents=True)
    build_deb(debs, "saline-hello", "1.0-1")
    build_deb(debs, "saline-hello", "1.1-1")
    build_deb(debs, "saline-needs-hello", "1.0", depends="saline-hello")
    return tmp_path


@pytest.fixture
def runner(root: Path) -> Runner:
    return Runner(root=root)


def db_snapshot(root: Path, admindir: str = "var/lib/dpkg"):
    """What dpkg's database says about every package, plus the files packages put under /usr."""

    def snap():
        out = subprocess.run(["dpkg-query", f"--root={root}", f"--admindir={root / admindir}", "-W",
                              f"-f={QUERY_FORMAT}"], capture_output=True, text=True)
        files = sorted(str(p.relative_to(root)) for p in (root / "usr").rglob("*")) if (root / "usr").exists() else []
        return out.stdout, files

    return snap


def hello_source(version: str) -> dict:
    return {"name": "saline-hello", "sources": [{"saline-hello": f"/srv/debs/saline-hello_{version}_all.deb"}]}


def test_installed_from_sources_then_upgrade(root, runner):
    snap = db_snapshot(root)
    applied = assert_full_cycle("pkg.installed", hello_source("1.0-1"), runner, snap)
    assert applied.changes == {"saline-hello": {"old": "", "new": "1.0-1"}}
    assert (root / "usr/share/saline-hello/VERSION").read_text() == "1.0-1\n"
    upgraded = assert_full_cycle("pkg.installed", hello_source("1.1-1"), runner, snap)
    assert upgraded.changes == {"saline-hello": {"old": "1.0-1", "new": "1.1-1"}}
    assert "saline-hello\tinstall\tinstalled\tok\t1.1-1" in snap()[0]


@pytest.fixture
def hello_installed(root, runner):
    """saline-hello 1.0-1 installed in the root's database; the database snapshot."""
    assert run("pkg.installed", hello_source("1.0-1"), runner).result is True
    return db_snapshot(root)


def test_held_and_unheld(runner, hello_installed):
    snap = hello_installed
    applied = assert_full_cycle("pkg.held", {"name": "saline-hello"}, runner, snap)
    assert applied.changes == {"saline-hello": {"old": "install", "new": "hold"}}
    assert "saline-hello\thold\tinstalled" in snap()[0]
    # A held package is not removed behind the operator's back.
    assert_refused("pkg.removed", {"name": "saline-hello"}, runner, snap, "unhold before removing")
    assert_full_cycle("pkg.unheld", {"name": "saline-hello"}, runner, snap)
    assert "saline-hello\tinstall\tinstalled" in snap()[0]


def test_removed(root, runner, hello_installed):
    applied = assert_full_cycle("pkg.removed", {"name": "saline-hello"}, runner, hello_installed)
    assert applied.changes == {"saline-hello": {"old": "1.0-1", "new": ""}}
    assert not (root / "usr/share/saline-hello/VERSION").exists()


def test_removed_fails_honestly_when_another_package_depends_on_it(root, runner):
    snap = db_snapshot(root)
    both = {"name": "x", "sources": [{"saline-hello": "/srv/debs/saline-hello_1.0-1_all.deb"},
                                     {"saline-needs-hello": "/srv/debs/saline-needs-hello_1.0_all.deb"}]}
    assert_full_cycle("pkg.installed", both, runner, snap)
    # A failed `dpkg --remove` would still leave the selection at deinstall: refused from a dry run.
    res = assert_refused("pkg.removed", {"name": "saline-hello"}, runner, snap, "dependency problems")
    assert "saline-needs-hello depends on saline-hello" in res.comment


def test_refusals_change_nothing(root, runner):
    snap = db_snapshot(root)
    assert_refused("pkg.held", {"name": "saline-hello"}, runner, snap, "not installed")
    assert_refused("pkg.installed", hello_source("9.9"), runner, snap, "does not exist")
    assert_refused("pkg.installed", {"name": "x", "sources": [{"screen": "/srv/debs/saline-hello_1.0-1_all.deb"}]},
                   runner, snap, "not 'screen'")
    assert_refused("pkg.installed", {"name": "Bad_Name"}, runner, snap, "not a Debian package name")
    assert_refused("pkg.held", {"name": "saline-hello", "pkgz": ["x"]}, runner, snap, "pkgz")


def test_private_admindir_argument(root, runner):
    """``admindir`` (a node path) selects another database; the root's default one stays empty."""
    empty_dpkg_db(root / "srv/dpkg")
    args = {**hello_source("1.0-1"), "admindir": "/srv/dpkg"}
    assert_full_cycle("pkg.installed", args, runner, db_snapshot(root, "srv/dpkg"))
    assert_full_cycle("pkg.held", {"name": "saline-hello", "admindir": "/srv/dpkg"}, runner,
                      db_snapshot(root, "srv/dpkg"))
    assert db_snapshot(root)()[0] == ""
    assert_refused("pkg.held", {"name": "saline-hello", "admindir": "/nonexistent"}, runner,
                   db_snapshot(root, "srv/dpkg"), "no dpkg database")


def test_dpkg_admindir_env_is_honoured_for_selections(root, hello_installed):
    """With root '/' and no admindir, dpkg itself reads DPKG_ADMINDIR from the runner's environment.

    Only selections change here (no files are unpacked), and the package exists only in the
    private database, so the host's database cannot be touched even if the variable were ignored.
    """
    env_runner = Runner(root="/", env={**os.environ, "DPKG_ADMINDIR": str(root / "var/lib/dpkg")})
    applied = assert_full_cycle("pkg.held", {"name": "saline-hello"}, env_runner, hello_installed)
    assert applied.changes == {"saline-hello": {"old": "install", "new": "hold"}}
