"""md parsers against real outputs (tests/fixtures/mdadm; each file names its source:
pastebin/linuxwiki posts of /proc/mdstat, mdadm --detail and mdadm --examine)."""

from __future__ import annotations

from saline.states.system.mdadm import health, parse_array_lines, parse_detail, parse_examine, parse_mdstat
from tests.unit.states.mdfixtures import fixture
from tests.paths import FIXTURES


def test_mdstat_clean_arrays():
    arrays = parse_mdstat(fixture("mdstat-clean.txt"))
    assert sorted(arrays) == ["md0", "md1", "md2", "md3"]
    md1 = arrays["md1"]
    assert (md1.active, md1.level, md1.raid_disks, md1.in_sync_disks, md1.status_map) == (True, "raid1", 2, 2, "UU")
    assert [(m.device, m.index) for m in md1.members] == [("sdb2", 1), ("sda2", 2)]
    assert md1.sync is None
    assert all(health(f"/dev/{n}", a, None).healthy for n, a in arrays.items())


def test_mdstat_resync_progress_and_delayed():
    arrays = parse_mdstat(fixture("mdstat-resync.txt"))
    sync = arrays["md1"].sync
    assert (sync.action, sync.percent, sync.done_blocks, sync.total_blocks, sync.finish, sync.speed) == ("resync", 96.9, 371681792, 383519680, "2.9min", "66529K/sec")
    assert arrays["md0"].sync.pending == "DELAYED"
    verdict = health("/dev/md1", arrays["md1"], None)
    assert not verdict.healthy and "resync 96.9% (finish=2.9min, speed=66529K/sec)" in verdict.summary
    assert "resync delayed" in health("/dev/md0", arrays["md0"], None).summary


def test_mdstat_recovery_with_progress():
    arrays = parse_mdstat(fixture("mdstat-recovery.txt"))
    md0 = arrays["md0"]
    assert (md0.raid_disks, md0.in_sync_disks, md0.status_map) == (4, 3, "UUU_")
    assert md0.sync.action == "recovery" and md0.sync.percent == 58.1
    verdict = health("/dev/md0", md0, None)
    assert not verdict.healthy
    assert "degraded [4/3] [UUU_]" in verdict.summary and "recovery 58.1%" in verdict.summary
    assert arrays["md1"].level == "raid5" and arrays["md1"].status_map == "_UUU"


def test_mdstat_failed_and_spare_members():
    failed = parse_mdstat(fixture("mdstat-failed.txt"))
    assert [m.faulty for m in failed["md3"].members] == [True, False]
    assert "failed members: sdb1" in health("/dev/md3", failed["md3"], None).summary
    assert failed["md1"].sync.percent == 8.1
    spare = parse_mdstat(fixture("mdstat-degraded-spare.txt"))["md2"]
    assert [(m.device, m.spare) for m in spare.members] == [("sda3", False), ("sdb3", True)]
    verdict = health("/dev/md2", spare, None)
    assert not verdict.healthy and "spares: sdb3" in verdict.summary and "[U_]" in verdict.summary


def test_detail_resyncing():
    d = parse_detail(fixture("detail-resyncing.txt"))
    assert d.device == "/dev/md0" and d.level == "raid1" and d.metadata == "1.2"
    assert d.state == ["clean", "resyncing"] and d.rebuild_status == "7% complete"
    assert d.uuid == "fc1db1a2:3b980d47:0b6022b2:09b9dd11"
    assert d.active_devices() == ["/dev/sdc", "/dev/sdd"]
    verdict = health("/dev/md0", None, d)
    assert not verdict.healthy and "rebuild 7% complete" in verdict.summary


def test_detail_degraded_with_faulty_and_removed():
    d = parse_detail(fixture("detail-degraded-faulty.txt"))
    assert d.state == ["clean", "degraded"] and d.count("Failed Devices") == 1
    assert [(m.number, m.raid_device, m.state, m.device) for m in d.members] == [
        (0, 0, ["active", "sync"], "/dev/sda1"),
        (1, 1, ["removed"], None),
        (2, None, ["faulty", "spare"], "/dev/sdb1"),
    ]
    verdict = health("/dev/md0", None, d)
    assert not verdict.healthy
    assert "state: clean, degraded" in verdict.summary and "failed members: /dev/sdb1" in verdict.summary and "removed slots: 1" in verdict.summary


def test_detail_spare_rebuilding():
    d = parse_detail(fixture("detail-rebuilding.txt"))
    assert d.members[1].state == ["spare", "rebuilding"] and d.members[1].raid_device == 1
    assert "rebuilding: /dev/sdd2" in health("/dev/md2", None, d).summary


def test_examine_v12_member():
    e = parse_examine(fixture("examine-v12-missing-peer.txt"))
    assert e.device == "/dev/sda1" and e.array_uuid == "c56473fe:a12dd859:d52b8dae:15c027ef"
    assert e.level == "raid1" and e.role == "Active device 0"
    assert e.fields["Array State"].startswith("A.")
    assert parse_examine("mdadm: No md superblock detected on /dev/loop0.\n") is None


def test_array_lines_of_conf_and_scan():
    conf = """# mdadm.conf
DEVICE partitions
ARRAY /dev/md0 metadata=1.2 name=node1:0 UUID=11111111:22223333:44445555:55555555
ARRAY /dev/md/1  metadata=1.2
   UUID=aaaaaaaa:bbbbbbbb:cccccccc:dddddddd name=node1:1
"""
    lines = parse_array_lines(conf)
    assert [(a.device, a.uuid) for a in lines] == [("/dev/md0", "11111111:22223333:44445555:55555555"), ("/dev/md/1", "aaaaaaaa:bbbbbbbb:cccccccc:dddddddd")]
    assert lines[0].render() == "ARRAY /dev/md0 metadata=1.2 name=node1:0 UUID=11111111:22223333:44445555:55555555"
