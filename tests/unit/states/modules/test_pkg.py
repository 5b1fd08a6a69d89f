"""pkg.*: parsing real dpkg-query output, the dpkg/apt target options, and plans from facts."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from saline.states.engine.base import CommandStep, Refuse
from saline.states.system.dpkg import NOT_FOUND, DpkgTarget, PackageState, parse_deb_fields, parse_query
from saline.states.modules import pkg as mod
from saline.states.engine.runner import Runner
from tests.paths import FIXTURES

FIXTURES = FIXTURES / "pkg"
HOST = parse_query((FIXTURES / "dpkg-query-host.out").read_text())
PRIVATE = parse_query((FIXTURES / "dpkg-query-private-held.out").read_text())


def facts(packages: dict[str, PackageState], target: DpkgTarget | None = None, **kw) -> mod.PkgFacts:
    return mod.PkgFacts(target=target or DpkgTarget(), packages=packages, **kw)


# ---- parsing real output ------------------------------------------------------------------


def test_parse_host_query():
    assert sorted(HOST) == ["lvm2", "lxc", "resource-agents"]
    lxc = HOST["lxc"]
    assert (lxc.want, lxc.status, lxc.version, lxc.installed) == ("install", "installed", "1:5.0.2-1+deb12u4", True)
    # screen is not installed on that host: dpkg-query says so on stderr only.
    assert NOT_FOUND.search((FIXTURES / "dpkg-query-host.err").read_text()).group(1) == "screen"


def test_parse_private_held_query():
    hello = PRIVATE["saline-hello"]
    assert (hello.want, hello.installed, hello.version) == ("hold", True, "1.0-1")


def test_parse_deb_fields():
    assert parse_deb_fields("Package: saline-hello\nVersion: 1.0-1") == {"Package": "saline-hello", "Version": "1.0-1"}


def test_config_files_state_is_not_present():
    rc = PackageState(name="x", want="deinstall", status="config-files", version="1")
    assert not rc.present and not rc.installed


# ---- which database --------------------------------------------------------------------------


def test_target_for_the_node_itself_adds_no_options():
    target = DpkgTarget.for_runner(Runner(root="/"))
    assert target.dpkg_opts() == [] and target.apt_opts() == []


def test_target_under_a_root_and_a_private_admindir(tmp_path):
    target = DpkgTarget.for_runner(Runner(root=tmp_path), "/srv/dpkg")
    assert target.dpkg_opts() == [f"--root={tmp_path}", f"--admindir={tmp_path}/srv/dpkg"]
    assert target.apt_opts() == [
        "-o", f"Dir::State::status={tmp_path}/srv/dpkg/status",
        "-o", f"DPkg::Options::=--root={tmp_path}",
        "-o", f"DPkg::Options::=--admindir={tmp_path}/srv/dpkg",
    ]


# ---- arguments -----------------------------------------------------------------------------


@pytest.mark.parametrize("args,msg", [
    ({"name": "-oDir=/"}, "not a Debian package name"),
    ({"name": "lxc", "version": "1.0; rm -rf /"}, "not a Debian version"),
    ({"name": "x", "pkgs": ["lxc"], "version": "1"}, "pin versions inside pkgs"),
    ({"name": "x", "sources": [{"screen": "/tmp/s.deb"}], "version": "1"}, "sources"),
    ({"name": "x", "sources": [{"screen": "s.deb"}]}, "not an absolute path"),
    ({"name": "x", "pkgs": [{"aa": "1", "bb": "2"}]}, "maps one package"),
    ({"name": "lxc", "hold": True}, "hold"),
    ({"name": "x", "pkgs": []}, "at least 1"),
])
def test_installed_argument_errors(args, msg):
    with pytest.raises(ValidationError, match=msg):
        mod.InstalledArgs(**args)


def test_name_is_only_a_label_with_pkgs():
    assert mod.PkgArgs(name="hold the seed packages", pkgs=["lxc", "screen"]).names() == ["lxc", "screen"]
    with pytest.raises(ValidationError, match="not a Debian package name"):
        mod.PkgArgs(name="hold the seed packages")


# ---- plans from facts ---------------------------------------------------------------------------


def test_installed_plans_apt_with_pinned_version():
    args = mod.InstalledArgs(name="x", pkgs=["lxc", {"screen": "4.1.0~20120320gitdb59704-5"}, "lvm2"])
    plan = mod.installed(args, facts(HOST))
    (step,) = plan.steps
    assert step.argv == ["apt-get", "install", "-y", "--no-install-recommends", "screen=4.1.0~20120320gitdb59704-5"]
    assert step.env == {"DEBIAN_FRONTEND": "noninteractive"}
    assert plan.changes == {"screen": {"old": "", "new": "4.1.0~20120320gitdb59704-5"}}


def test_installed_with_a_different_pinned_version_changes():
    plan = mod.installed(mod.InstalledArgs(name="lxc", version="1:5.0.2-1+deb12u5", refresh=True), facts(HOST))
    assert [s.argv[-1] for s in plan.steps] == ["update", "lxc=1:5.0.2-1+deb12u5"]
    assert plan.changes == {"lxc": {"old": "1:5.0.2-1+deb12u4", "new": "1:5.0.2-1+deb12u5"}}


def test_installed_in_state_plans_nothing_and_does_not_refresh():
    plan = mod.installed(mod.InstalledArgs(name="x", pkgs=["lxc", "lvm2"], refresh=True), facts(HOST))
    assert plan.empty and plan.changes == {}


def test_installed_apt_goes_to_the_private_database(tmp_path):
    target = DpkgTarget.for_runner(Runner(root=tmp_path))
    (step,) = mod.installed(mod.InstalledArgs(name="screen"), facts({}, target)).steps
    assert step.argv[:3] == ["apt-get", "-o", f"Dir::State::status={tmp_path}/var/lib/dpkg/status"]
    assert f"DPkg::Options::=--root={tmp_path}" in step.argv


def test_installed_sources_plans_dpkg_install_of_changed_debs():
    debs = {"saline-hello": mod.DebFile(path="/r/srv/hello_1.1.deb", package="saline-hello", version="1.1-1")}
    args = mod.InstalledArgs(name="x", sources=[{"saline-hello": "/srv/hello_1.1.deb"}])
    plan = mod.installed(args, facts(PRIVATE, DpkgTarget(root="/r"), debs=debs))
    (step,) = plan.steps
    assert isinstance(step, CommandStep) and step.argv == ["dpkg", "--root=/r", "-i", "/r/srv/hello_1.1.deb"]
    assert plan.changes == {"saline-hello": {"old": "1.0-1", "new": "1.1-1"}}
    same = {"saline-hello": debs["saline-hello"].model_copy(update={"version": "1.0-1"})}
    assert mod.installed(args, facts(PRIVATE, debs=same)).empty


def test_installed_sources_refuses_a_deb_of_another_package():
    debs = {"screen": mod.DebFile(path="/srv/x.deb", package="saline-hello", version="1")}
    with pytest.raises(Refuse, match="contains package 'saline-hello', not 'screen'"):
        mod.installed(mod.InstalledArgs(name="x", sources=[{"screen": "/srv/x.deb"}]), facts({}, debs=debs))


def test_held_plans_set_selections_for_unheld_packages_only():
    args = mod.PkgArgs(name="seed holds", pkgs=["lxc", "lvm2", "resource-agents"])
    packages = {**HOST, "lvm2": HOST["lvm2"].model_copy(update={"want": "hold"})}
    plan = mod.held(args, facts(packages))
    (step,) = plan.steps
    assert step.argv == ["dpkg", "--set-selections"] and step.stdin == "lxc hold\nresource-agents hold\n"
    assert plan.changes == {"lxc": {"old": "install", "new": "hold"},
                            "resource-agents": {"old": "install", "new": "hold"}}


def test_held_refuses_packages_that_are_not_installed():
    with pytest.raises(Refuse, match="screen not installed"):
        mod.held(mod.PkgArgs(name="x", pkgs=["lxc", "screen"]), facts(HOST))


def test_unheld_and_removed_plans():
    plan = mod.unheld(mod.PkgArgs(name="saline-hello"), facts(PRIVATE))
    assert plan.steps[0].stdin == "saline-hello install\n"
    assert mod.unheld(mod.PkgArgs(name="lxc"), facts(HOST)).empty
    with pytest.raises(Refuse, match="held: unhold"):
        mod.removed(mod.PkgArgs(name="saline-hello"), facts(PRIVATE))
    blocked = facts(HOST, removal_blocked="dpkg: dependency problems prevent removal of lxc")
    with pytest.raises(Refuse, match="would not remove lxc: dpkg: dependency problems"):
        mod.removed(mod.PkgArgs(name="lxc"), blocked)
    plan = mod.removed(mod.PkgArgs(name="x", pkgs=["lxc", "screen"]), facts(HOST))
    assert plan.steps[0].argv == ["dpkg", "--remove", "lxc"]
    assert plan.changes == {"lxc": {"old": "1:5.0.2-1+deb12u4", "new": ""}}
