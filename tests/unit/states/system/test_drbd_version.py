"""drbd_version: the DRBD version from real outputs, and handler paths from dpkg."""

from __future__ import annotations

from saline.states.system import drbd_version as dv
from tests.unit.states.system.test_drbd import load


def test_proc_drbd_of_the_84_module():
    assert dv.from_proc(load("proc_drbd_84.txt")) == "8.4.11"
    assert dv.syntax_of("8.4.11") == "8.4" and dv.syntax_of("9.2.4") == "9"


def test_drbdadm_version_without_a_module_says_nothing_about_the_kernel():
    assert dv.from_drbdadm(load("drbdadm_version_nomodule.txt")) is None
    assert dv.from_drbdadm(load("drbdadm_version_override84.txt")) is None
    assert dv.from_drbdadm("DRBD_KERNEL_VERSION_CODE=0x08040b\nDRBD_KERNEL_VERSION=8.4.11\n") == "8.4.11"


def test_modinfo_version_line():
    assert dv.from_modinfo("8.4.11\n") == "8.4.11" and dv.from_modinfo("") is None


def test_dpkg_search_lines():
    assert dv.parse_dpkg_search(load("dpkg_search_crm_fence_peer.txt")) == {"/usr/lib/drbd/crm-fence-peer.sh": "drbd-utils"}
    assert dv.parse_dpkg_search("dpkg-query: no path found matching pattern */drbd-peer-outdater\n") == {}
    assert dv.parse_dpkg_search("diversion by x from: /usr/bin/y\nheartbeat, other: /usr/libexec/heartbeat/z\n") == {
        "/usr/libexec/heartbeat/z": "heartbeat"}
