"""corosync.config / corosync.authkey on the real lab nodes.

The state writes each node's real /etc/corosync/corosync.conf (the node's private
directory) and reloads the running corosync with ``corosync-cfgtool -R``; the new
token is then read back from corosync's own runtime config (corosync-cmapctl).
The original files are restored and reloaded by the fixture, even on failure.
"""

from __future__ import annotations

import base64
import os

import pytest

from tests.harness import assert_full_cycle, assert_refused, run

pytestmark = pytest.mark.cluster


@pytest.fixture
def restore_corosync(lab):
    paths = {n: lab.node_root(n) / "etc/corosync/corosync.conf" for n in lab.nodes}
    saved = {n: p.read_bytes() for n, p in paths.items()}
    key = lab.node_root("node1") / "etc/corosync/authkey"
    yield
    for node, path in paths.items():
        path.write_bytes(saved[node])
    lab.exec("node1", ["corosync-cfgtool", "-R"])
    key.unlink(missing_ok=True)


def lab_conf_args(lab, token: int) -> dict:
    return {"name": "corosync", "cluster_name": lab.cluster_name, "token": token, "network": f"{lab.cluster_net}.0/24",
            "nodes": [{"name": n, "ring0_addr": lab.cluster_addr(n)} for n in lab.nodes],
            "crypto_cipher": "none", "crypto_hash": "none"}


def runtime_token(lab, node: str) -> str:
    # The key is a prefix: token_retransmit etc. are listed too.
    out = lab.exec(node, ["corosync-cmapctl", "runtime.config.totem.token"], check=True).stdout
    values = dict(line.split(" = ", 1) for line in out.splitlines() if " = " in line)
    return values["runtime.config.totem.token (u32)"].strip()


def test_config_full_cycle_reloads_the_running_corosync(lab, restore_corosync):
    args = lab_conf_args(lab, token=1500)
    runner1 = lab.runner("node1")
    conf = lab.node_root("node1") / "etc/corosync/corosync.conf"
    applied = assert_full_cycle("corosync.config", args, runner1, conf.read_bytes)
    assert applied.changes["reloaded"] is True and "+    token: 1500" in applied.changes["diff"]
    assert runtime_token(lab, "node1") == "1500"
    res = run("corosync.config", args, lab.runner("node2"))
    assert res.result is True and res.changes
    assert runtime_token(lab, "node2") == "1500"
    # Still one healthy cluster after the reloads.
    lab.wait_cluster(timeout=30)


def test_bad_config_refused_and_file_untouched(lab, restore_corosync):
    args = lab_conf_args(lab, token=1500)
    args["nodes"][1]["ring0_addr"] = "192.168.1.2"
    conf = lab.node_root("node1") / "etc/corosync/corosync.conf"
    assert_refused("corosync.config", args, lab.runner("node1"), conf.read_bytes, "not in the cluster network")


def test_authkey_full_cycle(lab, restore_corosync):
    key = lab.node_root("node1") / "etc/corosync/authkey"

    def snapshot():
        return (key.read_bytes(), oct(key.stat().st_mode), key.stat().st_uid) if key.exists() else None

    args = {"name": "authkey", "key": base64.b64encode(os.urandom(256)).decode()}
    assert_full_cycle("corosync.authkey", args, lab.runner("node1"), snapshot)
    assert snapshot()[1:] == (oct(0o100400), 0)
    key.chmod(0o644)
    fixed = run("corosync.authkey", args, lab.runner("node1"))
    assert fixed.changes == {"mode": {"old": "0644", "new": "0400"}} and snapshot()[1] == oct(0o100400)
