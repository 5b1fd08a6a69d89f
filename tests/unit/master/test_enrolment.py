"""Enrolment under a pending-key flood (master/enrolment.py through the real KeyStore)."""

import os
import time

import zmq

from saline.master.db import open_db
from saline.master.keystore import KeyStore


def _key() -> tuple[str, bytes]:
    return zmq.curve_keypair()[0].decode(), os.urandom(32)


def test_per_source_limit_and_oldest_first_eviction(tmp_path):
    ks = KeyStore(open_db(tmp_path / "db.sqlite"), max_pending=10, pending_per_source=3)
    # One address may hold 3 pending keys; its next new keys are refused.
    states = [ks.file_hello(f"flood{i}", *_key(), auto_accept=False, source="10.0.0.66")[0] for i in range(50)]
    assert states.count("pending") == 3 and states.count("denied") == 47
    # Many addresses fill the global limit; then each new key evicts the oldest pending one.
    for i in range(20):
        ks.file_hello(f"spread{i}", *_key(), auto_accept=False, source=f"10.1.0.{i}")
    assert len(ks.pending) == 10 == len(ks.select(None, {"pending"}))
    real_key = _key()
    assert ks.file_hello("node7", *real_key, auto_accept=False, source="192.168.1.7")[0] == "pending"
    pending = {r.agent_id for r in ks.select(None, {"pending"})}
    assert "node7" in pending and "flood0" not in pending and len(pending) == 10
    # The evicted keys are gone from the database too (a restart does not bring them back).
    assert len(KeyStore(ks.conn).select(None, {"pending"})) == 10
    # Accepted keys are never evicted, and do not count.
    ks.set_state(ks.by_id("node7"), "accepted")
    for i in range(30):
        ks.file_hello(f"late{i}", *_key(), auto_accept=False, source=f"10.2.0.{i}")
    assert ks.by_id("node7").state == "accepted"
    report = {r["source"]: r for r in ks.flood_report(since=0)}
    assert report["10.0.0.66"]["refused"] == 47 and report["10.0.0.66"]["evicted"] == 3
    # 3 + 20 filed into 10 places: 13 evicted; node7: 1; 30 more into the 1 place node7 left: 29.
    assert sum(r["evicted"] for r in report.values()) == 13 + 1 + 29


def test_lookups_by_id_follow_every_change(tmp_path):
    ks = KeyStore(open_db(tmp_path / "db.sqlite"))
    curve, sign = _key()
    ks.file_hello("node1", curve, sign, auto_accept=False, source="a")
    rec = ks.by_id("node1")
    assert rec.state == "pending"
    ks.set_state(rec, "accepted")
    assert ks.by_id("node1").state == "accepted" and len(ks.pending) == 0
    ks.delete(ks.by_id("node1"))
    assert ks.by_id("node1") is None and ks.by_curve(curve) is None


def test_agent_port_admits_accepted_keys_only_and_enrolment_port_all_but_rejected(tmp_path):
    """#11.1: a key that is not accepted must never get a session on the agent port, where a
    frame may be 16 MiB; the enrolment port (frames capped at a hello) admits it."""
    ks = KeyStore(open_db(tmp_path / "db.sqlite"), max_pending=10, pending_per_source=3)
    unknown, (pending, sign) = _key()[0], _key()
    ks.file_hello("node1", pending, sign, auto_accept=False, source="10.0.0.1")
    admitted = lambda key: (ks.zap_allows(key), ks.zap_allows(key, enrolment=True))  # noqa: E731
    assert admitted(unknown) == (False, True)
    assert admitted(pending) == (False, True)
    ks.set_state(ks.by_id("node1"), "accepted")
    assert admitted(pending) == (True, True)
    ks.set_state(ks.by_id("node1"), "rejected")
    assert admitted(pending) == (False, False)


def test_hellos_repeated_with_a_wrong_signing_key_or_id_claim_write_a_few_lines(tmp_path, caplog):
    """An accepted key may say hello as often as its budget allows (32 MiB/s): each refused hello
    used to write its own WARNING line."""
    ks = KeyStore(open_db(tmp_path / "db.sqlite"), max_pending=10, pending_per_source=3)
    curve, sign = _key()
    assert ks.file_hello("node1", curve, sign, auto_accept=True, source="10.0.0.1")[0] == "accepted"
    caplog.set_level("WARNING", logger="saline.master.keystore")
    for _ in range(1000):
        assert ks.file_hello("node1", curve, os.urandom(32), auto_accept=False, source="10.0.0.1")[0] == "denied"
        assert ks.file_hello("node2", curve, sign, auto_accept=False, source="10.0.0.1")[0] == "accepted"
    lines = [r.getMessage() for r in caplog.records]
    assert sum("different signing key" in m for m in lines) == 5
    assert sum("says hello as 'node2'" in m for m in lines) == 5
    ks.ratelog.flush(now=time.monotonic() + 60)
    summaries = [r.getMessage() for r in caplog.records if "suppressed" in r.getMessage()]
    assert sorted(summaries) == ["suppressed 995 similar id-claim lines from node1 in 10s",
                                 "suppressed 995 similar signing-key lines from node1 in 10s"]
