"""What is mounted where, from ``findmnt --json`` (the kernel's mount table)."""

from __future__ import annotations

import json

from pydantic import BaseModel

from saline.states.engine.runner import CommandError, Runner

# findmnt exits 1 when nothing matches.
FINDMNT_NOTHING = 1


class ActiveMount(BaseModel):
    target: str
    source: str
    fstype: str
    options: list[str]


def _findmnt(runner: Runner, args: list[str]) -> list[ActiveMount]:
    result = runner.run(["findmnt", "--json", "--output", "TARGET,SOURCE,FSTYPE,OPTIONS", *args])
    if result.rc == FINDMNT_NOTHING:
        return []
    if result.rc != 0:
        # findmnt missing or failing is no answer: reading it as "not mounted" would let a
        # state format or resize a mounted device.
        raise CommandError(result)
    if not result.stdout.strip():
        return []
    return [
        ActiveMount(target=fs["target"], source=fs["source"], fstype=fs["fstype"], options=fs["options"].split(","))
        for fs in json.loads(result.stdout).get("filesystems", [])
    ]


def mounted_at(runner: Runner, mountpoint: str) -> ActiveMount | None:
    found = _findmnt(runner, ["--mountpoint", mountpoint])
    return found[-1] if found else None


def mounts_of(runner: Runner, device: str) -> list[ActiveMount]:
    return _findmnt(runner, ["--source", device])
