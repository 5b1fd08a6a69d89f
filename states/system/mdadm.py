"""md RAID as data: ``/proc/mdstat``, ``mdadm --detail``, ``mdadm --examine`` and the
``ARRAY`` lines of mdadm.conf / ``mdadm --detail --scan``.

Parsed from the tools' real text (fixtures in tests/fixtures/mdadm name their sources);
whitespace is never significant here, so column alignment changes between mdadm
versions do not matter.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

# ---- /proc/mdstat ------------------------------------------------------------------------

_ARRAY_LINE = re.compile(r"^(md\w+)\s*:\s*(active|inactive)\s*(.*)$")
_MEMBER = re.compile(r"^([\w./-]+)\[(\d+)\]((?:\([A-Z]\))*)$")
_STATUS = re.compile(r"\[(\d+)/(\d+)\]\s+\[([U_]+)\]")
_SYNC = re.compile(
    r"(recovery|resync|reshape|check|repair)\s*=\s*([\d.]+)%\s*\((\d+)/(\d+)\)"
    r"(?:\s*finish=(\S+))?(?:\s*speed=(\S+))?"
)
_DELAYED = re.compile(r"(recovery|resync|reshape|check)\s*=\s*(DELAYED|PENDING)")


class MdstatMember(BaseModel):
    device: str  # kernel name, e.g. sda1
    index: int
    faulty: bool = False  # (F)
    spare: bool = False  # (S)
    write_mostly: bool = False  # (W)
    replacement: bool = False  # (R)


class SyncProgress(BaseModel):
    action: str  # recovery | resync | reshape | check | repair
    percent: float | None = None
    done_blocks: int | None = None
    total_blocks: int | None = None
    finish: str | None = None
    speed: str | None = None
    pending: str | None = None  # DELAYED / PENDING

    def describe(self) -> str:
        if self.pending:
            return f"{self.action} {self.pending.lower()}"
        extra = ", ".join(x for x in (f"finish={self.finish}" if self.finish else "", f"speed={self.speed}" if self.speed else "") if x)
        return f"{self.action} {self.percent}%" + (f" ({extra})" if extra else "")


class MdstatArray(BaseModel):
    name: str  # md0
    active: bool
    read_only: bool = False
    level: str | None = None  # raid1 ...
    members: list[MdstatMember] = Field(default_factory=list)
    raid_disks: int | None = None
    in_sync_disks: int | None = None
    status_map: str | None = None  # "U_"
    sync: SyncProgress | None = None


def parse_mdstat(text: str) -> dict[str, MdstatArray]:
    arrays: dict[str, MdstatArray] = {}
    current: MdstatArray | None = None
    for raw in text.splitlines():
        line = raw.strip()
        m = _ARRAY_LINE.match(line)
        if m:
            words = m.group(3).split()
            read_only = any(w.startswith("(") and "read-only" in w for w in words)
            words = [w for w in words if not w.startswith("(")]
            level = words[0] if words and not _MEMBER.match(words[0]) else None
            members = []
            for w in words[1:] if level else words:
                mm = _MEMBER.match(w)
                if mm:
                    flags = mm.group(3)
                    members.append(MdstatMember(device=mm.group(1), index=int(mm.group(2)), faulty="(F)" in flags, spare="(S)" in flags, write_mostly="(W)" in flags, replacement="(R)" in flags))
            current = MdstatArray(name=m.group(1), active=m.group(2) == "active", read_only=read_only, level=level, members=members)
            arrays[current.name] = current
            continue
        if current is None or not line:
            continue
        if (s := _STATUS.search(line)) is not None:
            current.raid_disks, current.in_sync_disks, current.status_map = int(s.group(1)), int(s.group(2)), s.group(3)
        if (s := _SYNC.search(line)) is not None:
            current.sync = SyncProgress(action=s.group(1), percent=float(s.group(2)), done_blocks=int(s.group(3)), total_blocks=int(s.group(4)), finish=s.group(5), speed=s.group(6))
        elif (s := _DELAYED.search(line)) is not None:
            current.sync = SyncProgress(action=s.group(1), pending=s.group(2))
    return arrays


# ---- mdadm --detail -----------------------------------------------------------------------

_KV = re.compile(r"^\s*([A-Za-z][A-Za-z ]*?)\s*:\s*(.*?)\s*$")


class DetailMember(BaseModel):
    number: int
    raid_device: int | None  # None for "-" (spares, faulty)
    state: list[str]  # e.g. ["active", "sync"], ["spare", "rebuilding"], ["faulty", "spare"], ["removed"]
    device: str | None = None


class MdDetail(BaseModel):
    device: str
    fields: dict[str, str]
    members: list[DetailMember]

    @property
    def state(self) -> list[str]:
        return [s.strip() for s in self.fields.get("State", "").split(",") if s.strip()]

    @property
    def level(self) -> str | None:
        return self.fields.get("Raid Level")

    @property
    def uuid(self) -> str | None:
        return self.fields.get("UUID")

    @property
    def metadata(self) -> str | None:
        return self.fields.get("Version")

    @property
    def rebuild_status(self) -> str | None:
        return self.fields.get("Rebuild Status") or self.fields.get("Resync Status")

    def count(self, key: str) -> int:
        value = self.fields.get(key, "0").split()[0]
        return int(value) if value.isdigit() else 0

    def active_devices(self) -> list[str]:
        return [m.device for m in self.members if m.device and "active" in m.state and "faulty" not in m.state]


def parse_detail(text: str) -> MdDetail:
    lines = text.splitlines()
    device = lines[0].rstrip(":").strip() if lines and lines[0].strip().endswith(":") else ""
    fields: dict[str, str] = {}
    members: list[DetailMember] = []
    in_table = False
    for line in lines[1:] if device else lines:
        if re.match(r"^\s*Number\s+Major\s+Minor\s+RaidDevice", line):
            in_table = True
            continue
        if in_table:
            parts = line.split()
            if len(parts) >= 5 and parts[0].isdigit():
                rest = parts[4:]
                dev = rest[-1] if rest[-1].startswith("/") else None
                state = rest[:-1] if dev else rest
                members.append(DetailMember(number=int(parts[0]), raid_device=int(parts[3]) if parts[3].lstrip("-").isdigit() and parts[3] != "-" else None, state=state, device=dev))
            continue
        m = _KV.match(line)
        if m:
            fields[m.group(1)] = m.group(2)
    return MdDetail(device=device, fields=fields, members=members)


# ---- mdadm --examine ----------------------------------------------------------------------


class MdExamine(BaseModel):
    device: str
    fields: dict[str, str]

    @property
    def array_uuid(self) -> str | None:
        # v1.x says "Array UUID", v0.90 says "UUID".
        return self.fields.get("Array UUID") or self.fields.get("UUID")

    @property
    def level(self) -> str | None:
        return self.fields.get("Raid Level")

    @property
    def role(self) -> str | None:
        return self.fields.get("Device Role")

    def describe(self) -> str:
        return f"md superblock (array UUID {self.array_uuid}, {self.level}, name {self.fields.get('Name', '?')}, role {self.role or '?'})"


def parse_examine(text: str) -> MdExamine | None:
    """``mdadm --examine DEV``; None when the device carries no md superblock."""
    lines = text.splitlines()
    if not lines or "Magic" not in text:
        return None
    device = lines[0].rstrip(":").strip()
    fields = {m.group(1): m.group(2) for line in lines[1:] if (m := _KV.match(line))}
    return MdExamine(device=device, fields=fields)


# ---- ARRAY lines ---------------------------------------------------------------------------


class ArrayLine(BaseModel):
    device: str
    fields: dict[str, str]

    @property
    def uuid(self) -> str | None:
        return self.fields.get("UUID") or self.fields.get("uuid")

    def render(self) -> str:
        return " ".join(["ARRAY", self.device, *(f"{k}={v}" for k, v in self.fields.items())])


def parse_array_lines(text: str) -> list[ArrayLine]:
    """``ARRAY`` lines of mdadm.conf or of ``mdadm --detail --scan`` (continuation lines joined)."""
    joined = re.sub(r"\n[ \t]+", " ", text)
    out = []
    for line in joined.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) >= 2 and words[0] == "ARRAY":
            out.append(ArrayLine(device=words[1], fields=dict(w.split("=", 1) for w in words[2:] if "=" in w)))
    return out


# ---- health --------------------------------------------------------------------------------


class Health(BaseModel):
    healthy: bool
    summary: str


def health(name: str, mdstat: MdstatArray | None, detail: MdDetail | None) -> Health:
    """A verdict and a human summary: clean/active vs degraded, resyncing, recovering with
    progress, failed and spare members."""
    if mdstat is None and detail is None:
        return Health(healthy=False, summary=f"{name} is not assembled (not in /proc/mdstat)")
    problems: list[str] = []
    notes: list[str] = []
    if mdstat is not None:
        if not mdstat.active:
            problems.append("inactive")
        if mdstat.status_map and "_" in mdstat.status_map:
            problems.append(f"degraded [{mdstat.raid_disks}/{mdstat.in_sync_disks}] [{mdstat.status_map}]")
        failed = [m.device for m in mdstat.members if m.faulty]
        spares = [m.device for m in mdstat.members if m.spare]
        if failed:
            problems.append("failed members: " + ", ".join(failed))
        if spares:
            notes.append("spares: " + ", ".join(spares))
        if mdstat.sync is not None:
            (notes if mdstat.sync.action in ("check",) else problems).append(mdstat.sync.describe())
    if detail is not None:
        state = detail.state
        if any(s in state for s in ("degraded", "FAILED", "Not Started")) and not any("degraded" in p for p in problems):
            problems.append("state: " + ", ".join(state))
        failed = [m.device or f"#{m.number}" for m in detail.members if "faulty" in m.state]
        if failed and not any(p.startswith("failed") for p in problems):
            problems.append("failed members: " + ", ".join(failed))
        removed = [str(m.raid_device) for m in detail.members if "removed" in m.state]
        if removed:
            problems.append("removed slots: " + ", ".join(removed))
        rebuilding = [m.device for m in detail.members if "rebuilding" in m.state and m.device]
        if rebuilding:
            notes.append("rebuilding: " + ", ".join(rebuilding))
        if detail.rebuild_status and not (mdstat and mdstat.sync):
            problems.append(f"rebuild {detail.rebuild_status}")
    state_word = ", ".join(detail.state) if detail is not None and detail.state else ("active" if mdstat and mdstat.active else "inactive")
    text = f"{name}: {state_word}"
    if problems:
        text += "; " + "; ".join(problems)
    if notes:
        text += "; " + "; ".join(notes)
    return Health(healthy=not problems, summary=text)
