"""Which processes hold a node's data volumes open (``fuser -m`` from /proc, as data).

A node cannot leave while something Pacemaker does not manage holds its data open (the
seed's ``grub-mount`` keeping a snapshot mounted): Pacemaker would stop the Filesystem
resource, the stop would fail, and the node would be fenced or the resource blocked.

Data volumes are the mounts backed by DRBD (``/dev/drbdN``, or a device-mapper LV whose
slaves include a DRBD device) plus paths a site names. Processes counted are those in the
caller's mount namespace (a container's own processes live in another one and belong to
its resource), that are not descendants of ``pacemaker-execd`` (resource agents).
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel

MANAGER = "pacemaker-execd"


class Holder(BaseModel):
    pid: int
    comm: str
    path: str


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo.
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and len(field[i + 1:i + 4]) == 3 and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mounts(mountinfo: str) -> list[tuple[str, str]]:
    """(source device, mount point) for each line of ``/proc/self/mountinfo``."""
    found = []
    for line in mountinfo.splitlines():
        left, sep, right = line.partition(" - ")
        fields, rest = left.split(), right.split()
        if not sep or len(fields) < 5 or len(rest) < 2:
            continue
        found.append((_unescape(rest[1]), _unescape(fields[4])))
    return found


def on_drbd(device: str, sys_block: Path = Path("/sys/block")) -> bool:
    """``/dev/drbdN``, or a device-mapper device stacked on one (an LV in a VG on DRBD)."""
    name = Path(os.path.realpath(device)).name
    if name.startswith("drbd"):
        return True
    slaves = sys_block / name / "slaves"
    try:
        return any(on_drbd(f"/dev/{s.name}", sys_block) for s in slaves.iterdir())
    except OSError:
        return False


def data_paths(mountinfo: str, extra: list[str], sys_block: Path = Path("/sys/block")) -> list[str]:
    return sorted({mp for dev, mp in mounts(mountinfo) if dev.startswith("/dev/") and on_drbd(dev, sys_block)}
                  | {os.path.normpath(p) for p in extra})


def _under(path: str, roots: list[str]) -> str | None:
    for root in roots:
        if path == root or path.startswith(root.rstrip("/") + "/"):
            return root
    return None


def _ppid_comm(pid: int) -> tuple[int, str]:
    stat = Path(f"/proc/{pid}/stat").read_bytes()
    comm = stat[stat.index(b"(") + 1:stat.rindex(b")")].decode(errors="replace")
    return int(stat[stat.rindex(b")") + 2:].split()[1]), comm


def _managed(pid: int, parents: dict[int, tuple[int, str]]) -> bool:
    seen = set()
    while pid > 1 and pid not in seen:
        seen.add(pid)
        ppid, comm = parents.get(pid, (0, ""))
        if comm == MANAGER:
            return True
        pid = ppid
    return False


def holders(roots: list[str], limit: int = 50) -> list[Holder]:
    """Unmanaged processes with a cwd, root or open file under ``roots`` (at most ``limit``)."""
    if not roots:
        return []
    own_ns = os.readlink("/proc/self/ns/mnt")
    me = os.getpid()
    parents: dict[int, tuple[int, str]] = {}
    candidates: list[tuple[int, str]] = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            parents[pid] = _ppid_comm(pid)
            if pid == me or os.readlink(f"/proc/{pid}/ns/mnt") != own_ns:
                continue
            links = [f"/proc/{pid}/cwd", f"/proc/{pid}/root"]
            links += [f"/proc/{pid}/fd/{fd}" for fd in os.listdir(f"/proc/{pid}/fd")]
        except (OSError, ValueError):
            continue  # gone, or a kernel thread
        for link in links:
            try:
                target = os.readlink(link)
            except OSError:
                continue
            root = _under(target, roots)
            if root is not None and target != "/":
                candidates.append((pid, target))
                break
    found = []
    for pid, target in candidates:
        if not _managed(pid, parents):
            found.append(Holder(pid=pid, comm=parents[pid][1], path=target))
            if len(found) >= limit:
                break
    return found
