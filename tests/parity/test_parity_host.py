"""Parity for states whose target is the host itself (its users, groups and crontabs), which
Salt can only manage there: each side runs in turn (dry run, apply, re-apply) on throw-away
names made for the test, the target is reset between the sides and after the test, and both
sides must give the same per-state outcome and leave the same accounts and crontab behind."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from tests.parity.saltside import Side, outcome
from tests.parity.test_parity import _explain, without_changes

pytestmark = pytest.mark.parity


def in_turn(sides: tuple[Side, Side], sls: str, reset: Callable[[], None], target: Callable[[], Any]
            ) -> dict[str, list[dict[str, Any]]]:
    """Each side: reset, dry run, apply, re-apply; the same outcomes and target after each."""
    runs: dict[str, list[dict[str, Any]]] = {}
    seen: dict[str, list[Any]] = {}
    for side in sides:
        reset()
        side.write(sls, {}, {})
        before = target()
        runs[side.name], seen[side.name] = [], []
        for test in (True, False, False):
            runs[side.name].append(side.apply(test=test))
            seen[side.name].append(target())
        assert seen[side.name][0] == before, f"{side.name}: a dry run changed the target"
    reset()
    # Different on purpose: Salt's user/group/cron dry runs report no changes (only a comment);
    # saline's say what would change. Result and order must still be the same.
    dry = {name: runs[name][0] for name in runs}
    assert without_changes(outcome(dry["saline"])) == without_changes(outcome(dry["salt"])), _explain(dry)
    assert all(not state["changes"] for state in dry["salt"].values())
    for n in (1, 2):
        pair = {name: runs[name][n] for name in runs}
        assert outcome(pair["saline"]) == outcome(pair["salt"]), _explain(pair)
    assert seen["saline"] == seen["salt"]
    return runs


def _lines(names: set[str]) -> tuple:
    out = []
    for file in ("passwd", "group", "shadow"):
        with open(f"/etc/{file}") as f:
            out.append(sorted(line for line in f.read().splitlines() if line.split(":")[0] in names))
    return tuple(out)


def _run(*argv: str) -> None:
    subprocess.run(list(argv), capture_output=True)


@pytest.fixture
def names():
    tag = secrets.token_hex(3)
    made = {"user": f"slpu{tag}", "group": f"slpg{tag}", "other": f"slpo{tag}"}

    def reset() -> None:
        for key in ("user", "other"):
            _run("crontab", "-u", made[key], "-r")
            _run("userdel", "-r", made[key])
        _run("groupdel", made["group"])

    made["reset"] = reset
    try:
        yield made
    finally:
        reset()
        assert _lines({made["user"], made["group"], made["other"]}) == ([], [], []), "test accounts left behind"


def test_users_and_groups(sides, names) -> None:
    user, group, other = names["user"], names["group"], names["other"]
    sls = f"""
        {group}:
          group.present: [{{gid: 48123}}]
        {user}:
          user.present:
            - fullname: Parity User
            - shell: /bin/sh
            - home: /home/{user}
            - groups: [{group}]
            - password: '$6$abcdefgh$'
            - maxdays: 90
            - warndays: 14
            - require: [{{group: {group}}}]
        {other}:
          user.present:
            - createhome: false
            - system: true
        gone-{other}:
          user.absent:
            - name: nosuch{user}
        {group}-members:
          group.present:
            - name: {group}
            - addusers: [{other}]
            - require: [{{user: {other}}}]
    """

    def target() -> tuple:
        return _lines({user, group, other}), (subprocess.run(["ls", "-la", f"/home/{user}"], capture_output=True,
                                                              text=True).stdout.count("\n"))

    runs = in_turn(sides, sls, names["reset"], target)
    salt, saline = runs["salt"][1], runs["saline"][1]
    key = f"user_|-{user}_|-{user}_|-present"
    assert set(saline[key]["changes"]) == set(salt[key]["changes"])
    for field in ("fullname", "shell", "home", "groups", "password", "name", "maxdays", "warndays"):
        assert saline[key]["changes"][field] == salt[key]["changes"][field], field


def test_cron_entries(sides, names) -> None:
    user = names["user"]
    subprocess.run(["useradd", "-M", "-N", user], check=True)
    mine = "# kept\nMAILTO=root\n30 1 * * * /usr/local/bin/mine\n"
    sls = f"""
        rotate:
          cron.present:
            - name: /usr/bin/rotate --all
            - user: {user}
            - minute: 5
            - hour: '2'
            - comment: nightly rotation
        warm:
          cron.present:
            - name: /usr/bin/warm-cache
            - user: {user}
            - special: '@reboot'
            - identifier: warm
        path:
          cron.env_present:
            - name: PATH
            - value: /usr/bin:/bin
            - user: {user}
        disabled:
          cron.present:
            - name: /usr/bin/old
            - user: {user}
            - commented: true
            - dayweek: 1
        old-job:
          cron.absent:
            - name: /usr/bin/never-there
            - user: {user}
    """

    def reset() -> None:
        subprocess.run(["crontab", "-u", user, "-"], input=mine, text=True, check=True)

    def target() -> str:
        return subprocess.run(["crontab", "-u", user, "-l"], capture_output=True, text=True).stdout

    in_turn(sides, sls, reset, target)
