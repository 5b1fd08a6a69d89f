"""LVM reports (``pvs/vgs/lvs --reportformat json --units b``) and sizes as models.

With ``--units b`` every size is a byte count with a trailing ``B``, so nothing here
guesses at rounding. Sizes given by users (``1G``, ``512M``) are LVM-style binary units.
"""

from __future__ import annotations

import json
import re

from typing import Annotated

from pydantic import AfterValidator, BaseModel

from saline.states.engine.runner import Runner

_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([bkmgtp]?)(?:i?b)?\s*$", re.IGNORECASE)

# LVM's common report options; everything else comes from the isolated/real lvm.conf.
REPORT = ["--reportformat", "json", "--units", "b", "--nosuffix"]


def parse_size(text: str | int) -> int:
    """``"1G"`` → 1073741824. LVM reads unit letters as powers of 1024 whatever the case."""
    if isinstance(text, int):
        return text
    m = _SIZE.match(str(text))
    if not m:
        raise ValueError(f"not a size: {text!r} (use e.g. 512M, 1G, 2T)")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def check_size(text: str) -> str:
    parse_size(text)  # ValueError says what a size looks like
    return text


# A size argument as the user wrote it ("4G"), checked when the state is compiled.
SizeText = Annotated[str, AfterValidator(check_size)]


def human(size: int) -> str:
    for unit in ("T", "G", "M", "K"):
        if size >= _UNITS[unit.lower()] and size % _UNITS[unit.lower()] == 0:
            return f"{size // _UNITS[unit.lower()]}{unit}"
    return f"{size}B"


class PV(BaseModel):
    pv_name: str
    vg_name: str = ""
    pv_size: int = 0


class VG(BaseModel):
    vg_name: str
    vg_extent_size: int
    vg_free: int
    pv_count: int


class LV(BaseModel):
    lv_name: str
    vg_name: str
    lv_size: int
    lv_attr: str
    lv_path: str = ""

    @property
    def active(self) -> bool | None:
        """From lv_attr's 5th letter: ``a`` active, ``-`` inactive; ``X`` = unknown (no dm here)."""
        state = self.lv_attr[4:5]
        return {"a": True, "-": False}.get(state)


def parse_report(text: str, kind: str) -> list[dict]:
    """The rows of one report kind (``pv``, ``vg``, ``lv``) from LVM's JSON output."""
    rows: list[dict] = []
    for report in json.loads(text).get("report", []):
        for row in report.get(kind, []):
            rows.append({k: (v.rstrip("B") if isinstance(v, str) and k.endswith(("_size", "_free")) else v) for k, v in row.items()})
    return rows


def _report(runner: Runner, command: str, kind: str, fields: str, *targets: str) -> list[dict]:
    result = runner.run([command, *REPORT, "-o", fields, *targets])
    if result.rc != 0:
        # "not found" for a named VG/LV/PV that does not exist is an answer, not an error.
        if re.search(r"not found|Failed to find|No such|Cannot use", result.stderr):
            return []
        raise RuntimeError(result.describe())
    return parse_report(result.stdout, kind)


def pvs(runner: Runner, *devices: str) -> list[PV]:
    return [PV.model_validate(r) for r in _report(runner, "pvs", "pv", "pv_name,vg_name,pv_size", *devices)]


def vgs(runner: Runner, *names: str) -> list[VG]:
    return [VG.model_validate(r) for r in _report(runner, "vgs", "vg", "vg_name,vg_extent_size,vg_free,pv_count", *names)]


def lvs(runner: Runner, *names: str) -> list[LV]:
    return [LV.model_validate(r) for r in _report(runner, "lvs", "lv", "lv_name,vg_name,lv_size,lv_attr,lv_path", *names)]
