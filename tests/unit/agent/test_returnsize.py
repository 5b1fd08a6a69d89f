"""Returns bounded at the source (agent/returnsize.py) and redialling (agent/link.py)."""

from saline.agent.link import Link
from saline.agent.returnsize import bound_return
from saline.protocol.codec import pack
from saline.protocol.messages import ReturnBody


def _body(data, success=True, error=None) -> ReturnBody:
    return ReturnBody(jid="20260101000000000000-00000001", agent_id="node1", fun="state.apply", success=success,
                      data=data, error=error, started_at=1.0, finished_at=2.0)


def test_a_return_that_fits_is_untouched():
    body = _body({"results": [{"changes": {"diff": "+x\n" * 100}}]})
    assert bound_return(body, 64 * 1024) is body


def test_a_big_diff_is_cut_with_a_note_and_the_rest_kept():
    diff = "".join(f"+line {i}\n" for i in range(100_000))
    body = _body({"results": [{"id": "/big", "result": True, "changes": {"diff": diff, "mode": "0644"}}]})
    out = bound_return(body, 300 * 1024)
    assert len(pack(out)) <= 300 * 1024
    changes = out.data["results"][0]["changes"]
    assert out.success and changes["mode"] == "0644" and out.data["results"][0]["id"] == "/big"
    assert changes["diff"].startswith("+line 0\n") and "more characters left out by the agent" in changes["diff"]


def test_a_return_that_cannot_be_cut_to_fit_becomes_a_small_failed_return():
    many = {f"k{i}": "v" * 100 for i in range(20_000)}  # 2 MB of short strings: nothing to cut
    out = bound_return(_body(many), 64 * 1024)
    assert out.success is False and out.data is None and out.retcode == 1
    assert "does not fit the master's limit of 65536 bytes" in out.error and "the job ran and succeeded" in out.error
    assert len(pack(out)) < 2048


def test_link_redials_only_when_libzmq_did_not_reconnect_and_backs_off():
    link = Link(grace=3.0, max_backoff=20)
    assert not link.due(100.0)
    link.lost(100.0)
    link.up()                      # libzmq reconnected by itself: nothing to do
    assert link.due_at() is None
    link.lost(200.0)
    assert not link.due(202.9) and link.due(203.0)        # no handshake within the grace: redial
    assert link.backoff == 6.0 and not link.due(208.9) and link.due(209.0)
    assert link.backoff == 12.0 and link.due(221.0) and link.backoff == 20  # capped
    link.up()
    link.healthy()                 # the master answered: back to the grace
    link.lost(300.0)
    assert link.due(303.0)
