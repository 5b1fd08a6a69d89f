"""msgpack packing with strict limits, and decoding into the message union.

Every decoding failure is a ProtocolError with a short reason that the caller logs;
nothing here raises anything else for hostile input.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgpack
from pydantic import BaseModel, TypeAdapter, ValidationError

from .errors import ProtocolError
from .messages import BootstrapMessage, Hello, Message
from .shape import DEFAULT_LIMITS, ShapeLimits, check_shape

DEFAULT_MAX_FRAME = 16 * 1024 * 1024

_message_adapter: TypeAdapter = TypeAdapter(Message)
_bootstrap_adapter: TypeAdapter = TypeAdapter(BootstrapMessage)
_hello_adapter: TypeAdapter = TypeAdapter(Hello)

M = TypeVar("M", bound=BaseModel)


def pack(obj: Any) -> bytes:
    if isinstance(obj, BaseModel):
        obj = obj.model_dump(mode="python")
    return msgpack.packb(obj, use_bin_type=True)


def unpack(data: bytes, max_size: int = DEFAULT_MAX_FRAME, limits: ShapeLimits = DEFAULT_LIMITS) -> Any:
    """Decode one msgpack value. What that may cost is bounded before anything is built:
    the frame's size, then its object count, nesting depth and string sizes (shape.py)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ProtocolError(f"frame is {type(data).__name__}, not bytes")
    if len(data) > max_size:
        raise ProtocolError(f"frame of {len(data)} bytes exceeds the limit of {max_size}")
    check_shape(data, limits)
    try:
        return msgpack.unpackb(
            data,
            raw=False,
            strict_map_key=True,
            use_list=True,
            max_str_len=max_size,
            max_bin_len=max_size,
            max_array_len=100_000,
            max_map_len=100_000,
            max_ext_len=0,
        )
    except Exception as exc:  # msgpack raises a zoo of exception types on junk
        raise ProtocolError(f"not valid msgpack: {type(exc).__name__}: {exc}") from None


def _validate(adapter: TypeAdapter, obj: Any) -> Any:
    try:
        return adapter.validate_python(obj)
    except ValidationError as exc:
        raise ProtocolError(describe_validation_error(exc)) from None
    except (TypeError, ValueError, RecursionError) as exc:
        raise ProtocolError(f"invalid message: {exc}") from None


def describe_validation_error(exc: ValidationError) -> str:
    """One line naming every bad field, short enough for a log line."""
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ())) or "<message>"
        parts.append(f"{loc}: {err.get('msg')}")
    more = exc.error_count() - 5
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


def decode_message(data: bytes, max_size: int = DEFAULT_MAX_FRAME):
    """Frame bytes → one of the Message models, or ProtocolError."""
    return _validate(_message_adapter, unpack(data, max_size))


def decode_hello(data: bytes, max_size: int) -> Hello:
    """For keys that are not accepted: a hello and nothing else is decoded into a model."""
    obj = unpack(data, max_size)
    kind = obj.get("kind") if isinstance(obj, dict) else None
    if kind != "hello":
        raise ProtocolError(f"{_kind_name(kind)} from a key that is not accepted; only hello is allowed")
    return _validate(_hello_adapter, obj)


def _kind_name(kind: Any) -> str:
    return kind if isinstance(kind, str) and kind.isidentifier() and len(kind) <= 32 else "a message"


def decode_bootstrap(data: bytes, max_size: int = 4096):
    return _validate(_bootstrap_adapter, unpack(data, max_size))


def decode_model(model: type[M], data: bytes, max_size: int = DEFAULT_MAX_FRAME) -> M:
    """Bytes → a specific model (used for signed bodies and control messages)."""
    try:
        return model.model_validate(unpack(data, max_size))
    except ValidationError as exc:
        raise ProtocolError(f"{model.__name__}: {describe_validation_error(exc)}") from None
