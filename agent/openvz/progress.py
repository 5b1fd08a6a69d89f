"""Where a migration stands, recorded on the node so a re-run resumes at the failed step.

One JSON file per target container under the agent's state dir. It also pins the
migration's identity (source CTID, target name and backing): a re-run with other
arguments is refused instead of mixing two migrations.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from pydantic import BaseModel, Field

MAX_PROGRESS = 64 * 1024


class ProgressError(Exception):
    pass


class Progress(BaseModel):
    identity: dict[str, str]
    done: list[str] = Field(default_factory=list)
    # Set *before* the first test start: from then on the target is a live system and
    # nothing may be copied over it, even if the start itself failed half-way.
    target_started: bool = False


class ProgressFile:
    def __init__(self, directory: Path, name: str, identity: dict[str, str]):
        self.path = directory / f"{name}.json"
        if self.path.exists():
            text = self.path.read_text()[:MAX_PROGRESS]
            try:
                self.state = Progress.model_validate_json(text)
            except ValueError as exc:
                raise ProgressError(f"{self.path} is not a migration record ({exc}); move it away to start over") from None
            if self.state.identity != identity:
                raise ProgressError(f"{self.path} records another migration ({self.state.identity}), not {identity}: "
                                    "finish or remove that one first")
        else:
            self.state = Progress(identity=identity)

    @property
    def fresh(self) -> bool:
        return not self.path.exists()

    def mark(self, step: str) -> None:
        if step not in self.state.done:
            self.state.done.append(step)
        self.save()

    def mark_started(self) -> None:
        self.state.target_started = True
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(self.state.model_dump(), indent=1))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
