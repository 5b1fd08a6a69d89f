"""Event store, reaction files, the Pacemaker guard and matching (pure / in-memory SQLite)."""

import sqlite3
import time

import pytest

from saline.master.cli.events import parse_since
from saline.master.events.config import Match, load_file, load_reactor
from saline.master.events.guard import command_conflict, sls_conflict
from saline.master.events.reactor import StoredEvent, matches
from saline.master.events.store import EventStore
from saline.protocol.config import ConfigError


def test_store_dedups_by_agent_and_seq_and_filters():
    s = EventStore(sqlite3.connect(":memory:", isolation_level=None))
    a = s.add("node1", 1, "pacemaker/resource/start", {"rsc": "a"}, 10.0)
    assert a and s.add("node1", 1, "pacemaker/resource/start", {"rsc": "a"}, 10.0) is None
    b = s.add("node2", 1, "pacemaker/node/lost", {}, 20.0)
    c, d = s.record("saline/drift/found", {"n": 1}), s.record("saline/drift/found", {"n": 2})
    assert a < b < c < d
    assert [e["id"] for e in s.query()] == [a, b, c, d]
    assert [e["id"] for e in s.query(tag="pacemaker/*")] == [a, b]
    assert [e["id"] for e in s.query(tag="pacemaker/resource_start")] == []  # _ is not a LIKE wildcard here
    assert [e["id"] for e in s.query(since=15.0, tag="pacemaker/*")] == [b]
    assert [e["id"] for e in s.query(limit=2)] == [c, d]  # the newest, oldest first
    assert [e["id"] for e in s.query(after_id=a, limit=2)] == [b, c]  # following: the next ones
    r = s.reaction_started(a, "garp", "running", jid="j")
    s.reaction_finished(r, "done", True, "node1: ok", 0.012)
    [ev] = s.query(tag="pacemaker/resource/*")
    assert ev["reactions"][0]["status"] == "done" and ev["reactions"][0]["latency"] == 0.012


def ev(tag="pacemaker/resource/start", **data):
    return StoredEvent(1, "node1", 5, tag, {"kind": "resource", "rsc": "res_lxc_ct1", "rc": 0, **data}, time.time())


def test_matching():
    assert matches(Match.model_validate({"tag": "pacemaker/resource/*", "rsc": "res_lxc_*", "rc": 0}), ev())
    assert not matches(Match.model_validate({"tag": "pacemaker/resource/*", "rc": 1}), ev())
    assert not matches(Match.model_validate({"tag": "pacemaker/resource/stop"}), ev())
    assert matches(Match.model_validate({"tag": "*", "node": "node?"}), ev())
    assert not matches(Match.model_validate({"tag": "*", "desc": "*"}), ev())  # missing field: no match


@pytest.mark.parametrize("argv, refused", [
    (["crm_resource", "--move", "-r", "g"], True),
    (["/usr/sbin/pcs", "resource", "disable", "g"], True),
    (["crm", "resource", "stop", "g"], True),
    (["crm_resource", "--locate", "-r", "g"], False),
    (["cibadmin", "--query"], True),
    (["lxc-stop", "-n", "ct1"], True),
    (["drbdadm", "primary", "r0"], True),
    (["drbdadm", "status"], False),
    (["vgchange", "-ay", "vg"], True),
    (["sh", "-c", "anything"], True),
    (["/usr/local/bin/notify", "x"], False),
])
def test_guard_commands(argv, refused):
    assert (command_conflict(argv) is not None) is refused


def test_guard_sls(tmp_path):
    (tmp_path / "ok.sls").write_text("motd:\n  file.managed:\n    - name: /etc/motd\n")
    (tmp_path / "role.sls").write_text("x:\n  pacemaker.primitive:\n    - meta: {target-role: Stopped}\n")
    (tmp_path / "cmd.sls").write_text("x:\n  cmd.run:\n    - name: crm_resource --ban -r g\n")
    assert sls_conflict(["ok"], [tmp_path]) is None
    assert "target-role" in sls_conflict(["role"], [tmp_path])
    assert "crm_resource" in sls_conflict(["cmd"], [tmp_path])
    assert "not in the state roots" in sls_conflict(["nope"], [tmp_path])


def test_reaction_file_errors_name_file_and_line(tmp_path):
    f = tmp_path / "r.yaml"
    f.write_text("clusters:\n  ha: [a, b]\nreactions:\n  - name: x\n    match: {tag: t}\n"
                 "    run: {target: '{nod}', fun: test.ping}\n")
    with pytest.raises(ConfigError, match=r"r.yaml:4: .*unknown placeholder \{nod\}"):
        load_file(f, [])
    f.write_text("reactions:\n  - name: x\n    match: {tag: t}\n    run: {target: n, fun: test.ping}\n"
                 "    apply: {target: n, states: [a]}\n")
    with pytest.raises(ConfigError, match=r"r.yaml:2: .*exactly one action"):
        load_file(f, [])
    f.write_text("reactions:\n  - name: x\n    match: {tag: t}\n    run: {target: n, fun: state.apply}\n")
    with pytest.raises(ConfigError, match=r"r.yaml:4: reactions.0.run.fun: .*apply:"):
        load_file(f, [])
    f.write_text("reactions:\n  - name: g\n    match: {tag: t}\n    garp: {addresses: {ct1: [2001:db8::1]}}\n")
    with pytest.raises(ConfigError, match="IPv4"):
        load_file(f, [])


def test_reactor_dir_peers_and_duplicates(tmp_path):
    (tmp_path / "a.yaml").write_text("clusters: {ha1: [node1, node2]}\nreactions:\n  - name: x\n"
                                     "    match: {tag: t}\n    command: [/bin/true]\n")
    cfg = load_reactor(tmp_path, [])
    assert cfg.peers == {"node1": "node2", "node2": "node1"} and [r.name for r in cfg.reactions] == ["x"]
    (tmp_path / "b.yaml").write_text("reactions:\n  - name: x\n    match: {tag: t}\n    command: [/bin/true]\n")
    with pytest.raises(ConfigError, match="defined twice"):
        load_reactor(tmp_path, [])
    assert load_reactor(tmp_path / "missing", []).reactions == []


def test_parse_since():
    assert parse_since("10m", now=1000.0) == 400.0
    assert parse_since("1.5h", now=10000.0) == 4600.0
    assert parse_since("12345") == 12345.0
    assert parse_since("2026-12-03T08:00:00") > 1.7e9


def test_intake_stores_each_agents_events_in_order(tmp_path, monkeypatch):
    """An event past the next one waits (no store, no ack) until the missing one is resent."""
    from types import SimpleNamespace

    from saline.master.db import open_db
    from saline.master.events import intake as intake_mod
    from saline.master.keystore import KeyStore
    from saline.protocol.keys import load_or_create
    from saline.protocol.messages import EventBody
    from saline.protocol.signing import sign_event

    ks, _ = load_or_create(tmp_path / "pki")
    conn = open_db(tmp_path / "db.sqlite")
    keys = KeyStore(conn)
    keys.file_hello("n1", ks.curve_pub, ks.public.sign_pub, True)
    rec = keys.by_curve(ks.curve_pub)
    m = SimpleNamespace(cfg=SimpleNamespace(reactor_dir=None, state_roots=[], max_frame=1 << 20), keys=keys,
                        events=EventStore(conn), reply_control=lambda *a: None)
    intake = intake_mod.EventIntake(m)

    def ev(seq):
        return sign_event(EventBody(agent_id="n1", seq=seq, tag="t/x", at=float(seq)), ks)

    for seq in (1, 2, 4, 5):
        intake.receive(b"r", rec, ev(seq))
    assert [s for _, s in intake.flush()] == [1, 2]  # 4 and 5 wait for 3: not acked
    for seq in (3, 4, 5):
        intake.receive(b"r", rec, ev(seq))
    assert [s for _, s in intake.flush()] == [3, 4, 5]
    intake.receive(b"r", rec, ev(2))  # a resent one is acked again, stored once
    assert [s for _, s in intake.flush()] == [2]
    assert [e["seq"] for e in m.events.query()] == [1, 2, 3, 4, 5]
    # A gap that never fills is accepted after GAP_WAIT.
    monkeypatch.setattr(intake_mod, "GAP_WAIT", 0.0)
    intake.receive(b"r", rec, ev(9))
    assert [s for _, s in intake.flush()] == [9]
