"""Attack pass (#11) on one signature per fan-out (protocol/merkle.py): a man in the middle
with the master's transport key, not its signing key, holding the frames of a real fan-out
to three agents, tampers with them and sends them to a real agent. Each must be refused
before anything runs; only the untouched frame runs, once."""

import time

import msgpack
import pytest

from saline.master.fanout import job_frames
from saline.protocol import merkle
from saline.protocol.keys import load_or_create
from saline.protocol.messages import Error, Return
from saline.protocol.ids import new_jid

from .test_security import _file_job_kwargs, _refusals, one_agent, rogue_master  # noqa: F401  (fixtures)

pytestmark = pytest.mark.e2e


def test_tampered_fanout_frames_are_refused_by_a_real_agent(one_agent, rogue_master, tmp_path):
    d, rogue = one_agent, rogue_master
    marker = d.agent_dirs["node1"] / "root" / "ran"
    master_keys, _ = load_or_create(d.master_dir / "pki")
    kwargs = _file_job_kwargs(tmp_path, "node1", "/ran")
    frames = job_frames(master_keys, new_jid(), "state.apply", [], lambda aid: kwargs, ["node1", "node2", "node3"],
                        time.time(), 30)
    mine, other = (msgpack.unpackb(frames[a], raw=False) for a in ("node1", "node2"))
    assert len(mine["proof"]) == 2  # three leaves: a real tree, not a single signature

    def frame(**change) -> bytes:
        return msgpack.packb({**mine, **change}, use_bin_type=True)

    a, b = mine["proof"][0], merkle.leaf(mine["body"])
    cases = [
        ("not_for_me", msgpack.packb(other, use_bin_type=True)),  # another agent's body and proof, same signature
        ("bad_signature", frame(proof=mine["proof"][:1])),  # truncated
        ("bad_signature", frame(proof=mine["proof"] + [b"\x00" * 32])),  # extended
        ("bad_signature", frame(proof=mine["proof"][::-1])),  # reordered
        ("bad_signature", frame(proof=[])),  # as if signed alone
        # second preimage: the inner node over (leaf, sibling) sent as a body
        ("bad_signature", frame(body=min(a, b) + max(a, b), proof=mine["proof"][1:])),
        ("bad_signature", frame(sig=master_keys.sign(merkle.ROOT_TAG + merkle.leaf(b"x")))),  # a root of another tree
        # refused when the frame is decoded, before any hashing: a bad frame, not a job
        (None, frame(proof=[b"\x00" * 32] * (merkle.MAX_PROOF + 1))),  # absurd depth
        (None, frame(proof=[b"\x00" * 31] + mine["proof"][1:])),  # a short hash
        (None, frame(proof=[b"\x00" * 32 * 1000])),  # a huge "hash"
    ]
    for code, payload in cases:
        bad_frames = d.agents["node1"].log_text().count("bad frame from master")
        rogue.send_raw(payload)
        got = _refusals(rogue)
        assert [m.code for m in got if isinstance(m, Error)] == ([code] if code else []), (code, got)
        if code is None:
            assert d.agents["node1"].log_text().count("bad frame from master") == bad_frames + 1
        assert not marker.exists(), f"{code}: the job ran"

    rogue.send_raw(frames["node1"])  # the untouched frame runs, once
    got = _refusals(rogue, 3)
    assert any(isinstance(m, Return) for m in got) and marker.read_text() == "ran\n"
    marker.unlink()
    rogue.send_raw(frames["node1"])
    assert [m.code for m in _refusals(rogue) if isinstance(m, Error)] == ["replay"] and not marker.exists()
