"""What a tar archive holds, read with Python's tarfile (headers only, any compression tarfile
knows: gzip, bzip2, xz), checked before GNU tar extracts anything.

An archive is refused, naming the member, when one would land outside the destination or
be more than a file, a directory or a link: an absolute name, a ``..`` component, a
symlink whose target leaves the destination, a hard link to a path that is not a member,
a member beneath a symlink member (tar would write through the link), a device or FIFO.
"""

from __future__ import annotations

import posixpath
import tarfile
from typing import IO

from pydantic import BaseModel

# More members than this is not an archive saline extracts (each is checked and stat'ed).
MAX_MEMBERS = 100_000


class ArchiveRefused(ValueError):
    pass


class Member(BaseModel):
    name: str  # relative to the destination, after --strip-components, no trailing '/'
    kind: str  # "dir", "file" or "link" (a symlink; hard links are files)


class Listing(BaseModel):
    members: list[Member]
    names: list[str]  # tarfile's getnames() order, as Salt reports extracted_files

    def top_level(self) -> tuple[list[str], list[str]]:
        """(directories, files and links) at the top of the archive, as Salt's archive.list."""
        dirs = {m.name.split("/")[0] for m in self.members if m.kind == "dir" or "/" in m.name}
        others = {m.name for m in self.members if "/" not in m.name} - dirs
        return sorted(dirs), sorted(others)


def _clean(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name.rstrip("/")


def _strip(name: str, components: int) -> str | None:
    parts = [p for p in name.split("/") if p]
    return "/".join(parts[components:]) or None


def _inside(path: str) -> bool:
    norm = posixpath.normpath(path)
    return not norm.startswith("/") and norm != ".." and not norm.startswith("../")


def _climbs_after_a_name(linkname: str) -> bool:
    """``..`` after a normal component: the text's normal form is not where the link leads
    when that component is itself a link (leading ``..`` only climb real directories)."""
    named = False
    for part in linkname.split("/"):
        if part == ".." and named:
            return True
        named = named or part not in ("", ".", "..")
    return False


def list_archive(fileobj: IO[bytes], strip_components: int = 0) -> Listing:
    """The members of a tar archive; :class:`ArchiveRefused` for one that is hostile or not tar."""
    members: list[Member] = []
    names: list[str] = []
    links: set[str] = set()
    try:
        with tarfile.open(fileobj=fileobj, mode="r:*") as tar:
            for n, info in enumerate(tar):
                if n >= MAX_MEMBERS:
                    raise ArchiveRefused(f"the archive has more than {MAX_MEMBERS} members")
                raw = info.name
                if raw.startswith("/") or ".." in raw.split("/"):
                    raise ArchiveRefused(f"member {raw!r} would be extracted outside the destination")
                if not (info.isdir() or info.isfile() or info.issym() or info.islnk()):
                    raise ArchiveRefused(f"member {raw!r} is a device or FIFO")
                names.append(raw)
                stripped = _strip(_clean(raw), strip_components)
                if stripped is None or stripped == ".":
                    continue
                if (info.issym() or info.islnk()) and _climbs_after_a_name(info.linkname):
                    raise ArchiveRefused(f"member {raw!r} links to {info.linkname!r}: '..' after a name may climb "
                                         f"out through another link")
                if info.issym() and (info.linkname.startswith("/")
                                     or not _inside(posixpath.join(posixpath.dirname(stripped), info.linkname))):
                    raise ArchiveRefused(f"member {raw!r} is a symlink to {info.linkname!r}, outside the destination")
                if info.islnk():
                    target = _strip(_clean(info.linkname), strip_components)
                    if target is None or info.linkname.startswith("/") or not _inside(target):
                        raise ArchiveRefused(f"member {raw!r} is a hard link to {info.linkname!r}, "
                                             f"outside the destination")
                kind = "dir" if info.isdir() else "link" if info.issym() else "file"
                members.append(Member(name=stripped, kind=kind))
                if info.issym():
                    links.add(stripped)
    except tarfile.TarError as exc:
        raise ArchiveRefused(f"not a tar archive tarfile can read ({exc})") from None
    for m in members:
        parts = m.name.split("/")
        under = next(("/".join(parts[:i]) for i in range(1, len(parts)) if "/".join(parts[:i]) in links), None)
        if under is not None:
            raise ArchiveRefused(f"member {m.name!r} is beneath the symlink member {under!r}; tar would write "
                                 f"through the link")
    return Listing(members=members, names=names)
