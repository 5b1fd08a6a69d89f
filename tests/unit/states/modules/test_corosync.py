"""corosync.config / corosync.authkey: rendering, argument checks and plans from facts."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from saline.states.engine.apply import StateArgsError, lookup, validate_args
from saline.states.engine.base import CommandStep, Refuse, SetAttrsStep, WriteFileStep
from saline.states.modules import corosync as cs
from saline.states.modules.file import FileFacts
from saline.states.system import corosync as cmap

NODES = [{"name": "node1", "ring0_addr": "10.77.0.1"}, {"name": "node2", "ring0_addr": "10.77.0.2"}]
KEY = bytes(range(256))
KEY_B64 = base64.b64encode(KEY).decode()


def args(fun: str, **kw):
    return validate_args(lookup(fun), kw)


def conf_args(**kw):
    return args("corosync.config", **{"name": "corosync", "cluster_name": "ha1", "nodes": NODES,
                                       "network": "10.77.0.0/24", **kw})


def test_render_two_node_knet():
    text = cs.render(conf_args(token=1000, crypto_cipher="none", crypto_hash="none"))
    for line in text.splitlines():
        if "{" in line:
            assert line.rstrip().endswith("{"), "corosync rejects text after '{'"
    assert text.count("{") == text.count("}")
    assert "    two_node: 1\n" in text and "transport: knet" in text and "token: 1000" in text
    assert "        name: node2\n        nodeid: 2\n        ring0_addr: 10.77.0.2\n" in text
    assert "crypto_cipher: none" in text


def test_three_nodes_have_no_two_node_flag_and_explicit_ids_are_kept():
    nodes = [*NODES, {"name": "node3", "ring0_addr": "10.77.0.3", "nodeid": 7}]
    text = cs.render(conf_args(nodes=nodes))
    assert "two_node" not in text and "nodeid: 7" in text


@pytest.mark.parametrize("kw, match", [
    ({"cluster_name": "ha1\n}\ntotem {"}, "plain name"),
    ({"nodes": [NODES[0], {"name": "node1", "ring0_addr": "10.77.0.9"}]}, "duplicate node name"),
    ({"nodes": [NODES[0], {"name": "node2", "ring0_addr": "10.1.1.2"}]}, "not in the cluster network"),
    ({"nodes": [NODES[0]]}, "at least 2"),
    ({"crypto_cipher": "aes256", "crypto_hash": "none"}, "needs a crypto_hash"),
    ({"logfile": "/var/log/x.log\nlogging {"}, "must not contain whitespace"),
    ({"transport": "tcp"}, "knet"),
])
def test_bad_config_args(kw, match):
    with pytest.raises(StateArgsError, match=match):
        conf_args(**kw)


FIXTURES = Path(__file__).parents[3] / "fixtures" / "corosync"
# The lab's running configuration (cluster salinelab, node1/node2 on 10.77.0.x, no crypto).
RUNNING = cmap.parse_cmap((FIXTURES / "cmapctl-knet-nocrypto.txt").read_text())
LAB_NODES = [{"name": "node1", "ring0_addr": "10.77.0.1"}, {"name": "node2", "ring0_addr": "10.77.0.2"}]


def lab_args(**kw):
    return conf_args(**{"cluster_name": "salinelab", "nodes": LAB_NODES, "crypto_cipher": "none", "crypto_hash": "none",
                        **kw})


def facts(content: str | None, running: bool, key: bool = True, runtime: cmap.CorosyncView | None = None) -> cs.ConfigFacts:
    file = FileFacts(path=cs.CONF, kind="missing" if content is None else "file",
                     content=None if content is None else content.encode(), mode=0o644, user="root", group="root")
    return cs.ConfigFacts(file=file, running=running, runtime=(runtime or RUNNING) if running else None, key_present=key)


def test_running_config_parsed_from_cmapctl_and_the_file_alike():
    assert RUNNING.totem["cluster_name"] == "salinelab" and RUNNING.crypto() == ("none", "none")
    assert RUNNING.nodes == {"node1": {"nodeid": "1", "ring0_addr": "10.77.0.1"},
                             "node2": {"nodeid": "2", "ring0_addr": "10.77.0.2"}}
    from_file = cmap.parse_conf(cs.render(lab_args()))
    assert cmap.restart_changes(RUNNING, from_file) == []


def test_secauth_and_defaults_mean_what_corosync_makes_of_them():
    hand = cmap.parse_conf("totem {\n  version: 2\n  secauth: on\n  cluster_name: c\n}\n")
    assert hand.crypto() == ("aes256", "sha256") and hand.totem["transport"] == "knet"
    with pytest.raises(cmap.ConfSyntaxError):
        cmap.parse_conf("totem {\n")


def test_config_plan_writes_and_reloads_a_reloadable_change():
    a = lab_args(token=5000)
    p = cs.config(a, facts("old\n", running=True))
    assert isinstance(p.steps[0], WriteFileStep) and p.steps[0].content == cs.render(a).encode()
    assert isinstance(p.steps[1], CommandStep) and p.steps[1].argv == ["corosync-cfgtool", "-R"]
    assert p.changes["reloaded"] is True and "restart_required" not in p.changes
    stopped = cs.config(conf_args(), facts("old\n", running=False))
    assert len(stopped.steps) == 1 and "-old" in stopped.changes["diff"] and "reloaded" not in stopped.changes


@pytest.mark.parametrize("kw, what", [
    ({"crypto_cipher": "aes256", "crypto_hash": "sha256"}, "crypto_cipher (none → aes256), crypto_hash (none → sha256)"),
    ({"cluster_name": "ha2"}, "cluster_name (salinelab → ha2)"),
    ({"transport": "udpu"}, "transport (knet → udpu)"),
    ({"nodes": [LAB_NODES[0], {"name": "node2", "ring0_addr": "10.77.0.9"}]}, "node node2 ring0_addr (10.77.0.2 → 10.77.0.9)"),
    ({"nodes": [LAB_NODES[0], {"name": "node2", "ring0_addr": "10.77.0.2", "nodeid": 5}]}, "node node2 nodeid (2 → 5)"),
])
def test_a_change_no_reload_can_apply_is_refused_on_a_running_cluster(kw, what):
    a = lab_args(**kw)
    with pytest.raises(Refuse, match="restart: cluster") as refused:
        cs.config(a, facts(cs.render(lab_args()), running=True))
    assert what in str(refused.value) and "is unchanged" in str(refused.value)
    # Not running: nothing to split, the file is simply written.
    assert not cs.config(a, facts(cs.render(lab_args()), running=False)).empty


def test_restart_cluster_writes_without_reload_and_says_what_to_do():
    crypto = cs.config(lab_args(crypto_cipher="aes256", crypto_hash="sha256", restart="cluster"),
                       facts(cs.render(lab_args()), running=True))
    assert [type(s) for s in crypto.steps] == [WriteFileStep] and crypto.changes["reloaded"] is False
    text = "\n".join(crypto.changes["restart_required"])
    assert "on every node" in text and "authkey is the same" in text and "One node at a time is not possible" in text
    renamed = cs.config(lab_args(cluster_name="ha2", restart="cluster"), facts(cs.render(lab_args()), running=True))
    assert "crm cluster stop --all" in "\n".join(renamed.changes["restart_required"])
    # Written but corosync still runs the old name: nothing more to do, and the comment says why.
    again = cs.config(lab_args(cluster_name="ha2", restart="cluster"), facts(cs.render(lab_args(cluster_name="ha2")), running=True))
    assert again.empty and "still runs the old cluster_name" in again.comment


def test_a_node_added_is_reloaded():
    three = [*LAB_NODES, {"name": "node3", "ring0_addr": "10.77.0.3"}]
    p = cs.config(lab_args(nodes=three), facts(cs.render(lab_args()), running=True))
    assert p.changes["reloaded"] is True


def test_crypto_without_the_key_is_refused_write_the_key_first():
    a = conf_args(crypto_cipher="aes256", crypto_hash="sha256")
    with pytest.raises(Refuse, match="write the key first"):
        cs.config(a, facts(None, running=False, key=False))


def test_config_plan_empty_when_equal():
    a = lab_args()
    assert cs.config(a, facts(cs.render(a), running=True)).empty


def key_facts(content: bytes | None, mode: int = 0o400, user: str = "root", crypto: bool = False) -> cs.AuthkeyFacts:
    return cs.AuthkeyFacts(file=FileFacts(path=cs.AUTHKEY, kind="missing" if content is None else "file", content=content,
                                          mode=mode, user=user, group="root"), running_crypto=crypto)


def test_authkey_plans_and_never_shows_the_key():
    a = args("corosync.authkey", name="key", key=KEY_B64)
    create = cs.authkey(a, key_facts(None))
    step = create.steps[0]
    assert isinstance(step, WriteFileStep) and step.content == KEY and step.mode == 0o400 and step.user == "root"
    assert KEY_B64 not in str(create.changes) and create.changes["authkey"] == "created"
    replace = cs.authkey(a, key_facts(b"x" * 256))
    assert replace.changes["authkey"] == "replaced" and "restart_required" not in replace.changes
    loose = cs.authkey(a, key_facts(KEY, mode=0o644))
    assert isinstance(loose.steps[0], SetAttrsStep) and loose.changes == {"mode": "0400"}
    assert cs.authkey(a, key_facts(KEY)).empty
    assert KEY_B64 not in repr(a), "the secret stays out of reprs and logs"


def test_authkey_not_replaced_under_a_cluster_running_crypto():
    a = args("corosync.authkey", name="key", key=KEY_B64)
    with pytest.raises(Refuse, match="restart: cluster"):
        cs.authkey(a, key_facts(b"x" * 256, crypto=True))
    forced = cs.authkey(args("corosync.authkey", name="key", key=KEY_B64, restart="cluster"), key_facts(b"x" * 256, crypto=True))
    assert forced.steps[0].content == KEY and "on every node" in "\n".join(forced.changes["restart_required"])
    assert cs.authkey(a, key_facts(KEY, crypto=True)).empty


@pytest.mark.parametrize("key, match", [("not base64!", "must be base64"), (base64.b64encode(b"short").decode(), "5 bytes")])
def test_bad_authkey(key, match):
    with pytest.raises(StateArgsError, match=match):
        args("corosync.authkey", name="key", key=key)
