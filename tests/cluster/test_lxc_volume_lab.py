"""lxc.volume_grown on the real two-node lab.

The seed's container resource (ocf:heartbeat:lxc on an LV) needs device-mapper
activation this kernel lacks, so a stand-in of the same shape is used: an
``ocf:pacemaker:Dummy`` resource placed on node1 by a location constraint, and a
loop-backed ext4 whose device was grown (as ``lvextend`` would). The state runs inside
node1 against the live cluster: the resource is really stopped through Pacemaker,
waited for, checked, the filesystem really grown, the resource really started again.
"""

from __future__ import annotations

import subprocess
import time

import pytest

from saline.states.system.pcmk_status import CRM_MON_ARGV, parse_resources
from tests.harness import assert_refused, run
from tests.real.loopdev import LoopFactory, loops  # noqa: F401

pytestmark = pytest.mark.cluster

RSC = "sl_vol_standin"
PRIMITIVE = f'<primitive id="{RSC}" class="ocf" provider="pacemaker" type="Dummy"/>'


def location(node: str) -> str:
    return f'<rsc_location id="{RSC}-loc" rsc="{RSC}" node="{node}" score="INFINITY"/>'


def wait_for(what: str, ready, timeout: float = 60.0) -> None:
    started = time.monotonic()
    while not ready():
        assert time.monotonic() - started < timeout, f"timed out waiting for {what}"
        time.sleep(0.2)


def fs_size(device: str) -> int:
    out = subprocess.run(["dumpe2fs", "-h", device], capture_output=True, text=True, check=True).stdout
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return int(fields["Block count"]) * int(fields["Block size"])


@pytest.fixture
def standin(lab):
    # Pacemaker starts nothing while stonith is enabled without a fence device (the seed
    # sets stonith-enabled=false); put back what was there for the other lab tests.
    stonith = ["crm_attribute", "--type", "crm_config", "--name", "stonith-enabled"]
    had = lab.exec("node1", [*stonith, "--query", "--quiet"])
    lab.exec("node1", [*stonith, "--update", "false"], check=True)
    lab.exec("node1", ["cibadmin", "--create", "-o", "resources", "-X", PRIMITIVE], check=True)
    lab.exec("node1", ["cibadmin", "--create", "-o", "constraints", "-X", location("node1")], check=True)
    try:
        wait_for(f"{RSC} on node1", lambda: lab.resource_location("node1", RSC) == ["node1"])
        yield lab
    finally:
        lab.exec("node1", ["crm_resource", "--resource", RSC, "--meta", "--set-parameter", "target-role", "--parameter-value", "Stopped"])
        lab.exec("node1", ["crm_resource", "--wait", "--timeout", "60s"], timeout=90)
        lab.exec("node1", ["cibadmin", "--delete", "-o", "constraints", "-X", f'<rsc_location id="{RSC}-loc"/>'])
        lab.exec("node1", ["cibadmin", "--delete", "-o", "resources", "-X", f'<primitive id="{RSC}"/>'])
        if had.rc == 0:
            lab.exec("node1", [*stonith, "--update", had.stdout.strip()])
        else:
            lab.exec("node1", [*stonith, "--delete"])


def node1_runner(lab):
    runner = lab.runner("node1")
    runner.root = type(runner.root)("/")  # the loop device is in the shared /dev, not a node-private dir
    return runner


def test_volume_grown_stops_grows_and_restarts_the_resource(standin, loops: LoopFactory):
    lab = standin
    device = loops(32)
    subprocess.run(["mkfs.ext4", "-q", "-F", device], check=True, capture_output=True)
    loops.grow(device, 64)  # the LV was extended; the filesystem not yet
    before = fs_size(device)
    runner = node1_runner(lab)
    args = {"name": RSC, "device": device}

    dry = run("lxc.volume_grown", args, runner, test=True)
    assert dry.result is None and dry.changes["fs_size"]["new"] == "64M", dry
    assert lab.resource_location("node1", RSC) == ["node1"] and fs_size(device) == before

    applied = run("lxc.volume_grown", args, runner)
    assert applied.result is True, applied.comment
    assert "stop resource" in applied.comment and "start resource" in applied.comment
    assert fs_size(device) == 64 * 1024**2 > before
    wait_for(f"{RSC} back on node1", lambda: lab.resource_location("node1", RSC) == ["node1"])
    rsc = parse_resources(lab.exec("node1", CRM_MON_ARGV, check=True).stdout)[RSC]
    assert rsc.active and not rsc.failed
    cib = lab.exec("node1", ["cibadmin", "--query", "--scope", "resources"], check=True).stdout
    assert "target-role" not in cib.split(f'id="{RSC}"')[1].split("</primitive>")[0]  # as it was: unset

    again = run("lxc.volume_grown", args, runner)
    assert again.result is True and again.changes == {}, again
    assert lab.resource_location("node1", RSC) == ["node1"]


def test_volume_grown_refused_while_the_resource_runs_on_the_peer(standin, loops: LoopFactory):
    lab = standin
    device = loops(32)
    subprocess.run(["mkfs.ext4", "-q", "-F", device], check=True, capture_output=True)
    loops.grow(device, 64)
    lab.exec("node1", ["cibadmin", "--replace", "-o", "constraints", "-X", location("node2")], check=True)
    wait_for(f"{RSC} on node2", lambda: lab.resource_location("node1", RSC) == ["node2"])
    runner = node1_runner(lab)

    def snapshot():
        return fs_size(device), lab.resource_location("node1", RSC)

    assert_refused("lxc.volume_grown", {"name": RSC, "device": device}, runner, snapshot, "runs on node2")
    assert_refused("lxc.volume_grown", {"name": "no_such_rsc", "device": device}, runner, snapshot, "not in the cluster")
    # Unmanaged (an operator's maintenance): Pacemaker would not stop it, so nothing may be grown.
    lab.exec("node1", ["cibadmin", "--replace", "-o", "constraints", "-X", location("node1")], check=True)
    wait_for(f"{RSC} back on node1", lambda: lab.resource_location("node1", RSC) == ["node1"])
    lab.exec("node1", ["crm_resource", "--resource", RSC, "--meta", "--set-parameter", "is-managed", "--parameter-value", "false"], check=True)
    wait_for(f"{RSC} unmanaged", lambda: not parse_resources(lab.exec("node1", CRM_MON_ARGV, check=True).stdout)[RSC].managed)
    assert_refused("lxc.volume_grown", {"name": RSC, "device": device}, runner, snapshot, "unmanaged")
    lab.exec("node1", ["crm_resource", "--resource", RSC, "--meta", "--delete-parameter", "is-managed"], check=True)
