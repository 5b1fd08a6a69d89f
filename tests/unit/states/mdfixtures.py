"""Load the md fixtures (real tool outputs; sources named in each file's ``#@`` lines)."""

from __future__ import annotations

from pathlib import Path
from tests.paths import FIXTURES

MDADM = FIXTURES / "mdadm"


def fixture(name: str) -> str:
    return "".join(line for line in (MDADM / name).read_text().splitlines(keepends=True) if not line.startswith("#@"))
