"""Attack pass on today's batched return store (#11): what one compromised agent's signed
return can do to the returns of the others in the same batch, against a real master."""

import time

import pytest

from saline.protocol.codec import pack
from saline.protocol.messages import ReturnBody

from .procs import wait_for
from .test_hostile import _answer_in_background, node1_and_rogue_node2  # noqa: F401  (the fixture)

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("field", ["retcode", "started_at"])
def test_a_return_sqlite_cannot_store_does_not_stop_the_master_or_lose_the_others(node1_and_rogue_node2, field):
    """A signed return whose retcode is past SQLite's 64-bit INTEGER (msgpack carries up to
    2**64-1) raised OverflowError in the batch's executemany: the master's loop ended (every
    agent cut off), and the batch it was in was dropped."""
    d, rogue = node1_and_rogue_node2

    def huge(job):
        now = time.time()
        values = {"retcode": 2**64 - 1} if field == "retcode" else {"started_at": float("nan")}
        return pack(ReturnBody(jid=job.jid, agent_id="node2", fun=job.fun, success=True, data=True,
                               **{"started_at": now, "finished_at": now, **values}))

    t = _answer_in_background(rogue, huge)
    rc, job = d.cli_json("run", "*", "test.ping", "--timeout", "5", timeout=30)
    t.join()
    assert d.master.alive, d.master.log_text()[-2000:]
    returns = {r["agent_id"]: r for r in job["returns"]}
    assert returns["node1"]["status"] == "returned" and returns["node1"]["success"] is True
    assert returns["node2"]["status"] == "returned" and returns["node2"]["success"] is False, returns["node2"]
    rc, again = d.cli_json("run", "node1", "test.ping", "--timeout", "10")
    assert rc == 0, again


def test_an_event_seq_sqlite_cannot_store_is_refused_as_a_bad_frame(node1_and_rogue_node2):
    """An event whose seq is past SQLite's INTEGER raised OverflowError inside the events'
    transaction: a traceback per resend (the agent resends until acked) instead of a refusal."""
    from saline.protocol.messages import Event, EventBody

    d, rogue = node1_and_rogue_node2
    body = pack(EventBody.model_construct(agent_id="node2", seq=2**64 - 1, tag="saline/agent/start", data={},
                                         at=time.time()))  # as a compromised agent signs it
    rogue.sock.send(pack(Event(body=body, sig=rogue.keys.sign(body))))
    wait_for(lambda: "event refused" in d.master.log_text(), what="the event refused")
    assert "unexpected error" not in d.master.log_text()
    rc, job = d.cli_json("run", "node1", "test.ping", "--timeout", "10")
    assert rc == 0, job


def test_a_return_naming_another_function_is_checked_as_the_jobs(node1_and_rogue_node2):
    """The shape check picked its validator by the return's own ``fun``: a compromised agent
    answering a state.apply job with ``fun: test.ping`` had malformed state data stored,
    which `saline apply` and `jobs show` then met."""
    d, rogue = node1_and_rogue_node2

    def disguised(job):
        now = time.time()
        return pack(ReturnBody(jid=job.jid, agent_id="node2", fun="test.ping", success=True,
                               data={"results": [{"id": 1, "what": ["not", "a", "state"]}], "summary": "x"},
                               started_at=now, finished_at=now))

    t = _answer_in_background(rogue, disguised)
    r = d.cli("apply", "*", "--timeout", "10")
    t.join()
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Summary for node1" in r.stdout and "malformed state.apply return refused by the master" in r.stdout
