"""File modes as Salt accepts them: ``0644``, ``"0644"``, ``644`` (octal digits), ``"0o644"``.

The one mode type of every state that takes a mode (file, directory, lxc …).

Salt reads a mode's *digits* as octal, so ``mode: 644`` means 0o644. YAML 1.1 would
turn an unquoted ``0640`` into the integer 416; the SLS loader
(:func:`saline.states.compile.render.parse_yaml`) keeps such leading-zero numbers as
the typed text "0640", so all three spellings mean 0644. An integer whose digits are
not octal (493, as a YAML loader other than the SLS one would make of ``0755``) is
refused rather than guessed at.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_OCTAL = re.compile(r"^(?:0o)?0*[0-7]{1,4}$")


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
        hint = " (its digits are read as octal, as Salt does: write 0755, not 493)" if isinstance(value, int) else ""
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
