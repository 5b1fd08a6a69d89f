"""Load the md fixtures (real tool outputs; sources named in each file's ``#@`` lines)."""

from __future__ import annotations

from pathlib import Path

MDADM = Path(__file__).resolve().parents[1] / "fixtures" / "mdadm"


def fixture(name: str) -> str:
    return "".join(line for line in (MDADM / name).read_text().splitlines(keepends=True) if not line.startswith("#@"))
