"""sysctl.present for real, inside a private network namespace (its net.* keys are its own)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.harness import assert_full_cycle, assert_refused
from tests.real.netns import netns_runner, require_tools

pytestmark = pytest.mark.real


@pytest.fixture
def ns():
    require_tools("ip", "sysctl")
    name = f"snsys-{__import__('secrets').token_hex(3)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def read(ns: str, key: str) -> str:
    return subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-n", key], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_sysctl_present_sets_now_and_persists(tmp_path: Path, ns: str) -> None:
    runner = netns_runner(ns, root=tmp_path)
    conf = tmp_path / "etc/sysctl.d/99-salt.conf"

    def snapshot():
        return read(ns, "net.ipv4.ip_forward"), conf.read_text() if conf.exists() else None

    assert read(ns, "net.ipv4.ip_forward") == "0"
    applied = assert_full_cycle("sysctl.present", {"name": "net.ipv4.ip_forward", "value": 1}, runner, snapshot)
    assert applied.changes == {"net.ipv4.ip_forward": "1"}
    # A new file starts with the header Salt's sysctl.persist writes.
    assert read(ns, "net.ipv4.ip_forward") == "1" and \
        conf.read_text() == "#\n# Kernel sysctl configuration\n#\nnet.ipv4.ip_forward = 1\n"

    # Multi-word values compare by words; an existing line is replaced, others kept.
    conf.write_text("# tuned\nnet.ipv4.ip_local_port_range=1024 2000\nnet.ipv4.ip_forward = 1\n")
    assert_full_cycle("sysctl.present", {"name": "net.ipv4.ip_local_port_range", "value": "2000 65000"}, runner,
                      lambda: (read(ns, "net.ipv4.ip_local_port_range"), conf.read_text()))
    assert read(ns, "net.ipv4.ip_local_port_range").split() == ["2000", "65000"]
    assert conf.read_text() == "# tuned\nnet.ipv4.ip_local_port_range = 2000 65000\nnet.ipv4.ip_forward = 1\n"


def test_sysctl_refusals(tmp_path: Path, ns: str) -> None:
    runner = netns_runner(ns, root=tmp_path)
    snap = lambda: sorted(str(p) for p in tmp_path.rglob("*"))  # noqa: E731
    assert_refused("sysctl.present", {"name": "net.ipv4.no_such_key", "value": 1}, runner, snap, "has no parameter")
    assert_refused("sysctl.present", {"name": "../../etc/x", "value": 1}, runner, snap, "is not a sysctl key")
