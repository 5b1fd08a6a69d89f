"""openvz.migrate's pure parts: ve.conf translation, guest fixes, argument checks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from saline.agent.openvz.args import MigrateArgs
from saline.agent.openvz.guest import inittab_fixed, interfaces_fixed, is_sysvinit
from saline.states.system import veconf
from tests.paths import FIXTURES


def test_veconf_translated_to_lxc_present_arguments():
    ve = veconf.parse((FIXTURES / "openvz/101.conf").read_text())
    assert ve["VE_PRIVATE"] == "/vz/private/$VEID" and ve["DEVNODES"] == "net/tun:rw "
    args, notes, untranslated = veconf.translate(ve)
    assert args == {"memory": "512M", "swap": "256M", "cpu_shares": 1024, "config": {"lxc.uts.name": "www.example.com"}, "arch": "x86"}
    assert "192.168.1.80" in notes["ip_address"] and "32-bit" in notes["arch"]
    assert untranslated == ["DEVNODES"]


@pytest.mark.parametrize("value, expected", [("0:131072", 512 * 1024**2), ("0:512M", 512 * 1024**2), ("unlimited", None),
                                             ("9223372036854775807:9223372036854775807", None)])
def test_vzctl_limits(value, expected):
    assert veconf._limit_bytes(value) == expected


def test_old_ubc_privvmpages_and_64bit_template():
    args, _, _ = veconf.translate({"PRIVVMPAGES": "65536:69632", "OSTEMPLATE": "debian-7.0-x86_64"})
    assert args == {"memory": "272M"}


@pytest.mark.parametrize("bad", ['HOSTNAME="unterminated\n', "lowercase=1\n", "X" * (256 * 1024 + 1)])
def test_bad_veconf_refused(bad):
    with pytest.raises(veconf.VeConfError):
        veconf.parse(bad)


def test_guest_fixes_follow_the_seed():
    inittab = (FIXTURES / "openvz/inittab").read_text()
    assert is_sysvinit(inittab) and not is_sysvinit("::sysinit:/etc/init.d/rcS\n")
    fixed, added = inittab_fixed(inittab)
    assert added == ["0:2345:respawn:/sbin/getty 38400 console", "1:2345:respawn:/sbin/getty 38400 tty1",
                     "2:23:respawn:/sbin/getty 38400 tty2", "3:23:respawn:/sbin/getty 38400 tty3", "p0::powerfail:/sbin/init 0"]
    assert inittab_fixed(fixed) == (fixed, [])
    interfaces, count = interfaces_fixed((FIXTURES / "openvz/interfaces").read_text())
    assert count == 13 and "venet0" not in interfaces and "iface eth0:0 inet static" in interfaces


@pytest.mark.parametrize("bad", [{"backing": "lvm", "vg": None}, {"vg": "-x"}, {"source_host": "-oProxyCommand=x"},
                                 {"name": "../etc"}, {"size": "lots"}, {"ctid": 0}])
def test_bad_arguments(bad):
    with pytest.raises(ValidationError):
        MigrateArgs(**{"ctid": 101, "name": "www", "vg": "vg_node1", "size": "4G", **bad})
