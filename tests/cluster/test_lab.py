"""The lab itself, for real: CLI up/exec/status, crash + restart, graceful stop,
and `down` after an `up` killed part-way (nothing may be left behind)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from saline.lab.cli import lab as lab_cli
from tests.cluster.conftest import make_lab

pytestmark = pytest.mark.cluster


def _leftovers(lab) -> list[str]:
    found = [f"netns {n}" for n in lab.nodes if Path("/run/netns", lab.netns(n)).exists()]
    mounts = subprocess.run(["findmnt", "-rno", "TARGET"], capture_output=True, text=True).stdout.split()
    found += [f"mount {m}" for m in mounts if m.startswith(str(lab.state_dir))]
    found += [str(p) for p in (lab.state_dir, lab.shared_dir) if p.exists()]
    return found


def test_cli_exec_passes_status_and_output(lab):
    cli = ["--state-dir", str(lab.state_dir), "--prefix", lab.prefix]
    res = CliRunner().invoke(lab_cli, [*cli, "exec", "node2", "uname", "-n"])
    assert res.exit_code == 0 and res.output.strip() == "node2"
    res = CliRunner().invoke(lab_cli, [*cli, "exec", "node1", "ip", "-br", "link", "show", "br0"])
    assert res.exit_code == 0 and "br0" in res.output
    res = CliRunner().invoke(lab_cli, [*cli, "exec", "node1", "false"])
    assert res.exit_code == 1
    res = CliRunner().invoke(lab_cli, [*cli, "status"])
    assert '"dc": "node' in res.output


def test_nodes_are_isolated(lab):
    assert lab.exec("node1", ["uname", "-n"]).stdout.strip() == "node1"
    lab.exec("node1", ["touch", "/run/only-on-node1"], check=True)
    assert lab.exec("node2", ["test", "-e", "/run/only-on-node1"]).rc == 1
    assert lab.exec("node1", ["ping", "-c1", "-W2", "node2"]).rc == 0, "eth1 link between the nodes"
    assert lab.exec("node1", ["ping", "-c1", "-W2", lab.public_addr("node2")]).rc == 0, "br0 network"


def test_kill_then_start_rejoins(lab):
    lab.kill("node2")
    assert lab.pids("node2") == []
    # node1 sees node2 lost (polled: token timeout + consensus, ~2 s here).
    deadline = time.monotonic() + 30
    while lab.cluster_view("node1")[1].get("node2", True):
        assert time.monotonic() < deadline, "node1 never saw node2 go offline"
        time.sleep(0.1)
    took = lab.start("node2")
    dc, online = lab.cluster_view("node2")
    assert online == {"node1": True, "node2": True} and dc in ("node1", "node2")
    assert took < 60


def test_graceful_stop_and_start(lab):
    lab.stop("node1")
    assert lab.pids("node1") == [] and not lab.running("node1")
    lab.start("node1")
    assert lab.cluster_view("node1")[1] == {"node1": True, "node2": True}


@pytest.mark.parametrize("after", [0.3, 1.5])
def test_down_after_killed_up_leaves_nothing(after):
    other = make_lab(f"p{int(after * 10)}")
    code = ("import sys; from saline.lab.lab import Lab; "
            f"Lab(state_dir={str(other.state_dir)!r}, prefix={other.prefix!r}).up()")
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        time.sleep(after)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        other.down()
    assert _leftovers(other) == []
    # setsid'ed daemons of the aborted up were in the namespaces and died with them.
    for node in other.nodes:
        assert other.pids(node) == []


def test_kill_ends_processes_that_left_the_nodes_netns():
    """A process started inside a node in a netns of its own (a container, `unshare -n`)
    is still the node's: `down` used to leave it running."""
    other = make_lab("n")
    try:
        other.up()
        other.exec("node1", ["sh", "-c", "unshare -n setsid sleep 4321 </dev/null >/dev/null 2>&1 &"], check=True)
        deadline = time.monotonic() + 10
        while not (stray := [p for p in other.pids("node1") if other._cmdline(p)[:2] == ["sleep", "4321"]]):
            assert time.monotonic() < deadline, "the unshared sleep never showed up as node1's"
            time.sleep(0.05)
    finally:
        other.down()
    assert _leftovers(other) == []
    time.sleep(0.5)
    for pid in stray:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0], \
            f"sleep {pid} started in node1 survived down"
