"""Node paths in state arguments: absolute, no ``..`` — refused at validation time.

The runner refuses the same things when it maps a path under its root; checking
them in the argument model too makes the error a compile error on the master that
names the state and the bad argument, before anything reaches a node.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Annotated

from pydantic import AfterValidator


def check_node_path(value: str) -> str:
    if not value:
        raise ValueError("path is empty")
    if "\x00" in value:
        raise ValueError("path contains a NUL byte")
    p = PurePosixPath(value)
    if not p.is_absolute():
        raise ValueError(f"{value!r} is not an absolute path")
    if ".." in p.parts:
        raise ValueError(f"{value!r} contains '..'")
    # POSIX keeps a leading "//" ("//" is not "/" to pathlib), so "/{{ dir }}/" with an empty
    # dir would slip past a check for "/" while the runner maps it to the root itself.
    return "/" + "/".join(p.parts[1:])


NodePath = Annotated[str, AfterValidator(check_node_path)]
