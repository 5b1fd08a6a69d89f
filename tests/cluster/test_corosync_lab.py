"""corosync.config / corosync.authkey on the real lab nodes.

The state writes each node's real /etc/corosync/corosync.conf (the node's private
directory) and reloads the running corosync with ``corosync-cfgtool -R``; the new
token is then read back from corosync's own runtime config (corosync-cmapctl).
The original files are restored and reloaded by the fixture, even on failure.
"""

from __future__ import annotations

import base64
import os
import time

import pytest

from saline.lab.lab import LabError
from tests.harness import assert_full_cycle, assert_refused, run

pytestmark = pytest.mark.cluster


@pytest.fixture
def restore_corosync(lab):
    """Puts back both nodes' corosync.conf and one healthy partition, even after a split:
    the original (crypto-less) files on both nodes and one reload switch every node back
    together; if the nodes still do not see each other, both are restarted."""
    paths = {n: lab.node_root(n) / "etc/corosync/corosync.conf" for n in lab.nodes}
    saved = {n: p.read_bytes() for n, p in paths.items()}
    keys = [lab.node_root(n) / "etc/corosync/authkey" for n in lab.nodes]
    yield
    for node, path in paths.items():
        path.write_bytes(saved[node])
    for node in lab.nodes:
        lab.exec(node, ["corosync-cfgtool", "-R"])
    try:
        lab.wait_cluster(timeout=20)
    except LabError:
        for node in lab.nodes:
            lab.stop(node)
        for node in lab.nodes:
            lab.start(node)
    for key in keys:
        key.unlink(missing_ok=True)


def views(lab) -> dict[str, tuple[str | None, dict[str, bool]]]:
    return {n: lab.cluster_view(n) for n in lab.nodes}


def split(lab) -> bool:
    """Each node sees only itself online and is its own DC: two partitions."""
    seen = views(lab)
    return all(dc == node and online.get(node) and not online.get(other)
               for (node, (dc, online)), other in zip(seen.items(), reversed(lab.nodes)))


def wait_for(what: str, check, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


def runtime_crypto(lab, node: str) -> str:
    out = lab.exec(node, ["corosync-cmapctl", "totem.crypto_cipher"], check=True).stdout
    return out.split(" = ", 1)[1].strip()


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
    assert fixed.changes == {"mode": "0400"} and snapshot()[1] == oct(0o100400)


def crypto_args(lab, **kw) -> dict:
    return {**lab_conf_args(lab, token=lab.token), "crypto_cipher": "aes256", "crypto_hash": "sha256", **kw}


def test_config_then_key_per_node_splits_the_cluster(lab, restore_corosync):
    """What saline did before (README order: config, then authkey, node by node, each
    config reloading): the first reload runs before the peer has the file or the key,
    the nodes end up with different crypto and the cluster splits into two partitions."""
    key = os.urandom(256)
    text = (lab.node_root("node1") / "etc/corosync/corosync.conf").read_text()
    encrypted = text.replace("crypto_cipher: none", "crypto_cipher: aes256").replace("crypto_hash: none", "crypto_hash: sha256")
    assert encrypted != text
    for node in lab.nodes:
        (lab.node_root(node) / "etc/corosync/corosync.conf").write_text(encrypted)
        reload = lab.exec(node, ["corosync-cfgtool", "-R"])
        (lab.node_root(node) / "etc/corosync/authkey").write_bytes(key)
        if node == "node1":
            assert reload.rc != 0 and "CS_ERR_INVALID_PARAM" in reload.stderr + reload.stdout
    wait_for("two partitions", lambda: split(lab))
    assert {runtime_crypto(lab, n) for n in lab.nodes} == {"aes256", "none"}


def test_same_states_now_refuse_and_the_cluster_stays_whole(lab, restore_corosync):
    """The same change through saline: without the key it is refused ("write the key
    first"); with the key, turning crypto on is refused on the running cluster unless
    restart: cluster. corosync.conf is unchanged and the cluster is one partition."""
    conf = lab.node_root("node1") / "etc/corosync/corosync.conf"
    assert_refused("corosync.config", crypto_args(lab), lab.runner("node1"), conf.read_bytes, "write the key first")
    key = {"name": "authkey", "key": base64.b64encode(os.urandom(256)).decode()}
    assert run("corosync.authkey", key, lab.runner("node1")).result is True
    refused = assert_refused("corosync.config", crypto_args(lab), lab.runner("node1"), conf.read_bytes, "restart: cluster")
    assert "split" in refused.comment and "is unchanged" in refused.comment
    time.sleep(2 * lab.token / 1000)
    assert not split(lab) and {runtime_crypto(lab, n) for n in lab.nodes} == {"none"}
    lab.wait_cluster(timeout=5)


def test_crypto_on_with_restart_cluster_following_the_reported_steps(lab, restore_corosync):
    """restart: cluster writes the file without reloading and says what to do; doing it
    (same key and file on every node, then one reload) switches both nodes together."""
    key = {"name": "authkey", "key": base64.b64encode(os.urandom(256)).decode()}
    for node in lab.nodes:
        res = run("corosync.authkey", key, lab.runner(node))
        assert res.result is True, res.comment
        res = run("corosync.config", crypto_args(lab, restart="cluster"), lab.runner(node))
        assert res.result is True and res.changes["reloaded"] is False, res
        steps = "\n".join(res.changes["restart_required"])
        assert "authkey is the same on every node" in steps and "corosync-cfgtool -R' once" in steps
        again = run("corosync.config", crypto_args(lab, restart="cluster"), lab.runner(node))
        assert again.result is True and again.changes == {} and "still runs the old crypto_cipher" in again.comment
    lab.wait_cluster(timeout=5)
    assert {runtime_crypto(lab, n) for n in lab.nodes} == {"none"}, "nothing reloaded yet"
    reload = lab.exec("node1", ["corosync-cfgtool", "-R"])
    assert reload.rc == 0, reload
    wait_for("crypto on both nodes", lambda: {runtime_crypto(lab, n) for n in lab.nodes} == {"aes256"})
    time.sleep(2 * lab.token / 1000)
    assert not split(lab)
    lab.wait_cluster(timeout=10)
    # Now the cluster uses the key: replacing it on one node is refused, the key unchanged.
    path = lab.node_root("node1") / "etc/corosync/authkey"
    other = {"name": "authkey", "key": base64.b64encode(os.urandom(256)).decode()}
    assert_refused("corosync.authkey", other, lab.runner("node1"), path.read_bytes, "restart: cluster")


@pytest.mark.parametrize("change, shown", [
    ({"cluster_name": "renamed"}, "cluster_name (salinelab → renamed)"),
    ({"transport": "udpu"}, "transport (knet → udpu)"),
    ({"nodes": "node2-address"}, "node node2 ring0_addr"),
])
def test_restart_only_changes_refused_on_the_running_lab(lab, restore_corosync, change, shown):
    args = lab_conf_args(lab, token=lab.token)
    if change.get("nodes"):
        args["nodes"][1]["ring0_addr"] = f"{lab.cluster_net}.99"
    else:
        args.update(change)
    conf = lab.node_root("node1") / "etc/corosync/corosync.conf"
    refused = assert_refused("corosync.config", args, lab.runner("node1"), conf.read_bytes, "restart: cluster")
    assert shown in refused.comment


def test_a_reload_really_keeps_the_old_cluster_name(lab, restore_corosync):
    """Why cluster_name is restart-only: written with restart: cluster and reloaded by hand
    anyway, corosync keeps running under the old name (its cmap) and the state still says so."""
    args = {**lab_conf_args(lab, token=lab.token), "cluster_name": "renamed", "restart": "cluster"}
    for node in lab.nodes:
        res = run("corosync.config", args, lab.runner(node))
        assert res.result is True and res.changes["reloaded"] is False
    assert lab.exec("node1", ["corosync-cfgtool", "-R"]).rc == 0
    name = lab.exec("node1", ["corosync-cmapctl", "totem.cluster_name"], check=True).stdout
    assert name.strip().endswith(f"= {lab.cluster_name}")
    again = run("corosync.config", args, lab.runner("node1"))
    assert again.changes == {} and "still runs the old cluster_name" in again.comment
    lab.wait_cluster(timeout=10)
