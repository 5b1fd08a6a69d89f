"""The Merkle tree that lets one signature cover a job's bodies for many agents."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saline.protocol import merkle
from saline.protocol.codec import decode_message, pack
from saline.protocol.errors import ProtocolError


def _bodies(n: int) -> list[bytes]:
    return [f"body of agent {i}".encode() for i in range(n)]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33, 1000])
def test_every_leaf_leads_to_the_root_in_at_most_log2_steps(n):
    bodies = _bodies(n)
    root, proofs = merkle.tree([merkle.leaf(b) for b in bodies])
    for body, proof in zip(bodies, proofs):
        assert merkle.signed_message(body, proof) == merkle.ROOT_TAG + root
        assert len(proof) <= math.ceil(math.log2(n)) if n > 1 else proof == []


@given(st.lists(st.binary(max_size=40), min_size=2, max_size=40, unique=True), st.data())
@settings(max_examples=100, deadline=None)
def test_a_proof_fits_only_its_own_body(bodies, data):
    root, proofs = merkle.tree([merkle.leaf(b) for b in bodies])
    i = data.draw(st.integers(0, len(bodies) - 1))
    j = data.draw(st.integers(0, len(bodies) - 1).filter(lambda j: j != i))
    assert merkle.signed_message(bodies[j], proofs[i]) != merkle.ROOT_TAG + root
    if proofs[i]:  # a flipped bit anywhere in the proof misses the root too
        k = data.draw(st.integers(0, len(proofs[i]) - 1))
        bad = list(proofs[i])
        bad[k] = bytes([bad[k][0] ^ 1]) + bad[k][1:]
        assert merkle.signed_message(bodies[i], bad) != merkle.ROOT_TAG + root


def test_an_inner_node_does_not_pass_for_a_body():
    """Leaves and nodes are hashed with different prefixes: the two child hashes of the root
    presented as one "body" with no proof do not lead to the root."""
    a, b = merkle.leaf(b"x"), merkle.leaf(b"y")
    root, _ = merkle.tree([a, b])
    assert merkle.signed_message(min(a, b) + max(a, b), []) != merkle.ROOT_TAG + root


def test_no_leaves_is_an_error():
    with pytest.raises(ValueError):
        merkle.tree([])


@pytest.mark.parametrize("proof", [[b"\x00" * 31], [b"\x00" * 33], [b"\x00" * 32] * (merkle.MAX_PROOF + 1)])
def test_a_job_with_a_malformed_or_endless_proof_is_refused_when_decoded(proof):
    frame = pack({"kind": "job", "body": b"\x80", "sig": b"s" * 64, "proof": proof})
    with pytest.raises(ProtocolError, match="proof"):
        decode_message(frame)
