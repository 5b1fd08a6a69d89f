"""``/etc/fstab`` as data: parse entries, compare options as sets, replace or append one
entry while keeping every other line (comments included) byte for byte."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel

# Options that only matter to the boot-time mounter (or are the default), so they never
# show up in the kernel's mount options and must not be compared against them.
FSTAB_ONLY_OPTIONS = frozenset({"defaults", "auto", "noauto", "nofail", "nobootwait", "user", "users", "nouser", "_netdev"})
# Kernel defaults that /proc/self/mountinfo never lists (only their opposites noexec,
# nosuid, nodev, sync show up): comparing them would ask for a remount on every run.
KERNEL_DEFAULT_OPTIONS = frozenset({"exec", "suid", "dev", "async"})
# Options ``mount`` itself would pass on to the kernel and make it fail (Ubuntu's mountall knew them).
NOT_FOR_MOUNT = frozenset({"nobootwait"})


def check_field(value: str) -> str:
    """One fstab field: whitespace would split it (a newline would add a line of its own, e.g.
    a mount over /etc at the next boot) and '#' starts a comment. fstab(5) writes a space
    in a path as \\040."""
    if not value or re.search(r"[\s#]", value):
        raise ValueError(f"{value!r} cannot be an fstab field (empty, or holds whitespace or '#'; write a space as \\040)")
    return value


FstabField = Annotated[str, AfterValidator(check_field)]
FstabOption = Annotated[str, AfterValidator(lambda v: check_field(v) if v else v)]


class FstabEntry(BaseModel):
    spec: FstabField
    file: FstabField
    vfstype: FstabField
    mntops: list[FstabOption]
    freq: int = 0
    passno: int = 0

    def render(self) -> str:
        return f"{self.spec} {self.file} {self.vfstype} {','.join(self.mntops)} {self.freq} {self.passno}"

    def same_as(self, other: FstabEntry) -> bool:
        """Equal as fstab means it: options are a set, order does not matter."""
        return (
            (self.spec, self.file, self.vfstype, self.freq, self.passno)
            == (other.spec, other.file, other.vfstype, other.freq, other.passno)
            and set(self.mntops) == set(other.mntops)
        )


def split_options(opts: str | list[str]) -> list[str]:
    items = opts.split(",") if isinstance(opts, str) else list(opts)
    return [o.strip() for o in items if o.strip()] or ["defaults"]


def parse_line(line: str) -> FstabEntry | None:
    body = line.split("#", 1)[0].strip()
    if not body:
        return None
    fields = body.split()
    if len(fields) < 4:
        return None
    freq = int(fields[4]) if len(fields) > 4 and fields[4].isdigit() else 0
    passno = int(fields[5]) if len(fields) > 5 and fields[5].isdigit() else 0
    return FstabEntry(spec=fields[0], file=fields[1], vfstype=fields[2], mntops=fields[3].split(","), freq=freq, passno=passno)


def find(text: str, mountpoint: str) -> FstabEntry | None:
    """The (last, as mount would use it) entry for ``mountpoint``."""
    found = None
    for line in text.splitlines():
        entry = parse_line(line)
        if entry is not None and entry.file.rstrip("/") == mountpoint.rstrip("/"):
            found = entry
    return found


def with_entry(text: str, entry: FstabEntry) -> str:
    """``text`` with the entry for ``entry.file`` replaced in place (or appended)."""
    out: list[str] = []
    replaced = False
    for line in text.splitlines():
        current = parse_line(line)
        if current is not None and current.file.rstrip("/") == entry.file.rstrip("/"):
            if not replaced:
                out.append(entry.render())
                replaced = True
            continue  # a duplicate entry for the same mount point would shadow ours
        out.append(line)
    if not replaced:
        out.append(entry.render())
    return "\n".join(out) + "\n"
