"""apt-get upgrade simulation and the reboot-needed check."""

from __future__ import annotations

import os

from saline.states.system.apt import newest_kernel, parse_simulation, reboot_needed
from tests.paths import FIXTURES


def test_inst_lines_of_a_real_simulation():
    text = (FIXTURES / "pkg" / "apt-get-s-upgrade.txt").read_text()
    upgrades = parse_simulation(text)
    assert len(upgrades) == 123  # "123 upgraded" in the same output
    first = upgrades[0]
    assert (first.package, first.old, first.new) == ("base-files", "12.4+deb12u11", "12.4+deb12u15")
    assert parse_simulation("Reading package lists...\n0 upgraded, 0 newly installed\n") == []


def test_reboot_needed_from_the_flag_or_a_newer_kernel(tmp_path):
    boot, flag = tmp_path / "boot", tmp_path / "reboot-required"
    boot.mkdir()
    assert reboot_needed("6.1.0-9-amd64", boot, flag) is None
    for release in ("6.1.0-9-amd64", "6.1.0-28-amd64"):
        (boot / f"vmlinuz-{release}").write_text("")
    assert newest_kernel(boot) == "6.1.0-28-amd64"
    assert reboot_needed("6.1.0-9-amd64", boot, flag) == "kernel 6.1.0-28-amd64 is installed, 6.1.0-9-amd64 is running"
    assert reboot_needed("6.1.0-28-amd64", boot, flag) is None
    flag.write_text("*** System restart required ***\n")
    assert reboot_needed("6.1.0-28-amd64", boot, flag) == f"{flag} exists"
    assert os.path.exists(flag)
