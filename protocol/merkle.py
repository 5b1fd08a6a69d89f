"""One signature for a job sent to many agents: a Merkle tree over their bodies.

The master signs the tree's root once per fan-out; each agent receives its own body, that
signature and the sibling hashes from its leaf up to the root (log2 N of them: 14 for
10,000 agents). The agent hashes its body up to the root and checks the signature over
the root *before* it decodes anything, so its body is bound to the master's key exactly
as if it had been signed alone — and the body names only that agent.

Leaves and inner nodes are hashed with different prefixes (an inner node cannot pass for
a leaf, nor a leaf for a node), each pair in sorted order (a proof needs no left/right
positions), and an odd node is carried up unchanged. Every body the master fans out
carries a random nonce, so the sibling hashes an agent sees say nothing about which other
agents were targeted. A job for one agent is a tree of one leaf: an empty proof.
"""

from __future__ import annotations

import hashlib

HASH_BYTES = 32
# 2**40 leaves: more than enough; the bound keeps what a peer can make the agent hash small.
MAX_PROOF = 40
# What the master signs: this tag and the root (its Ed25519 key signs nothing else).
ROOT_TAG = b"saline job root v1\x00"
_LEAF, _NODE = b"\x00", b"\x01"


def leaf(body: bytes) -> bytes:
    return hashlib.blake2b(_LEAF + body, digest_size=HASH_BYTES).digest()


def _node(a: bytes, b: bytes) -> bytes:
    if b < a:
        a, b = b, a
    return hashlib.blake2b(_NODE + a + b, digest_size=HASH_BYTES).digest()


def signed_message(body: bytes, proof: list[bytes]) -> bytes:
    """The bytes the master's signature must cover for ``body`` with ``proof``."""
    h = leaf(body)
    for sibling in proof:
        h = _node(h, sibling)
    return ROOT_TAG + h


def tree(leaves: list[bytes]) -> tuple[bytes, list[list[bytes]]]:
    """The root over ``leaves`` (at least one) and each leaf's proof, in order."""
    if not leaves:
        raise ValueError("a job tree needs at least one leaf")
    proofs: list[list[bytes]] = [[] for _ in leaves]
    level = list(leaves)
    members = [[i] for i in range(len(leaves))]  # which leaves sit under each node of the level
    while len(level) > 1:
        up, up_members = [], []
        for i in range(0, len(level) - 1, 2):
            a, b = level[i], level[i + 1]
            for m in members[i]:
                proofs[m].append(b)
            for m in members[i + 1]:
                proofs[m].append(a)
            up.append(_node(a, b))
            up_members.append(members[i] + members[i + 1])
        if len(level) % 2:
            up.append(level[-1])
            up_members.append(members[-1])
        level, members = up, up_members
    return level[0], proofs
