"""corosync.config / corosync.authkey: rendering, argument checks and plans from facts."""

from __future__ import annotations

import base64

import pytest

from saline.states.engine.apply import StateArgsError, lookup, validate_args
from saline.states.engine.base import CommandStep, SetAttrsStep, WriteFileStep
from saline.states.modules import corosync as cs
from saline.states.modules.file import FileFacts

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


def facts(content: str | None, running: bool) -> cs.ConfigFacts:
    file = FileFacts(path=cs.CONF, kind="missing" if content is None else "file",
                     content=None if content is None else content.encode(), mode=0o644, user="root", group="root")
    return cs.ConfigFacts(file=file, running=running)


def test_config_plan_writes_and_reloads_only_when_running():
    a = conf_args()
    p = cs.config(a, facts(None, running=True))
    assert isinstance(p.steps[0], WriteFileStep) and p.steps[0].content == cs.render(a).encode()
    assert isinstance(p.steps[1], CommandStep) and p.steps[1].argv == ["corosync-cfgtool", "-R"]
    assert p.changes["reloaded"] is True and "+    two_node: 1" in p.changes["diff"]
    stopped = cs.config(a, facts("old\n", running=False))
    assert len(stopped.steps) == 1 and "-old" in stopped.changes["diff"] and "reloaded" not in stopped.changes


def test_config_says_when_a_reload_cannot_apply_the_change():
    """corosync cannot change transport or cluster_name at runtime: the plan says a restart is needed."""
    running = conf_args()
    token_only = cs.config(conf_args(token=5000), facts(cs.render(running), running=True))
    assert token_only.changes["reloaded"] is True and "restart_required" not in token_only.changes
    renamed = cs.config(conf_args(cluster_name="ha2", transport="udpu"), facts(cs.render(running), running=True))
    assert renamed.changes["restart_required"].startswith("transport, cluster_name changed")


def test_config_plan_empty_when_equal():
    a = conf_args()
    assert cs.config(a, facts(cs.render(a), running=True)).empty


def key_facts(content: bytes | None, mode: int = 0o400, user: str = "root") -> FileFacts:
    return FileFacts(path=cs.AUTHKEY, kind="missing" if content is None else "file", content=content,
                     mode=mode, user=user, group="root")


def test_authkey_plans_and_never_shows_the_key():
    a = args("corosync.authkey", name="key", key=KEY_B64)
    create = cs.authkey(a, key_facts(None))
    step = create.steps[0]
    assert isinstance(step, WriteFileStep) and step.content == KEY and step.mode == 0o400 and step.user == "root"
    assert KEY_B64 not in str(create.changes) and create.changes["authkey"] == "created"
    replace = cs.authkey(a, key_facts(b"x" * 256))
    assert "restart corosync" in replace.changes["authkey"]
    loose = cs.authkey(a, key_facts(KEY, mode=0o644))
    assert isinstance(loose.steps[0], SetAttrsStep) and loose.changes == {"mode": {"old": "0644", "new": "0400"}}
    assert cs.authkey(a, key_facts(KEY)).empty
    assert KEY_B64 not in repr(a), "the secret stays out of reprs and logs"


@pytest.mark.parametrize("key, match", [("not base64!", "must be base64"), (base64.b64encode(b"short").decode(), "5 bytes")])
def test_bad_authkey(key, match):
    with pytest.raises(StateArgsError, match=match):
        args("corosync.authkey", name="key", key=key)
