"""Wire models, packing limits, signing, ids, targets, config validation, key files."""

import os
import stat
import time

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saline.agent.config import AgentConfig
from saline.agent.store import PRUNE_MARGIN, AgentStore
from saline.agent.verifier import JobRefused, JobVerifier
from saline.master.config import MasterConfig
from saline.master.targeting import NoMatch, resolve
from saline.protocol import merkle
from saline.protocol.codec import decode_message, pack, unpack
from saline.protocol.config import ConfigError, load_config
from saline.protocol.errors import KeyFileError, ProtocolError, SignatureError
from saline.protocol.ids import is_agent_id, is_jid, new_jid
from saline.protocol.keys import PublicBundle, load_or_create
from saline.protocol.messages import Ack, Heartbeat, Hello, Job, JobBody, ReturnBody
from saline.protocol.signing import open_job, open_return, sign_job, sign_return


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return load_or_create(tmp_path_factory.mktemp("pki"))[0]


@pytest.fixture(scope="module")
def other_keys(tmp_path_factory):
    return load_or_create(tmp_path_factory.mktemp("pki2"))[0]


def body(**kw) -> JobBody:
    now = time.time()
    base = dict(jid=new_jid(), fun="test.ping", targets=["node1"], issued_at=now, not_after=now + 30, timeout=10)
    base.update(kw)
    return JobBody(**base)


# ---- ids ---------------------------------------------------------------------------------------


def test_jid_format_is_strict():
    jid = new_jid()
    assert is_jid(jid) and len(jid) == 29
    for bad in ("../../etc/passwd", "2026112720453012345-deadbeef", jid + "x", jid.upper().replace("-", "_"), ""):
        assert not is_jid(bad)


@pytest.mark.parametrize("aid,ok", [("node1", True), ("web-01.example", True), ("a" * 63, True), ("a" * 64, False),
                                    ("-node", False), ("no de", False), ("node/1", False), ("..", False), ("", False),
                                    ("node*", False)])
def test_agent_id_format(aid, ok):
    assert is_agent_id(aid) is ok


# ---- models and packing -----------------------------------------------------------------------


def test_roundtrip_every_kind(keys):
    msgs = [Hello(agent_id="node1", version="1", sign_pub=b"k" * 32), Heartbeat(version="1"), Ack(jid=new_jid()),
            sign_job(body(), keys)]
    for m in msgs:
        assert decode_message(pack(m)) == m


@pytest.mark.parametrize("obj,reason", [
    ({"kind": "bogus"}, "kind"),
    ({"kind": "heartbeat", "version": "1", "extra": 1}, "extra"),
    ({"kind": "heartbeat", "version": 5}, "version"),
    ({"kind": "ack", "jid": "../../x"}, "jid"),
    ({"kind": "hello", "agent_id": "node1", "version": "1", "sign_pub": b"short"}, "sign_pub"),
    ([1, 2, 3], "valid dictionary"),
    ("just a string", "valid dictionary"),
])
def test_bad_messages_are_rejected_with_a_reason(obj, reason):
    with pytest.raises(ProtocolError) as exc:
        decode_message(msgpack.packb(obj, use_bin_type=True))
    assert reason in str(exc.value)


def test_frame_limits():
    with pytest.raises(ProtocolError, match="exceeds the limit"):
        unpack(b"\x00" * 2000, max_size=1000)
    with pytest.raises(ProtocolError, match="msgpack"):
        unpack(b"\xc1")
    with pytest.raises(ProtocolError, match="msgpack"):
        unpack(msgpack.packb({1: "int keys are not allowed"}))


@given(st.binary(max_size=512))
@settings(max_examples=400, deadline=None)
def test_fuzz_random_frames_only_raise_protocol_error(data):
    try:
        decode_message(data)
    except ProtocolError:
        pass


@given(st.data())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fuzz_mutated_valid_frames(keys, data):
    frame = bytearray(pack(sign_job(body(), keys)))
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(frame) - 1))
        frame[i] = data.draw(st.integers(0, 255))
    try:
        msg = decode_message(bytes(frame))
    except ProtocolError:
        return
    if isinstance(msg, Job):
        # A mutation that still decodes must never verify unless the body and sig are intact.
        try:
            open_job(msg, keys.public.verifier())
        except ProtocolError:
            pass


# ---- signing ---------------------------------------------------------------------------------


def test_sign_and_verify(keys, other_keys):
    job = sign_job(body(), keys)
    assert open_job(job, keys.public.verifier()).fun == "test.ping"
    with pytest.raises(SignatureError):
        open_job(job, other_keys.public.verifier())
    tampered = Job(body=job.body.replace(b"test.ping", b"test.echo"), sig=job.sig)
    with pytest.raises(SignatureError):
        open_job(tampered, keys.public.verifier())
    ret = sign_return(ReturnBody(jid=new_jid(), agent_id="node1", fun="test.ping", success=True, data=True,
                                 started_at=1.0, finished_at=2.0), keys)
    assert open_return(ret, keys.public.verifier()).success is True
    with pytest.raises(SignatureError):
        open_return(ret, other_keys.public.verifier())


def test_signed_body_with_unknown_field_is_refused_after_verification(keys):
    raw = msgpack.packb({**body().model_dump(), "evil": 1}, use_bin_type=True)
    with pytest.raises(ProtocolError, match="evil"):
        open_job(Job(body=raw, sig=keys.sign(merkle.signed_message(raw, []))), keys.public.verifier())


# ---- the agent's acceptance checks and replay cache --------------------------------------------


@pytest.fixture
def verifier(tmp_path, keys):
    store = AgentStore(tmp_path / "state")
    yield JobVerifier("node1", keys.public.verifier(), store, max_skew=5, max_frame=1 << 20)
    store.close()


def test_verifier_accepts_then_refuses_replay(verifier, keys):
    job = sign_job(body(), keys)
    assert verifier.verify(job).jid
    with pytest.raises(JobRefused) as exc:
        verifier.verify(job)
    assert exc.value.code == "replay"


@pytest.mark.parametrize("kw,code", [
    ({"targets": ["node2"]}, "not_for_me"),
    ({"issued_at": 1000.0, "not_after": 1010.0}, "expired"),
    ({"issued_at": time.time() + 3600, "not_after": time.time() + 7200}, "from_future"),
])
def test_verifier_refusals(verifier, keys, kw, code):
    with pytest.raises(JobRefused) as exc:
        verifier.verify(sign_job(body(**kw), keys))
    assert exc.value.code == code


def test_forged_job_does_not_burn_the_jid(verifier, keys, other_keys):
    b = body()
    with pytest.raises(JobRefused) as exc:
        verifier.verify(sign_job(b, other_keys))
    assert exc.value.code == "bad_signature"
    assert verifier.verify(sign_job(b, keys)).jid == b.jid


def test_replay_cache_persists_and_prunes(tmp_path, keys):
    store = AgentStore(tmp_path / "s")
    now = time.time()
    assert store.remember_jid("20260101000000000000-00000001", now + 60, now)
    assert store.remember_jid("20260101000000000000-00000002", now - 600, now - 700)
    assert store.remember_jid("20260101000000000000-00000003", now - PRUNE_MARGIN - 600, now - PRUNE_MARGIN - 700)
    store.close()
    store = AgentStore(tmp_path / "s")
    assert not store.remember_jid("20260101000000000000-00000001", now + 60)
    assert store.prune_seen(skew=30) == 1  # only the one expired by more than the margin
    assert not store.remember_jid("20260101000000000000-00000002", now - 600)
    store.close()
    assert stat.S_IMODE(os.stat(tmp_path / "s").st_mode) == 0o700


@pytest.mark.parametrize("jump", [3600.0, 20 * 3600.0])
def test_replay_after_the_agent_clock_jumped_ahead_and_back(verifier, keys, monkeypatch, jump):
    """The agent runs with its clock ahead (and prunes then); when the clock is right again the
    job is still within its validity, and must still be a replay."""
    real_time = time.time
    issued = real_time()
    job = sign_job(body(issued_at=issued, not_after=issued + 600), keys)
    assert verifier.verify(job, now=issued + 1).jid
    monkeypatch.setattr(time, "time", lambda: real_time() + jump)
    verifier.store.prune_seen(skew=30)
    monkeypatch.setattr(time, "time", real_time)
    with pytest.raises(JobRefused) as exc:
        verifier.verify(job, now=issued + 10)
    assert exc.value.code == "replay"


def test_spool_survives_restart(tmp_path):
    store = AgentStore(tmp_path / "s")
    store.spool("20260101000000000000-00000001", b"frame")
    store.close()
    store = AgentStore(tmp_path / "s")
    assert store.due(older_than=0) == [("20260101000000000000-00000001", b"frame")]
    assert store.unspool("20260101000000000000-00000001")
    assert store.all_spooled() == []
    store.close()


# ---- targets -----------------------------------------------------------------------------------


def test_target_matching():
    known = ["node1", "node2", "web1"]
    assert resolve("node*", known) == ["node1", "node2"]
    assert resolve("web1,node2", known) == ["node2", "web1"]
    assert resolve("all", known) == known
    for bad in ("db*", "", "node1,,node2", " "):
        with pytest.raises(NoMatch):
            resolve(bad, known)
    with pytest.raises(NoMatch):
        resolve("*", [])


# ---- keys and config -----------------------------------------------------------------------------


def test_key_files_are_private_and_loose_modes_refused(tmp_path):
    keys, created = load_or_create(tmp_path / "pki")
    assert created
    assert stat.S_IMODE(os.stat(tmp_path / "pki").st_mode) == 0o700
    for name in ("curve.key", "sign.key"):
        assert stat.S_IMODE(os.stat(tmp_path / "pki" / name).st_mode) == 0o600
    again, created = load_or_create(tmp_path / "pki")
    assert not created and again.public == keys.public
    os.chmod(tmp_path / "pki" / "sign.key", 0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_or_create(tmp_path / "pki")


def test_public_bundle_roundtrip_and_garbage(tmp_path, keys):
    keys.public.write(tmp_path / "m.pub")
    assert PublicBundle.read(tmp_path / "m.pub") == keys.public
    (tmp_path / "bad.pub").write_text("curve_pub: short\nsign_pub: zz\n")
    with pytest.raises(KeyFileError):
        PublicBundle.read(tmp_path / "bad.pub")


def test_config_validation(tmp_path):
    cfg = tmp_path / "agent.yaml"
    cfg.write_text("id: node1\nworkers: 2\n")
    assert load_config(AgentConfig, cfg, "/nonexistent").workers == 2
    cfg.write_text("id: node1\nwokers: 2\n")
    with pytest.raises(ConfigError, match="wokers"):
        load_config(AgentConfig, cfg, "/nonexistent")
    cfg.write_text("id: ../etc\n")
    with pytest.raises(ConfigError, match="id"):
        load_config(AgentConfig, cfg, "/nonexistent")
    cfg.write_text("- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(MasterConfig, cfg, "/nonexistent")
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(MasterConfig, tmp_path / "missing.yaml", "/nonexistent")
    assert load_config(MasterConfig, None, tmp_path / "absent-default.yaml").bind == "tcp://0.0.0.0:4510"
