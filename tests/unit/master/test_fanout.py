"""One job signed for many agents (master/fanout.py): what each agent receives is exactly
the body the models would have built, naming only that agent, under the master's signature."""

import time

import pytest
from pydantic import ValidationError

from saline.agent.store import AgentStore
from saline.agent.verifier import JobRefused, JobVerifier
from saline.master.fanout import job_frames
from saline.protocol.codec import decode_message, pack
from saline.protocol.ids import new_jid
from saline.protocol.keys import load_or_create
from saline.protocol.messages import Job, JobBody
from saline.protocol.signing import open_job
from saline.protocol.sodium import Signer


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return load_or_create(tmp_path_factory.mktemp("pki"))[0]


def test_each_agent_gets_the_models_body_naming_only_itself(keys):
    jid, now = new_jid(), time.time()
    kwargs = {"seconds": 1}
    frames = job_frames(Signer(keys.signer), jid, "test.sleep", [1, "a"], lambda _aid: kwargs, ["n1", "n2", "n3"],
                        now, 30)
    assert sorted(frames) == ["n1", "n2", "n3"]
    for aid, frame in frames.items():
        job = decode_message(frame)
        assert isinstance(job, Job)
        body = open_job(job, keys.public.verifier())  # cryptography's check, as the agent does
        assert body == JobBody(jid=jid, fun="test.sleep", args=[1, "a"], kwargs=kwargs, targets=[aid],
                               issued_at=now, not_after=now + 30, timeout=30, nonce=body.nonce)
        assert len(body.nonce) == 16
        # The very bytes the models produce, so an agent of any version reads them the same way.
        assert job.body == pack(body)
    # One signature for the fan-out, a random nonce per agent, a proof of log2(3) rounded up.
    jobs = [decode_message(f) for f in frames.values()]
    assert len({j.sig for j in jobs}) == 1
    assert len({open_job(j, keys.public.verifier()).nonce for j in jobs}) == 3
    assert sorted(len(j.proof) for j in jobs) == [1, 2, 2]


def test_per_agent_kwargs_stay_per_agent(keys):
    frames = job_frames(Signer(keys.signer), new_jid(), "state.apply", [], lambda aid: {"pillar": {"me": aid}},
                        ["n1", "n2"], time.time(), 30)
    for aid, frame in frames.items():
        assert open_job(decode_message(frame), keys.public.verifier()).kwargs == {"pillar": {"me": aid}}


def test_a_frame_for_one_agent_is_refused_by_another_and_replay_by_the_same(keys, tmp_path):
    frames = job_frames(Signer(keys.signer), new_jid(), "test.ping", [], lambda _aid: {}, ["n1", "n2"],
                        time.time(), 30)
    store = AgentStore(tmp_path / "state")
    n2 = JobVerifier("n2", keys.public.verifier(), store, 5, 1 << 20)
    with pytest.raises(JobRefused) as refused:
        n2.verify(decode_message(frames["n1"]))
    assert refused.value.code == "not_for_me"
    # n1's body under n2's proof (the same signature): the hashes lead to another root.
    stolen = decode_message(frames["n1"]).model_copy(update={"proof": decode_message(frames["n2"]).proof})
    with pytest.raises(JobRefused) as refused:
        n2.verify(stolen)
    assert refused.value.code == "bad_signature"
    n2.verify(decode_message(frames["n2"]))
    with pytest.raises(JobRefused) as refused:
        n2.verify(decode_message(frames["n2"]))
    assert refused.value.code == "replay"


def test_a_body_naming_another_agent_cannot_be_made_under_the_signature(keys, tmp_path):
    """What a compromised agent holds (its frame: body, proof, signature) does not let it
    make a job for another agent: a new body is a new leaf, whose hashes miss the root."""
    import msgpack

    frames = job_frames(Signer(keys.signer), new_jid(), "test.ping", [], lambda _aid: {}, ["n1", "n2", "n3", "n4"],
                        time.time(), 30)
    job = decode_message(frames["n1"])
    forged = msgpack.unpackb(job.body)
    forged.update(fun="cmd.run", targets=["n2"])
    raw = msgpack.packb(forged, use_bin_type=True)
    n2 = JobVerifier("n2", keys.public.verifier(), AgentStore(tmp_path / "state"), 5, 1 << 20)
    for proof in (job.proof, decode_message(frames["n2"]).proof, []):
        with pytest.raises(JobRefused) as refused:
            n2.verify(Job(body=raw, sig=job.sig, proof=proof))
        assert refused.value.code == "bad_signature"


def test_a_malformed_job_is_refused_before_anything_is_signed(keys):
    with pytest.raises(ValidationError):
        job_frames(Signer(keys.signer), new_jid(), "not a function", [], lambda _aid: {}, ["n1"], time.time(), 30)
    with pytest.raises(ValidationError):
        job_frames(Signer(keys.signer), new_jid(), "test.ping", [], lambda _aid: {1: "x"}, ["n1"], time.time(), 30)
