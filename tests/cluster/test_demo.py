"""The README's first command (`saline lab demo`) keeps working: the main job end to end."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.cluster

BIN = Path(sys.executable).parent


def test_demo_runs_end_to_end_and_cleans_up():
    # Per process: two sessions running this test at once must not tear down each other's lab.
    state_dir, prefix = f"/run/saline-demo-test-{os.getpid()}", f"sldemo{os.getpid()}"
    r = subprocess.run([str(BIN / "saline"), "lab", "--state-dir", state_dir, "--prefix", prefix, "demo"],
                       capture_output=True, text=True, timeout=420)
    try:
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        out = r.stdout
        assert "demo finished" in out
        # Agents ran inside the nodes (their hostnames), keys were accepted, the highstate converged.
        assert "node1: hostname=node1" in out and "node2: hostname=node2" in out
        assert "accepted key: node1" in out and "2 of 2 agent(s) succeeded" in out
        assert "Succeeded: 12 (changed=0)" in out  # the third apply: nothing left to change
        assert "Promoted: [ node1 ]" in out
        # The main job: a rolling maintenance of both nodes, every gate passing, both rebooted.
        assert "every gate passes" in out and "maintenance run " in out and ": done" in out
        assert out.count("rebooted=True") == 2 and "work=state apply maintained" in out
        gaps = [float(line.split("longest resource gap ")[1].split("s")[0]) for line in out.splitlines()
                if "longest resource gap" in line]
        assert len(gaps) == 2 and max(gaps) < 15
        # Failover hooks: the container's start event and its reaction, ARP seen on the LAN.
        assert "lxc_ct1's start event at the master" in out and "-> garp done" in out
        assert " 0 gratuitous ARP" not in out and "gratuitous ARP packets for" in out
    finally:
        subprocess.run([str(BIN / "saline"), "lab", "--state-dir", state_dir, "--prefix", prefix, "down"],
                       capture_output=True, timeout=120)
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert prefix not in netns and not Path(state_dir).exists()
