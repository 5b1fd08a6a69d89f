"""host.present/absent on a real hosts file in a temp root; the sysctl.d and hosts editors."""

from __future__ import annotations

from pathlib import Path

import pytest

from saline.states.engine.runner import Runner
from saline.states.system import hostsfile, sysctlconf
from tests.harness import assert_full_cycle, assert_refused

pytestmark = pytest.mark.real

HOSTS = "127.0.0.1\tlocalhost\n# the cluster\n10.0.0.1\tnode1.example node1\t# primary\n\n10.0.0.9 old-node2\n"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/hosts").write_text(HOSTS)
    return tmp_path


def test_host_present_clean_and_absent(root: Path) -> None:
    runner = Runner(root=root)
    hosts = root / "etc/hosts"
    snap = hosts.read_text
    applied = assert_full_cycle("host.present", {"name": "node2", "ip": ["10.0.0.2"], "clean": True}, runner, snap)
    assert applied.changes == {"added": {"10.0.0.2": ["node2"]}}
    added = assert_full_cycle("host.present", {"name": "node1-alias", "ip": "10.0.0.1"}, runner, snap)
    assert added.changes == {"added": {"10.0.0.1": ["node1-alias"]}}
    moved = assert_full_cycle("host.present", {"name": "old-node2", "ip": "10.0.0.2", "clean": True}, runner, snap)
    assert moved.changes == {"added": {"10.0.0.2": ["old-node2"]}, "removed": {"10.0.0.9": ["old-node2"]}}
    assert hosts.read_text() == ("127.0.0.1\tlocalhost\n# the cluster\n10.0.0.1\tnode1.example node1 node1-alias\t# primary\n"
                                 "\n10.0.0.2\tnode2 old-node2\n")
    gone = assert_full_cycle("host.absent", {"name": "node1-alias", "ip": "10.0.0.1"}, runner, snap)
    assert gone.changes == {"removed": {"10.0.0.1": ["node1-alias"]}}
    assert_refused("host.present", {"name": "x", "ip": "10.0.0.300"}, runner, snap, "does not appear to be an IPv4")
    assert_refused("host.present", {"name": "a b", "ip": "10.0.0.3"}, runner, snap, "is not a host name")


def test_sysctl_conf_editing() -> None:
    text = "# c\n; c2\nvm.swappiness=10\nnet.core.somaxconn = 128\nvm.swappiness = 20\n"
    assert sysctlconf.values(text) == {"vm.swappiness": "20", "net.core.somaxconn": "128"}
    assert sysctlconf.set_value(text, "vm.swappiness", "1") == "# c\n; c2\nvm.swappiness = 1\nnet.core.somaxconn = 128\n"
    assert sysctlconf.set_value("", "a.b", "1") == "a.b = 1\n"
    assert sysctlconf.same("4096\t87380", "4096 87380") and not sysctlconf.same("1", "0")
    assert hostsfile.names_by_address(HOSTS)["10.0.0.1"] == ["node1.example", "node1"]
