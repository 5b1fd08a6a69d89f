"""The id formats as plain regular expressions (no pydantic), for code that must start fast (the CLI)."""

AGENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"
# 20 digits of UTC time (Salt's jid shape) and 8 hex digits of randomness, so two
# masters or two jobs in the same microsecond never collide.
JID_PATTERN = r"^[0-9]{20}-[0-9a-f]{8}$"
