"""Partition tables (``sfdisk --json``) and UEFI boot entries (``efibootmgr -v``) as data."""

from __future__ import annotations

import json
import re

from pydantic import BaseModel

ESP_GPT_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
ESP_MBR_TYPE = "ef"


class Partition(BaseModel):
    node: str
    start: int
    size: int
    type: str
    bootable: bool = False

    @property
    def number(self) -> int:
        m = re.search(r"(\d+)$", self.node)
        return int(m.group(1)) if m else 0

    def is_esp(self, label: str) -> bool:
        if label == "gpt":
            return self.type.upper() == ESP_GPT_TYPE
        return self.type.lower() == ESP_MBR_TYPE


class PartitionTable(BaseModel):
    label: str  # gpt | dos
    device: str
    partitions: list[Partition]

    def partition(self, number: int) -> Partition | None:
        return next((p for p in self.partitions if p.number == number), None)


def parse_sfdisk_json(text: str) -> PartitionTable:
    table = json.loads(text)["partitiontable"]
    return PartitionTable(
        label=table["label"],
        device=table["device"],
        partitions=[Partition(node=p["node"], start=p["start"], size=p["size"], type=p["type"], bootable=bool(p.get("bootable"))) for p in table.get("partitions", [])],
    )


class BootEntry(BaseModel):
    number: str
    active: bool
    label: str
    path: str = ""


_BOOT = re.compile(r"^Boot([0-9A-Fa-f]{4})(\*?)\s+(.*?)(?:\t(.*))?$")


def parse_efibootmgr(text: str) -> list[BootEntry]:
    """``efibootmgr -v``: ``Boot0003* ubuntu<TAB>HD(1,GPT,…)/File(\\EFI\\ubuntu\\shimx64.efi)``."""
    out = []
    for line in text.splitlines():
        m = _BOOT.match(line.rstrip())
        if m:
            label, path = m.group(3), m.group(4) or ""
            if not path and "  " in label:  # some versions separate with spaces, not a tab
                label, _, path = label.partition("  ")
            out.append(BootEntry(number=m.group(1), active=m.group(2) == "*", label=label.strip(), path=path.strip()))
    return out
