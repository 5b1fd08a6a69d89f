"""service.*: plans from facts for systemd and sysvinit, and parsing systemctl's answers."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from saline.states.engine.base import Refuse
from saline.states.system.initsys import RcLinks, parse_is_active
from saline.states.modules import service as mod
from tests.paths import FIXTURES

FIXTURES = FIXTURES / "service"


def systemd(**kw) -> mod.ServiceFacts:
    return mod.ServiceFacts(name="drbd", init="systemd", **kw)


def sysv(**kw) -> mod.ServiceFacts:
    return mod.ServiceFacts(name="drbd", init="sysvinit", script="/etc/init.d/drbd", **kw)


def argvs(steps) -> list[list[str]]:
    return [s.argv for s in steps]


def test_is_active_without_a_reachable_systemd_is_unknown_not_stopped():
    assert parse_is_active((FIXTURES / "systemctl-is-active-no-systemd.out").read_text()) is None
    assert parse_is_active("active\n") is True and parse_is_active("failed\n") is False


def test_systemd_running_plans_start_and_enable():
    plan = mod.running(mod.RunningArgs(name="drbd", enable=True), systemd(running=False, unit_state="disabled"))
    assert argvs(plan.steps) == [["systemctl", "start", "drbd"], ["systemctl", "enable", "drbd"]]
    assert plan.changes == {"running": {"old": False, "new": True}, "enabled": {"old": False, "new": True}}


def test_systemd_in_state_plans_nothing():
    plan = mod.running(mod.RunningArgs(name="drbd", enable=True), systemd(running=True, unit_state="enabled"))
    assert plan.empty and "already running" in plan.comment


def test_systemd_dead_and_disabled_under_a_root():
    plan = mod.dead(mod.DeadArgs(name="drbd", enable=False),
                    systemd(running=True, unit_state="enabled", root="/mnt/node"))
    assert argvs(plan.steps) == [["systemctl", "stop", "drbd"], ["systemctl", "--root=/mnt/node", "disable", "drbd"]]


@pytest.mark.parametrize("state,msg", [("masked", "masked"), ("not-found", "no unit")])
def test_systemd_enable_refusals(state, msg):
    with pytest.raises(Refuse, match=msg):
        mod.enabled(mod.ServiceArgs(name="drbd"), systemd(unit_state=state))


def test_watch_restarts_or_reloads_only_a_running_service():
    args = mod.RunningArgs(name="drbd")
    assert argvs(mod.restart_on_watch(args, systemd(running=True))) == [["systemctl", "restart", "drbd"]]
    reload = mod.RunningArgs(name="drbd", reload=True)
    assert argvs(mod.restart_on_watch(reload, sysv(running=True))) == [["/etc/init.d/drbd", "reload"]]
    assert mod.restart_on_watch(args, sysv(running=False)) == []


LINKS_ON = ["rc0.d/K01drbd", "rc1.d/K01drbd", "rc2.d/S01drbd", "rc3.d/S01drbd", "rc6.d/K01drbd"]
LINKS_OFF = [link.replace("/S", "/K") for link in LINKS_ON]


def test_rc_links_start_at_boot_only_with_s_links_in_boot_runlevels():
    assert RcLinks(links=LINKS_ON).starts_at_boot
    assert not RcLinks(links=LINKS_OFF).starts_at_boot
    assert not RcLinks(links=["rc0.d/S01drbd"]).starts_at_boot  # runlevel 0 is halt


def test_sysv_disabled_is_the_seeds_remove_plus_pinned_k_links():
    plan = mod.disabled(mod.ServiceArgs(name="drbd"), sysv(links=LINKS_ON, root="/r"))
    assert argvs(plan.steps) == [["update-rc.d", "-f", "drbd", "remove"], ["update-rc.d", "drbd", "defaults-disabled"]]
    assert all(s.env == {"DPKG_ROOT": "/r"} for s in plan.steps)
    assert plan.changes == {"enabled": {"old": True, "new": False}}
    assert mod.disabled(mod.ServiceArgs(name="drbd"), sysv(links=LINKS_OFF)).empty


def test_sysv_disabled_without_a_script_or_links_is_already_disabled():
    facts = mod.ServiceFacts(name="drbd", init="sysvinit")
    assert mod.disabled(mod.ServiceArgs(name="drbd"), facts).empty
    with pytest.raises(Refuse, match="no init script"):
        mod.enabled(mod.ServiceArgs(name="drbd"), facts)


def test_sysv_enabled_from_k_links():
    plan = mod.enabled(mod.ServiceArgs(name="drbd"), sysv(links=LINKS_OFF))
    assert argvs(plan.steps) == [["update-rc.d", "-f", "drbd", "remove"], ["update-rc.d", "drbd", "defaults"]]
    assert all(s.env == {} for s in plan.steps)


def test_sysv_start_argv():
    plan = mod.running(mod.RunningArgs(name="drbd"), sysv(running=False))
    assert argvs(plan.steps) == [["/etc/init.d/drbd", "start"]]


@pytest.mark.parametrize("name", ["", "-x", "a/b", "a b"])
def test_bad_service_names(name):
    with pytest.raises(ValidationError, match="service name|at least"):
        mod.ServiceArgs(name=name)
