"""cron.* through the real crontab(1), on the crontab of a throw-away user made for the test
(removed, with its crontab, even when the test fails)."""

from __future__ import annotations

import secrets
import shutil
import subprocess

import pytest

from saline.states.engine.runner import Runner
from tests.harness import assert_full_cycle, assert_refused, run

pytestmark = pytest.mark.real

MINE = "# mine, not Salt's\nMAILTO=ops@example.com\n17 3 * * * /usr/local/bin/backup --full\n"


def crontab_of(user: str) -> str:
    return subprocess.run(["crontab", "-u", user, "-l"], capture_output=True, text=True).stdout


@pytest.fixture
def cron_user():
    if shutil.which("crontab") is None:
        pytest.skip("crontab is not installed (Debian package cron, .ci/apt-packages.txt)")
    user = "slcron" + secrets.token_hex(4)
    subprocess.run(["useradd", "-M", "-N", "-s", "/usr/sbin/nologin", user], check=True)
    try:
        yield user
    finally:
        subprocess.run(["crontab", "-u", user, "-r"], capture_output=True)
        subprocess.run(["userdel", user], check=True)


def test_jobs_with_identifiers_specials_and_env(cron_user: str) -> None:
    user, runner = cron_user, Runner()
    subprocess.run(["crontab", "-u", user, "-"], input=MINE, text=True, check=True)
    snap = lambda: crontab_of(user)  # noqa: E731
    job = {"name": "/usr/bin/rotate --all", "user": user, "minute": 5, "hour": "2", "identifier": "rotate",
           "comment": "nightly rotation"}
    added = assert_full_cycle("cron.present", job, runner, snap)
    assert added.changes == {user: "/usr/bin/rotate --all"}
    assert crontab_of(user) == MINE + ("# Lines below here are managed by Salt, do not edit\n"
                                      "# nightly rotation SALT_CRON_IDENTIFIER:rotate\n"
                                      "5 2 * * * /usr/bin/rotate --all\n")
    # the same identifier with another command and time: the entry is replaced, not doubled
    assert_full_cycle("cron.present", {**job, "name": "/usr/bin/rotate --quick", "hour": 4, "commented": True},
                      runner, snap)
    assert crontab_of(user).endswith("# nightly rotation SALT_CRON_IDENTIFIER:rotate\n"
                                     "#DISABLED#5 4 * * * /usr/bin/rotate --quick\n")
    assert_full_cycle("cron.present", {"name": "/usr/bin/warm-cache", "user": user, "special": "@reboot"}, runner, snap)
    assert_full_cycle("cron.env_present", {"name": "PATH", "value": "/usr/bin:/bin", "user": user}, runner, snap)
    assert_full_cycle("cron.present", {"name": "/usr/bin/stats", "user": user, "minute": "random"}, runner, snap)
    minute = next(l for l in crontab_of(user).splitlines() if l.endswith(" /usr/bin/stats") and l[0] != "#").split()[0]
    assert minute.isdigit() and 0 <= int(minute) <= 59
    assert crontab_of(user).startswith(MINE)  # the lines above Salt's marker are never touched

    assert_full_cycle("cron.absent", {"name": "anything", "identifier": "rotate", "user": user}, runner, snap)
    assert_full_cycle("cron.absent", {"name": "/usr/bin/warm-cache", "user": user, "special": "@reboot"}, runner, snap)
    assert_full_cycle("cron.env_absent", {"name": "PATH", "user": user}, runner, snap)
    assert crontab_of(user) == MINE + ("# Lines below here are managed by Salt, do not edit\n"
                                      "# SALT_CRON_IDENTIFIER:/usr/bin/stats\n"
                                      f"{minute} * * * * /usr/bin/stats\n")


def test_bad_input_and_injection_change_nothing(cron_user: str, tmp_path) -> None:
    user, runner = cron_user, Runner()
    snap = lambda: crontab_of(user)  # noqa: E731
    assert_refused("cron.present", {"name": "/bin/true\n* * * * * /tmp/evil", "user": user}, runner, snap,
                   "line break")
    assert_refused("cron.present", {"name": "/bin/true", "user": user, "minute": "1 * * * * /tmp/evil"}, runner, snap,
                   "not a cron time field")
    assert_refused("cron.present", {"name": "/bin/true", "user": user, "special": "@sometimes"}, runner, snap,
                   "not one of @reboot")
    assert_refused("cron.present", {"name": "/bin/true", "user": "nosuch" + secrets.token_hex(3)}, runner, snap,
                   "cannot read the crontab")
    assert_refused("cron.present", {"name": "/bin/true", "user": user}, Runner(root=tmp_path), snap,
                   "not under state_root")
    assert run("cron.absent", {"name": "/bin/true", "user": user}, runner).comment == "Cron /bin/true already absent"
