"""Network address types shared by the agent's ARP function and the master's reactor config."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import AfterValidator, Field


def _ipv4(value: str) -> str:
    try:
        if ipaddress.ip_address(value).version == 4:
            return value
    except ValueError:
        pass
    raise ValueError(f"{value!r} is not an IPv4 address (ARP is IPv4 only)")


IPv4 = Annotated[str, AfterValidator(_ipv4)]
MAC = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")]
