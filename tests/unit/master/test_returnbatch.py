"""Returns stored once per batch of frames (master/returnbatch.py), on a real SQLite database."""

import time

import pytest

from saline.master.db import open_db
from saline.master.jobstore import JobStore
from saline.master.returnbatch import ReturnBatch
from saline.protocol.codec import decode_message
from saline.protocol.ids import new_jid
from saline.protocol.messages import Ack, ReturnBody


@pytest.fixture
def jobs(tmp_path):
    return JobStore(open_db(tmp_path / "db" / "jobs.sqlite"))


def _ret(jid: str, aid: str, ok: bool = True) -> ReturnBody:
    now = time.time()
    return ReturnBody(jid=jid, agent_id=aid, fun="test.ping", success=ok, data=ok, started_at=now, finished_at=now)


def test_a_batch_is_stored_in_one_go_then_acked(jobs):
    jid = new_jid()
    jobs.create(jid, "test.ping", [], {}, "n*", 30, {"n1": "pending", "n2": "pending", "n3": "not_connected"})
    batch = ReturnBatch(jobs)
    assert batch.status(jid, "n1") == "pending"
    assert batch.status(jid, "n9") is None  # never sent there: the server refuses the return
    batch.add(b"r1", _ret(jid, "n1"), was_pending=True)
    batch.add(b"r3", _ret(jid, "n3", ok=False), was_pending=False)
    # Not in the database before the flush, but the batch knows (a duplicate in the same batch).
    assert jobs.return_status(jid, "n1") == "pending"
    assert batch.status(jid, "n1") == "returned"
    done = batch.flush()
    assert [rid for rid, _ in done.acks] == [b"r1", b"r3"]
    assert all(decode_message(frame) == Ack(jid=jid) for _, frame in done.acks)
    assert done.stored == [(jid, True), (jid, False)]
    rows = {r.agent_id: r for r in jobs.get(jid).returns}
    assert (rows["n1"].status, rows["n1"].success, rows["n1"].data) == ("returned", True, True)
    assert (rows["n3"].status, rows["n3"].success) == ("returned", False)
    assert rows["n2"].status == "pending"
    assert batch.flush().acks == []  # nothing twice


def test_a_resent_duplicate_is_acked_again_and_stored_once(jobs):
    jid = new_jid()
    jobs.create(jid, "test.ping", [], {}, "n1", 30, {"n1": "pending"})
    batch = ReturnBatch(jobs)
    batch.add(b"r1", _ret(jid, "n1"), was_pending=True)
    batch.flush()
    assert batch.status(jid, "n1") == "returned"
    batch.ack_again(b"r1", jid)
    done = batch.flush()
    assert [rid for rid, _ in done.acks] == [b"r1"] and done.stored == []


def test_the_plain_job_is_what_the_models_dump(jobs):
    """The control reply sends JobStore.get_plain as it is: it must be JobRecord's dump."""
    jid = new_jid()
    jobs.create(jid, "test.ping", [], {"x": 1}, "n*", 30, {"n1": "pending", "n2": "pending", "n3": "not_connected"})
    batch = ReturnBatch(jobs)
    batch.add(b"r1", _ret(jid, "n1"), was_pending=True)
    batch.flush()
    for now in (None, time.time() + 3600):  # n2 pending, then no_return
        assert jobs.get_plain(jid, now) == jobs.get(jid, now).model_dump(mode="python")
    assert jobs.get_plain(new_jid()) is None and jobs.get(new_jid()) is None


def test_a_published_job_answers_from_memory_until_its_timeout(jobs, monkeypatch):
    jid = new_jid()
    statuses = {"n1": "pending", "n2": "pending"}
    jobs.create(jid, "test.ping", [], {}, "n*", 30, statuses)
    batch = ReturnBatch(jobs)
    batch.opened(jid, statuses, until=time.time() + 30)
    batch.mark(jid, "n2", "not_connected")
    looked_up = []
    real = jobs.return_status
    monkeypatch.setattr(jobs, "return_status", lambda j, a: looked_up.append((j, a)) or real(j, a))
    assert (batch.status(jid, "n1"), batch.status(jid, "n2"), batch.status(jid, "n9")) == \
        ("pending", "not_connected", None)
    batch.add(b"r1", _ret(jid, "n1"), was_pending=True)
    batch.flush()
    assert batch.status(jid, "n1") == "returned"
    assert looked_up == []  # no query per return while the job runs
    # After its timeout (a late return) the database answers.
    batch.opened(jid, statuses, until=time.time() - 1)
    assert batch.status(jid, "n1") == "returned" and looked_up == [(jid, "n1")]
