"""Bounding what decoding a msgpack frame costs, before it is decoded.

msgpack's own limits are per container (``max_map_len`` …): a frame of nested empty maps
passes them and still becomes one Python object per byte (a 16 MiB frame of ``0x80``
cost the master 1.1 GiB). ``check_shape`` walks the frame's headers without building
anything — string and binary bodies are skipped, not read — and refuses it as soon as it
holds more objects, deeper nesting or a longer string than allowed. The walk stops at
the first limit it crosses, so refusing a hostile frame costs at most ``max_objects``
steps whatever its size.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ProtocolError


@dataclass(frozen=True)
class ShapeLimits:
    # Every decoded value (map, array, string, number …) counts as one object; a map
    # entry is two. A state.apply return of 100 states is ~5,000.
    max_objects: int = 200_000
    # The deepest legitimate message (a state result's changes) is ~12 levels.
    max_depth: int = 64
    max_str: int = 64 * 1024 * 1024


DEFAULT_LIMITS = ShapeLimits()

# Header byte → (fixed size of header+payload) for the scalars with a fixed width.
_FIXED = {0xC0: 1, 0xC2: 1, 0xC3: 1, 0xCA: 5, 0xCB: 9, 0xCC: 2, 0xCD: 3, 0xCE: 5, 0xCF: 9,
          0xD0: 2, 0xD1: 3, 0xD2: 5, 0xD3: 9}
# str8/16/32, bin8/16/32 → width of the length field.
_SIZED = {0xD9: 1, 0xDA: 2, 0xDB: 4, 0xC4: 1, 0xC5: 2, 0xC6: 4}
# array16/32, map16/32 → (width of the count field, entries per count).
_CONTAINERS = {0xDC: (2, 1), 0xDD: (4, 1), 0xDE: (2, 2), 0xDF: (4, 2)}


def check_shape(data: bytes | bytearray | memoryview, limits: ShapeLimits = DEFAULT_LIMITS) -> int:
    """Raise ProtocolError if ``data`` is not exactly one msgpack value within ``limits``.

    Returns the number of objects. Extension types are refused (saline never sends them).
    """
    mv = memoryview(data)
    end = len(mv)
    pos = objects = 0
    remaining = 1  # values still to read at the current nesting level
    stack: list[int] = []
    max_objects, max_depth, max_str = limits.max_objects, limits.max_depth, limits.max_str
    try:
        while True:
            while remaining == 0:
                if not stack:
                    if pos > end:
                        break
                    if pos < end:
                        raise ProtocolError(f"{end - pos} bytes of extra data after the message")
                    return objects
                remaining = stack.pop()
            remaining -= 1
            objects += 1
            if objects > max_objects:
                raise ProtocolError(f"frame holds more than {max_objects} objects")
            b = mv[pos]
            count = 0
            if b <= 0x7F or b >= 0xE0:  # positive / negative fixint
                pos += 1
                continue
            if b <= 0x8F:  # fixmap
                count, pos = (b & 0x0F) * 2, pos + 1
            elif b <= 0x9F:  # fixarray
                count, pos = b & 0x0F, pos + 1
            elif b <= 0xBF:  # fixstr
                pos += 1 + (b & 0x1F)
                continue
            elif b in _FIXED:
                pos += _FIXED[b]
                continue
            elif b in _SIZED:
                w = _SIZED[b]
                n = int.from_bytes(mv[pos + 1:pos + 1 + w], "big")
                if n > max_str:
                    raise ProtocolError(f"string of {n} bytes exceeds the limit of {max_str}")
                pos += 1 + w + n
                continue
            elif b in _CONTAINERS:
                w, per = _CONTAINERS[b]
                count = int.from_bytes(mv[pos + 1:pos + 1 + w], "big") * per
                pos += 1 + w
            else:
                raise ProtocolError(f"msgpack type 0x{b:02x} is not allowed")
            if count:
                if count > end - pos:  # every entry needs at least one byte
                    raise ProtocolError("container claims more entries than the frame has bytes")
                if len(stack) >= max_depth:
                    raise ProtocolError(f"nesting deeper than {max_depth} levels")
                stack.append(remaining)
                remaining = count
    except IndexError:
        pass
    raise ProtocolError("truncated msgpack frame")
