"""DRBD status parsers against real outputs saved as fixtures (tests/fixtures/drbd/).

Sources, named again in each fixture's header:
* events2: LINBIT drbd-utils' own tests (tests/v9/events2-*.test, the expected output of
  drbdsetup replaying kernel messages) and the DRBD 9 User's Guide;
* drbdadm status: the DRBD 9 User's Guide and Andrei Kvapil's "Troubleshooting DRBD9 in
  LINSTOR" (dev.to, 2021), which shows split brain, Outdated and SyncSource on real clusters.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from saline.states.system.drbd import metadata_state, parse_events2, parse_status
from tests.paths import FIXTURES

FIXTURES = FIXTURES / "drbd"


def load(name: str) -> str:
    """The fixture without its source header (lines starting with '#')."""
    return "".join(line for line in (FIXTURES / name).read_text().splitlines(keepends=True) if not line.startswith("#"))


def test_events2_connected_primary_is_healthy():
    res = parse_events2(load("events2_connected_primary.txt"))["some-resource"]
    assert res.role == "Primary"
    assert res.disks == {0: "UpToDate"}
    conn = res.connections["some-peer"]
    assert conn.connection == "Connected"
    assert conn.volumes[0].replication == "Established" and conn.volumes[0].peer_disk == "UpToDate"
    assert conn.volumes[0].done is None
    assert res.problems() == []


def test_events2_standalone_reports_connection_and_diskless():
    res = parse_events2(load("events2_standalone_helper.txt"))["some-resource"]
    assert res.connections["some-peer"].connection == "StandAlone"
    assert res.helpers == ["before-resync-target"]
    problems = res.problems()
    assert "local disk of volume 0 is Diskless" in problems
    assert "peer some-peer: connection StandAlone (split brain?)" in problems


def test_events2_syncsource_with_progress():
    res = parse_events2(load("events2_syncsource.txt"))["some-resource"]
    pd = res.connections["some-peer"].volumes[0]
    assert (pd.replication, pd.peer_disk, pd.done, pd.out_of_sync) == ("SyncSource", "Inconsistent", 37.5, 2500)
    assert res.disks == {0: "UpToDate"}
    assert res.problems() == ["peer some-peer volume 0: SyncSource 37.50% done",
                              "peer some-peer volume 0: peer disk Inconsistent"]


def test_events2_users_guide_two_volumes_with_broken_lines():
    res = parse_events2(load("events2_ug_now_statistics.txt"))["r0"]
    assert res.disks == {0: "UpToDate", 1: "UpToDate"}
    conn = res.connections["remote-host"]
    assert conn.role == "Secondary" and conn.connection == "Connected"
    assert sorted(conn.volumes) == [0, 1]
    assert all(v.out_of_sync == 0 and v.peer_disk == "UpToDate" for v in conn.volumes.values())
    assert res.problems() == []


def test_events2_split_brain_helper_and_destroy():
    """The split-brain handler call is reported; a destroyed resource disappears."""
    text = load("events2_connected_primary.txt") + (
        "call helper name:some-resource peer-node-id:1 conn-name:some-peer volume:0 helper:split-brain\n"
    )
    assert "DRBD called the split-brain handler" in parse_events2(text)["some-resource"].problems()
    assert parse_events2(text + "destroy resource name:some-resource\n") == {}


def test_status_users_guide_connecting_peer():
    res = parse_status(load("status_ug_connecting.txt"))["home"]
    assert res.role == "Secondary" and res.disks == {0: "UpToDate"}
    assert {p: c.connection for p, c in res.connections.items()} == {
        "nina": "Connected", "nino": "Connected", "nono": "Connecting"}
    assert res.connections["nina"].volumes[0].peer_disk == "UpToDate"
    assert res.problems() == ["peer nono: connection Connecting"]


def test_status_split_brain_victim():
    res = parse_status(load("status_split_brain.txt"))["one-vm-8373-disk-2"]
    assert res.disks == {0: "Outdated"}
    assert res.connections["m14c6"].connection == "StandAlone"
    assert res.connections["m11c12"].role == "Primary"
    problems = res.problems()
    assert "local disk of volume 0 is Outdated" in problems
    assert "peer m14c6: connection StandAlone (split brain?)" in problems


def test_status_syncsource_with_progress():
    res = parse_status(load("status_syncsource.txt"))["one-vm-8373-disk-2"]
    pd = res.connections["m13c23"].volumes[0]
    assert (pd.replication, pd.peer_disk, pd.done) == ("SyncSource", "Inconsistent", 72.42)
    assert res.connections["m11c12"].volumes[0].replication == "Established"


def test_status_outdated_and_then_healthy():
    outdated = parse_status(load("status_outdated.txt"))["one-vm-7577-disk-2"]
    assert outdated.problems()[:2] == ["local disk of volume 0 is Outdated", "peer m10c21 volume 0: peer disk Diskless"]
    healthy = parse_status(load("status_healthy.txt"))["one-vm-7577-disk-2"]
    assert healthy.connections["m13c10"].volumes[0].peer_disk == "UpToDate"
    # a diskless client peer is not UpToDate: in a two-node cluster that is a problem, and said so
    assert healthy.problems() == ["peer m10c21 volume 0: peer disk Diskless"]


@pytest.mark.parametrize(
    ("rc", "stderr", "expected"),
    [
        (0, "", "present"),
        (1, "modinfo: ERROR: Module drbd not found.\nNo valid meta data found\n", "absent"),
        (20, "Device '1' is configured!\nCommand 'drbdmeta 1 v09 /dev/md3 internal dump-md' terminated with exit code 20\n", "in-use"),
    ],
)
def test_metadata_state(rc, stderr, expected):
    assert metadata_state(rc, stderr) == expected


def test_metadata_state_unknown_error_is_raised_with_the_reason():
    with pytest.raises(ValueError, match="open\\(/dev/md3\\) failed"):
        metadata_state(20, "open(/dev/md3) failed: No such file or directory\nCommand 'drbdmeta …' terminated with exit code 20\n")
