"""Events bounded at the source (agent/eventsize.py), so the master's max_event_frame
never makes the agent resend one event forever."""

from saline.agent.eventsize import bound_event
from saline.protocol.codec import pack
from saline.protocol.keys import load_or_create
from saline.protocol.messages import EventBody
from saline.protocol.signing import sign_event


def _body(data: dict) -> EventBody:
    return EventBody(agent_id="node1", seq=7, tag="saline/state/failed", data=data, at=1.0)


def _frame_len(body: EventBody, tmp_path) -> int:
    return len(pack(sign_event(body, load_or_create(tmp_path / "pki")[0])))


def test_an_event_that_fits_is_left_alone():
    body = _body({"jid": "j", "error": "short"})
    assert bound_event(body, 64 * 1024) is body


def test_long_strings_are_cut_with_a_note_and_the_signed_frame_fits(tmp_path):
    body = _body({"error": "e" * 100_000, "failed": ["a", "b"], "failed_count": 2})
    bounded = bound_event(body, 64 * 1024)
    assert bounded.data["failed"] == ["a", "b"] and bounded.data["failed_count"] == 2
    assert bounded.data["error"].startswith("e" * 4096)
    assert "95904 more characters left out by the agent: the event must fit the master's max_event_frame" \
        in bounded.data["error"]
    assert (bounded.seq, bounded.tag, bounded.at) == (7, "saline/state/failed", 1.0)
    assert _frame_len(bounded, tmp_path) <= 64 * 1024


def test_many_small_fields_that_cannot_be_cut_leave_the_data_out_saying_why(tmp_path):
    body = _body({f"k{i}": "v" * 100 for i in range(200)})  # ~22 KiB, no string over 256
    bounded = bound_event(body, 4096)
    assert bounded.data == {"saline_error": f"the event's data ({len(pack(body))} bytes) was left out by the agent: "
                                            "the event must fit the master's max_event_frame of 4096 bytes"}
    assert bounded.seq == 7 and _frame_len(bounded, tmp_path) <= 4096


def test_a_small_limit_cuts_strings_shorter_than_the_usual_4096_kept_characters(tmp_path):
    body = _body({"error": "e" * 3000})
    bounded = bound_event(body, 2048)
    assert len(bounded.data["error"]) < 1000 and "left out by the agent" in bounded.data["error"]
    assert _frame_len(bounded, tmp_path) <= 2048
