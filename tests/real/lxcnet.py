"""A throw-away network namespace with a ``br0`` for real busybox containers.

``ip netns exec`` gives each command a fresh mount namespace with the netns's own sysfs
(LXC checks ``/sys/class/net/br0`` before it plugs the veth in), but that sysfs hides the
host's cgroup mounts, and LXC then cannot set a limit. So the host's ``/sys/fs/cgroup``
is bind-mounted aside once and put back inside every command. LXC's command socket is an
abstract Unix socket, which belongs to the network namespace: every ``lxc-*`` command
about these containers must run through this runner.

Everything (containers, namespace, bind mount) is removed by the fixture's finalizer.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.real.netns import PrefixRunner, require_tools, sh


@dataclass
class LxcNet:
    ns: str
    cgroup_aside: str
    lxcpath: Path
    cib_file: Path  # an empty CIB: no Pacemaker owns anything unless a test adds it

    def runner(self) -> PrefixRunner:
        prefix = ["ip", "netns", "exec", self.ns, "sh", "-c",
                  f'mount --rbind {self.cgroup_aside} /sys/fs/cgroup && exec "$@"', "--"]
        return PrefixRunner(prefix, env={**os.environ, "CIB_file": str(self.cib_file)})

    def run(self, *argv: str) -> str:
        return self.runner().run(list(argv), check=True).stdout

    def destroy_all(self) -> None:
        runner = self.runner()
        for config in self.lxcpath.glob("*/config"):
            name = config.parent.name
            runner.run(["lxc-stop", "-P", str(self.lxcpath), "-n", name, "-k"], timeout=30)
            runner.run(["lxc-destroy", "-P", str(self.lxcpath), "-n", name, "-f"], timeout=60)


@pytest.fixture
def lxc_net(tmp_path: Path) -> Iterator[LxcNet]:
    require_tools("lxc-create", "lxc-start", "ip", "busybox", "cibadmin")
    if os.geteuid() != 0:
        pytest.skip("containers need root")
    pivots_before = set(Path("/sys/fs/cgroup").glob("*/lxc.pivot"))
    tag = secrets.token_hex(3)
    net = LxcNet(ns=f"snlxc-{tag}", cgroup_aside=f"/run/snlxc-{tag}-cgroup", lxcpath=tmp_path / "lxc", cib_file=tmp_path / "cib.xml")
    net.lxcpath.mkdir()
    net.cib_file.write_text(sh("cibadmin", "--empty"))
    sh("ip", "netns", "add", net.ns)
    Path(net.cgroup_aside).mkdir()
    try:
        sh("mount", "--rbind", "/sys/fs/cgroup", net.cgroup_aside)
        sh("ip", "-n", net.ns, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", net.ns, "link", "set", "br0", "up")
        yield net
    finally:
        try:
            net.destroy_all()
        finally:
            subprocess.run(["umount", "-R", net.cgroup_aside], capture_output=True)
            subprocess.run(["rmdir", net.cgroup_aside], capture_output=True)
            subprocess.run(["ip", "netns", "del", net.ns], capture_output=True)
            # LXC leaves an empty "lxc.pivot" cgroup behind; rmdir only removes it when empty.
            for pivot in set(Path("/sys/fs/cgroup").glob("*/lxc.pivot")) - pivots_before:
                subprocess.run(["rmdir", str(pivot)], capture_output=True)
