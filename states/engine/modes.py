"""File modes as Salt accepts them: ``"0644"``, ``"644"``, ``644`` (octal digits), ``"0o644"``.

Salt reads a mode's *digits* as octal, so ``mode: 644`` means 0o644. YAML 1.1 turns
an unquoted ``0755`` into the integer 493; its digits are not octal, so it is
refused with a hint to quote the mode instead of being applied as a wrong mode.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_OCTAL = re.compile(r"^(?:0o)?[0-7]{1,4}$")


def parse_mode(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError(f"mode {value!r} is not a file mode")
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, str):
        text = value.strip().lower()
    else:
        raise ValueError(f"mode {value!r} is not a file mode")
    if not _OCTAL.match(text):
        hint = " (an unquoted 0755 in YAML is read as the decimal 493: quote the mode)" if isinstance(value, int) else ""
        raise ValueError(f"mode {value!r} is not an octal file mode like '0644'{hint}")
    mode = int(text.removeprefix("0o"), 8)
    if mode > 0o7777:
        raise ValueError(f"mode {value!r} is larger than 07777")
    return mode


def format_mode(mode: int | None) -> str | None:
    """Mode as Salt shows it in changes: four octal digits."""
    return None if mode is None else f"{mode:04o}"


# An int in the model; shown as "0644" when the model is dumped.
Mode = Annotated[int, BeforeValidator(parse_mode), PlainSerializer(format_mode, return_type=str)]
