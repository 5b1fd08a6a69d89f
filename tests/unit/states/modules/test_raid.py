"""raid.present / raid.healthy planned from facts (md cannot run on the test kernel, so
the exact argv is what is tested; the facts come from real outputs in tests/fixtures/mdadm)."""

from __future__ import annotations

import pytest

from saline.states.engine.base import CommandStep, Refuse, WriteFileStep
from saline.states.system.blkid import BlockContent
from saline.states.modules.raid import HealthyArgs, HealthyFacts, Member, PresentArgs, PresentFacts, healthy, present
from saline.states.system.mdadm import ArrayLine, parse_detail, parse_examine, parse_mdstat
from tests.unit.states.mdfixtures import fixture
from tests.paths import FIXTURES

UUID = "0f0e0d0c:0b0a0908:07060504:03020100"


def blank(dev: str) -> Member:
    return Member(device=dev, resolved=dev, content=BlockContent(device=dev, exists=True), examine=None)


def facts(members, *, mdstat=None, detail=None, scan=None, conf=None) -> PresentFacts:
    return PresentFacts(mdstat=mdstat, detail=detail, scan_line=scan, members=members, conf_text=conf, proposed_uuid=UUID)


def argvs(plan):
    return [s.argv for s in plan.steps if isinstance(s, CommandStep)]


def args(**kw) -> PresentArgs:
    return PresentArgs.model_validate({"name": "/dev/md0", "level": 1, "devices": ["/dev/sda2", "/dev/sdb2"], **kw})


def test_create_plan_is_exact_and_records_the_array():
    plan = present(args(), facts([blank("/dev/sda2"), blank("/dev/sdb2")], conf="DEVICE partitions\n"))
    assert argvs(plan) == [["mdadm", "--create", "/dev/md0", "--run", "--level=raid1", "--raid-devices=2", "--metadata=1.2", f"--uuid={UUID}", "/dev/sda2", "/dev/sdb2"]]
    conf = [s for s in plan.steps if isinstance(s, WriteFileStep)][0]
    assert conf.path == "/etc/mdadm/mdadm.conf"
    assert conf.content.decode() == f"DEVICE partitions\nARRAY /dev/md0 metadata=1.2 UUID={UUID}\n"
    assert plan.changes["created"] == "/dev/md0" and plan.changes["level"] == "raid1"


@pytest.mark.parametrize(
    "tags, evidence",
    [
        ({"TYPE": "ext4", "UUID": "x"}, "TYPE=ext4"),
        ({"TYPE": "LVM2_member"}, "TYPE=LVM2_member"),
        ({"PTTYPE": "gpt"}, "PTTYPE=gpt"),
    ],
)
def test_create_refuses_used_devices_with_evidence(tags, evidence):
    used = Member(device="/dev/sdb2", resolved="/dev/sdb2", content=BlockContent(device="/dev/sdb2", exists=True, tags=tags), examine=None)
    with pytest.raises(Refuse, match=evidence):
        present(args(), facts([blank("/dev/sda2"), used]))
    forced = present(args(force=True), facts([blank("/dev/sda2"), used]))
    assert argvs(forced)[0][:2] == ["mdadm", "--create"]


def test_create_refuses_a_member_of_another_array():
    other = parse_examine(fixture("examine-v12-missing-peer.txt"))
    member = Member(device="/dev/sdb2", resolved="/dev/sdb2", content=BlockContent(device="/dev/sdb2", exists=True, tags={"TYPE": "linux_raid_member"}), examine=other)
    with pytest.raises(Refuse, match="c56473fe:a12dd859:d52b8dae:15c027ef"):
        present(args(), facts([blank("/dev/sda2"), member]))


def test_members_of_one_array_are_assembled_not_recreated():
    ex = parse_examine(fixture("examine-v12-missing-peer.txt"))
    members = [Member(device=d, resolved=d, content=BlockContent(device=d, exists=True, tags={"TYPE": "linux_raid_member"}), examine=ex) for d in ("/dev/sda2", "/dev/sdb2")]
    plan = present(args(), facts(members))
    assert argvs(plan) == [["mdadm", "--assemble", "/dev/md0", "/dev/sda2", "/dev/sdb2"]]


def _running_degraded():
    """md2 from the fixtures: sda3 active, slot 1 removed, sdb3 a spare."""
    mdstat = parse_mdstat(fixture("mdstat-degraded-spare.txt"))["md2"]
    detail = parse_detail(fixture("detail-degraded-spare.txt"))
    scan = ArrayLine(device="/dev/md2", fields={"metadata": "1.0", "name": "rescue:2", "UUID": detail.uuid})
    return mdstat, detail, scan


def test_degraded_array_is_reported_and_left_alone_without_re_add():
    mdstat, detail, scan = _running_degraded()
    conf = scan.render() + "\n"
    a = PresentArgs(name="/dev/md2", level="raid1", devices=["/dev/sda3", "/dev/sdc3"], metadata="1.0")
    plan = present(a, facts([blank("/dev/sda3"), blank("/dev/sdc3")], mdstat=mdstat, detail=detail, scan=scan, conf=conf))
    assert plan.empty and "DEGRADED: /dev/sdc3" in plan.comment and "re_add" in plan.comment


def test_re_add_uses_re_add_for_a_former_member_and_add_for_a_new_one():
    mdstat, detail, scan = _running_degraded()
    former_sb = parse_examine(fixture("examine-v12-missing-peer.txt")).model_copy(update={"fields": {"Array UUID": detail.uuid, "Magic": "a92b4efc"}})
    former = Member(device="/dev/sdc3", resolved="/dev/sdc3", content=BlockContent(device="/dev/sdc3", exists=True, tags={"TYPE": "linux_raid_member"}), examine=former_sb)
    # sdb3 is already in the array (as a spare): nothing is done to it.
    a = PresentArgs(name="/dev/md2", level=1, devices=["/dev/sda3", "/dev/sdb3", "/dev/sdc3", "/dev/sdd3"], re_add=True)
    plan = present(a, facts([blank("/dev/sda3"), blank("/dev/sdb3"), former, blank("/dev/sdd3")], mdstat=mdstat, detail=detail, scan=scan, conf=scan.render()))
    assert argvs(plan) == [["mdadm", "--manage", "/dev/md2", "--re-add", "/dev/sdc3"], ["mdadm", "--manage", "/dev/md2", "--add", "/dev/sdd3"]]
    assert plan.changes == {"added": ["/dev/sdc3", "/dev/sdd3"]}


def test_conf_line_is_synced_to_detail_scan_form():
    mdstat, detail, scan = _running_degraded()
    stale = "ARRAY /dev/md2 UUID=00000000:00000000:00000000:00000000\nMAILADDR root\n"
    a = PresentArgs(name="/dev/md2", level=1, devices=["/dev/sda3"])
    plan = present(a, facts([blank("/dev/sda3")], mdstat=mdstat, detail=detail, scan=scan, conf=stale))
    (write,) = plan.steps
    assert write.content.decode() == f"MAILADDR root\n{scan.render()}\n"
    assert plan.changes["mdadm.conf"]["old"] == ["ARRAY /dev/md2 UUID=00000000:00000000:00000000:00000000"]


def test_level_mismatch_is_refused():
    mdstat, detail, scan = _running_degraded()
    with pytest.raises(Refuse, match="is raid1, not raid5"):
        present(PresentArgs(name="/dev/md2", level=5, devices=["/dev/sda3"]), facts([blank("/dev/sda3")], mdstat=mdstat, detail=detail, scan=scan))


def test_bad_arguments():
    with pytest.raises(ValueError, match="md device name"):
        PresentArgs(name="/dev/sda", level=1, devices=[])
    with pytest.raises(ValueError, match="unknown RAID level"):
        PresentArgs(name="/dev/md0", level="raid7", devices=[])
    # metadata lands in the mdadm.conf ARRAY line: no second line smuggled in through it
    with pytest.raises(ValueError, match="metadata"):
        args(metadata="1.2\nARRAY /dev/md9 UUID=00000000:00000000:00000000:00000000")
    assert args(metadata="0.90").metadata == "0.90"


def test_healthy_passes_clean_and_fails_with_the_reason():
    clean = parse_mdstat(fixture("mdstat-clean.txt"))["md0"]
    assert "md0" in healthy(HealthyArgs(name="/dev/md0"), HealthyFacts(mdstat=clean, detail=None)).comment
    recovering = parse_mdstat(fixture("mdstat-recovery.txt"))["md0"]
    with pytest.raises(Refuse, match=r"unhealthy: .*recovery 58.1%"):
        healthy(HealthyArgs(name="/dev/md0"), HealthyFacts(mdstat=recovering, detail=None))
    with pytest.raises(Refuse, match="not assembled"):
        healthy(HealthyArgs(name="/dev/md9"), HealthyFacts(mdstat=None, detail=None))
