"""Exceptions shared by master and agent."""


class ProtocolError(ValueError):
    """A frame that is not a valid saline message (bad msgpack, unknown kind, bad field)."""


class SignatureError(ProtocolError):
    """A signed body whose signature does not verify against the expected key."""


class KeyFileError(Exception):
    """A key file that is missing, unreadable or has unsafe permissions."""
