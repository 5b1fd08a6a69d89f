"""Decoding cost is bounded before a frame is decoded (protocol/shape.py, codec.unpack)."""

import random
import time

import msgpack
import pytest

from saline.protocol.codec import unpack
from saline.protocol.errors import ProtocolError
from saline.protocol.shape import ShapeLimits, check_shape


def _count(obj) -> int:
    if isinstance(obj, list):
        return 1 + sum(_count(x) for x in obj)
    if isinstance(obj, dict):
        return 1 + sum(1 + _count(v) for v in obj.values())
    return 1


def _random_value(rng: random.Random, depth: int = 0):
    r = rng.random()
    if depth > 5 or r < 0.3:
        return rng.choice([0, 1, -1, 127, 128, -33, 2**40, -2**40, 2**64 - 1, 1.5, None, True, False,
                           "x" * rng.randint(0, 300), "é" * 40_000, b"y" * rng.randint(0, 7_000)])
    if r < 0.65:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 6))]
    return {str(i): _random_value(rng, depth + 1) for i in range(rng.randint(0, 5))}


def test_counts_every_object_of_real_msgpack_and_refuses_truncation_and_extra_bytes():
    rng = random.Random(11)
    for _ in range(150):
        value = _random_value(rng)
        raw = msgpack.packb(value, use_bin_type=True)
        assert check_shape(raw) == _count(value)
        assert unpack(raw, max_size=len(raw)) == value
        for cut in {1, len(raw) // 2}:
            if 0 < cut < len(raw):
                with pytest.raises(ProtocolError):
                    check_shape(raw[:-cut])
        with pytest.raises(ProtocolError, match="extra data"):
            check_shape(raw + b"\xc0")


def test_a_frame_of_empty_maps_is_refused_after_a_bounded_walk():
    # 16M empty maps: decoding this cost the master 1.1 GiB; the walk stops at the limit.
    inner = b"\xdc" + (159).to_bytes(2, "big") + b"\x80" * 159
    frame = b"\xdd" + (100_000).to_bytes(4, "big") + inner * 100_000
    started = time.process_time()
    with pytest.raises(ProtocolError, match="more than 200000 objects"):
        unpack(frame)
    assert time.process_time() - started < 1.0  # a cost bound, not a benchmark: the full walk takes ~3 s


def test_depth_string_and_ext_limits():
    with pytest.raises(ProtocolError, match="nesting deeper than 64"):
        unpack(b"\x91" * 1022 + b"\xc0")
    assert unpack(b"\x91" * 63 + b"\xc0") is not None
    with pytest.raises(ProtocolError, match="string of 2000 bytes exceeds"):
        check_shape(msgpack.packb("a" * 2000), ShapeLimits(max_str=1000))
    with pytest.raises(ProtocolError, match="not allowed"):
        check_shape(msgpack.packb(msgpack.ExtType(1, b"x")))
    with pytest.raises(ProtocolError, match="more entries than the frame has bytes"):
        check_shape(b"\xdf\xff\xff\xff\xff")
