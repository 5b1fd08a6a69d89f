"""Parse DRBD 9 status: ``drbdsetup events2 --now [--statistics]`` and ``drbdadm status``.

Both give one :class:`ResourceStatus` per resource, so the states and the maintenance
runner judge health the same way whichever output they had. ``events2`` is the
machine interface LINBIT recommends for tools; ``drbdadm status`` is what an operator
pastes into a ticket.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

HEALTHY_CONNECTION = "Connected"
HEALTHY_DISK = "UpToDate"
IN_SYNC_REPLICATION = "Established"


class PeerDeviceStatus(BaseModel):
    volume: int = 0
    replication: str = "Off"
    peer_disk: str = "DUnknown"
    done: float | None = None  # resync progress in percent
    out_of_sync: int | None = None  # KiB, with --statistics


class ConnectionStatus(BaseModel):
    peer: str
    connection: str = "Unknown"
    role: str = "Unknown"
    volumes: dict[int, PeerDeviceStatus] = Field(default_factory=dict)


class ResourceStatus(BaseModel):
    name: str
    role: str = "Unknown"
    disks: dict[int, str] = Field(default_factory=dict)  # volume → local disk state
    connections: dict[str, ConnectionStatus] = Field(default_factory=dict)
    helpers: list[str] = Field(default_factory=list)  # handlers DRBD called (events2 "call helper")

    def problems(self) -> list[str]:
        """Why this resource is not Connected and UpToDate/UpToDate everywhere (empty = healthy)."""
        found = [f"local disk of volume {v} is {d}" for v, d in sorted(self.disks.items()) if d != HEALTHY_DISK]
        if not self.disks:
            found.append("no local volume is attached")
        if not self.connections:
            found.append("no peer connection is configured")
        for conn in self.connections.values():
            if conn.connection != HEALTHY_CONNECTION:
                hint = " (split brain?)" if conn.connection == "StandAlone" else ""
                found.append(f"peer {conn.peer}: connection {conn.connection}{hint}")
                continue
            for v, pd in sorted(conn.volumes.items()):
                if pd.replication != IN_SYNC_REPLICATION:
                    progress = f" {pd.done:.2f}% done" if pd.done is not None else ""
                    found.append(f"peer {conn.peer} volume {v}: {pd.replication}{progress}")
                if pd.peer_disk != HEALTHY_DISK:
                    found.append(f"peer {conn.peer} volume {v}: peer disk {pd.peer_disk}")
        if "split-brain" in self.helpers:
            found.append("DRBD called the split-brain handler")
        return found

    def summary(self) -> str:
        peers = ", ".join(f"{c.peer} {c.connection}" for c in self.connections.values()) or "no peers"
        disks = "/".join(self.disks.values()) or "no disk"
        return f"{self.name} {self.role}, disk {disks}, {peers}"


# ---- drbdsetup events2 ----------------------------------------------------------------

_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\S+\s+")


def _fields(tokens: list[str]) -> dict[str, str]:
    # values may contain colons (local:ipv4:1.2.3.4:7789): split at the first one only
    return dict(t.split(":", 1) for t in tokens if ":" in t)


def _joined(text: str) -> list[str]:
    """One event per line; an indented line continues the previous one (LINBIT's guide
    breaks long events2 lines like that for readability)."""
    lines: list[str] = []
    for raw in text.splitlines():
        if raw[:1].isspace() and lines:
            lines[-1] += " " + raw.strip()
        else:
            lines.append(raw)
    return lines


def parse_events2(text: str) -> dict[str, ResourceStatus]:
    """Replay ``exists``/``create``/``change``/``destroy`` lines into the resulting state."""
    resources: dict[str, ResourceStatus] = {}
    for raw in _joined(text):
        line = _TIMESTAMP.sub("", raw.strip())
        parts = line.split()
        if len(parts) < 3:
            continue  # blank, "exists -" (end of the initial dump)
        action, obj, f = parts[0], parts[1], _fields(parts[2:])
        name = f.get("name")
        if name is None:
            continue
        if obj == "resource" and action == "destroy":
            resources.pop(name, None)
            continue
        res = resources.setdefault(name, ResourceStatus(name=name))
        if obj == "resource":
            res.role = f.get("role", res.role)
        elif obj == "device":
            vol = int(f.get("volume", 0))
            if action == "destroy":
                res.disks.pop(vol, None)
            else:
                res.disks[vol] = f.get("disk", res.disks.get(vol, "Unknown"))
        elif obj in ("connection", "peer-device"):
            peer = f.get("conn-name") or f"node-id {f.get('peer-node-id', '?')}"
            if action == "destroy" and obj == "connection":
                res.connections.pop(peer, None)
                continue
            conn = res.connections.setdefault(peer, ConnectionStatus(peer=peer))
            if obj == "connection":
                conn.connection = f.get("connection", conn.connection)
                conn.role = f.get("role", conn.role)
            else:
                vol = int(f.get("volume", 0))
                pd = conn.volumes.setdefault(vol, PeerDeviceStatus(volume=vol))
                pd.replication = f.get("replication", pd.replication)
                pd.peer_disk = f.get("peer-disk", pd.peer_disk)
                # "done" is only printed while a resync runs
                pd.done = float(f["done"]) if "done" in f else (pd.done if pd.replication.startswith(("Sync", "PausedSync")) else None)
                if "out-of-sync" in f:
                    pd.out_of_sync = int(f["out-of-sync"])
        elif obj == "helper" and action == "call" and "helper" in f:
            res.helpers.append(f["helper"])
    return resources


# ---- drbdadm status -------------------------------------------------------------------


def parse_status(text: str) -> dict[str, ResourceStatus]:
    """``drbdadm status``: a resource line, then indented local-volume and peer blocks.

    It leaves out what is normal: a peer shown with ``role:`` and no ``connection:`` is
    Connected, a peer volume without ``replication:`` is Established.
    """
    resources: dict[str, ResourceStatus] = {}
    res: ResourceStatus | None = None
    conn: ConnectionStatus | None = None
    for raw in text.splitlines():
        if not raw.strip():
            continue
        indent = len(raw) - len(raw.lstrip())
        tokens = raw.split()
        f = _fields(tokens)
        if indent == 0:
            res = resources.setdefault(tokens[0], ResourceStatus(name=tokens[0], role=f.get("role", "Unknown")))
            conn = None
        elif res is None:
            continue
        elif ":" not in tokens[0]:  # "  nina role:Secondary" / "  nono connection:Connecting"
            conn = ConnectionStatus(peer=tokens[0], connection=f.get("connection", HEALTHY_CONNECTION),
                                    role=f.get("role", "Unknown"))
            res.connections[conn.peer] = conn
        elif conn is None:  # local volume: "  disk:UpToDate" or "  volume:0 disk:Diskless"
            res.disks[int(f.get("volume", 0))] = f.get("disk", "Unknown")
        else:  # peer volume: "    replication:SyncSource peer-disk:Inconsistent done:72.42"
            vol = int(f.get("volume", 0))
            # DRBD 9.0's status printed the peer's disk as "disk:" (the UG's verbose example)
            conn.volumes[vol] = PeerDeviceStatus(
                volume=vol,
                replication=f.get("replication", IN_SYNC_REPLICATION if conn.connection == HEALTHY_CONNECTION else "Off"),
                peer_disk=f.get("peer-disk", f.get("disk", "DUnknown")),
                done=float(f["done"]) if "done" in f else None,
            )
    return resources


# ---- drbdadm dump-md ------------------------------------------------------------------


def metadata_state(rc: int, stderr: str) -> str:
    """``drbdadm dump-md RES``: "present", "absent", or "in-use" (attached, so it has metadata).

    drbdmeta says "No valid meta data found" when there is none; it refuses to dump a
    device the kernel has attached ("Device '…' is configured!").
    """
    if rc == 0:
        return "present"
    if "No valid meta data found" in stderr:
        return "absent"
    if "is configured!" in stderr:
        return "in-use"
    raise ValueError(drbd_error(stderr) if stderr.strip() else f"dump-md failed with rc={rc}")


_NOISE = ("modinfo:", "modprobe:", "Command '", "found __DRBD_NODE__", "PRETENDING that I am")


def drbd_error(stderr: str, lines: int = 3) -> str:
    """The lines of drbdadm/drbdmeta stderr that say what is wrong, without the module-probe
    noise and the "Command … terminated with exit code" trailer."""
    useful = [ln.strip() for ln in stderr.splitlines() if ln.strip() and not ln.strip().startswith(_NOISE)]
    return " ".join(useful[-lines:]) or "failed without a message"
