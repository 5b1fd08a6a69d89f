"""Facts named and shaped as Salt's grains, from os-release texts and PID 1 command lines."""

from __future__ import annotations

import pytest

from saline.states.system.localfacts import facts_from, init_system, parse_os_release

DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n'
UBUNTU = 'NAME="Ubuntu"\nVERSION_ID="22.04"\nVERSION_CODENAME=jammy\nID=ubuntu\nID_LIKE=debian\n'
ROCKY = 'NAME="Rocky Linux"\nVERSION_ID="9.3"\nID="rocky"\nID_LIKE="rhel centos fedora"\n'


@pytest.mark.parametrize("text,expected", [
    # The Debian values are what salt-call --local grains.items (3008.5) gives on this machine.
    (DEBIAN, {"os": "Debian", "os_family": "Debian", "osfinger": "Debian-12", "osmajorrelease": 12,
              "osrelease": "12", "osrelease_info": [12], "oscodename": "bookworm", "osfullname": "Debian GNU/Linux",
              "lsb_distrib_id": "Debian GNU/Linux", "lsb_distrib_codename": "bookworm"}),
    (UBUNTU, {"os": "Ubuntu", "os_family": "Debian", "osfinger": "Ubuntu-22.04", "osmajorrelease": 22,
              "osrelease_info": [22, 4]}),
    (ROCKY, {"os": "Rocky", "os_family": "RedHat", "osfinger": "Rocky Linux-9", "osmajorrelease": 9}),
])
def test_os_grains_as_salt_names_them(text: str, expected: dict) -> None:
    facts = facts_from(parse_os_release(text), "node1.example.org", "Linux", "6.1.0")
    assert {k: facts[k] for k in expected} == expected
    assert (facts["host"], facts["domain"], facts["fqdn"]) == ("node1", "example.org", "node1.example.org")


def test_init_grain_as_salt_computes_it(tmp_path) -> None:
    fake_init = tmp_path / "sbin/init"
    fake_init.parent.mkdir()
    fake_init.write_bytes(b"\x7fELF ... SysVinit version 3.06 ...")
    which = {"/sbin/init": str(fake_init), "tini": "/usr/bin/tini"}.get
    assert init_system(None, run_systemd=True) == "systemd"
    assert init_system("/sbin/init\x00splash", run_systemd=False, which=which) == "sysvinit"
    assert init_system("/usr/bin/tini\x00--\x00app", run_systemd=False, which=which) == "tini"
    assert init_system("runit", run_systemd=False, which=lambda _: None) == "runit"
    assert init_system("/process_api\x00--x", run_systemd=False, which=lambda _: None) == "unknown"
    assert init_system("", run_systemd=False) == "unknown"
