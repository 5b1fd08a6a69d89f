"""raid.present / raid.healthy with real tools where this kernel allows.

No md driver here, so ``mdadm --create`` cannot run: the create is tested as the exact
argv planned from real facts of blank loop devices. Refusals are real: the evidence comes
from real ``blkid -p`` and real ``mdadm --examine`` of a v1.2 superblock written to a
loop device from userspace (tests/real/mdsuper.py). raid.healthy reads a /proc/mdstat
under a temp root holding real outputs (tests/fixtures/mdadm, sources named there).
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from saline.states.engine.apply import lookup, validate_args
from saline.states.engine.base import CommandStep, StateContext
from saline.states.engine.runner import Runner
from tests.harness import assert_refused, run
from tests.real.disksnap import blkid_snapshot
from tests.real.loopdev import loops, lvm_env, need_tools  # noqa: F401  (fixtures)
from tests.real.mdsuper import write_md_superblock
from tests.unit.states.mdfixtures import fixture
from tests.paths import FIXTURES

pytestmark = pytest.mark.real


def plan_for(fun: str, args: dict, runner: Runner):
    fn = lookup(fun)
    parsed = validate_args(fn, args)
    facts = fn.facts(parsed, StateContext(runner=runner))
    return facts, fn.plan(parsed, facts)


@pytest.fixture
def pair(loops):
    need_tools("mdadm")
    return loops(16), loops(16)


def test_create_plan_on_blank_devices(pair, tmp_path):
    a, b = pair
    conf = tmp_path / "mdadm.conf"
    args = {"name": "/dev/md0", "level": 1, "devices": [a, b], "config": str(conf)}
    facts, plan = plan_for("raid.present", args, Runner())
    assert [m.content.empty for m in facts.members] == [True, True]
    assert [s.argv for s in plan.steps if isinstance(s, CommandStep)] == [
        ["mdadm", "--create", "/dev/md0", "--run", "--level=raid1", "--raid-devices=2", "--metadata=1.2", f"--uuid={facts.proposed_uuid}", a, b]
    ]
    snap = blkid_snapshot(a, b)
    before = snap()
    dry = run("raid.present", args, Runner(), test=True)
    assert dry.result is None and dry.changes["created"] == "/dev/md0" and not conf.exists()
    assert snap() == before


def test_refuses_devices_carrying_a_filesystem_or_pv(pair, lvm_env):
    a, b = pair
    subprocess.run(["mkfs.ext4", "-q", b], check=True)
    args = {"name": "/dev/md0", "level": 1, "devices": [a, b]}
    res = assert_refused("raid.present", args, Runner(), blkid_snapshot(a, b), "TYPE=ext4")
    assert b in res.comment and "force: true" in res.comment
    env = lvm_env([a])
    subprocess.run(["pvcreate", a], check=True, capture_output=True, env=env)
    assert_refused("raid.present", args, Runner(env=env), blkid_snapshot(a, b), "TYPE=LVM2_member")


def test_refuses_a_member_of_another_array_quoting_mdadm_examine(pair):
    a, b = pair
    other = uuid.UUID("11111111-2222-3333-4444-555555555555")
    write_md_superblock(b, array_uuid=other, name="node2:7", role=1)
    # Real mdadm reads what was written.
    examined = subprocess.run(["mdadm", "--examine", b], capture_output=True, text=True)
    assert "Array UUID : 11111111:22223333:44445555:55555555" in examined.stdout
    res = assert_refused("raid.present", {"name": "/dev/md0", "level": 1, "devices": [a, b]}, Runner(), blkid_snapshot(a, b), "11111111:22223333:44445555:55555555")
    assert "TYPE=linux_raid_member" in res.comment and "name node2:7" in res.comment


def test_members_of_one_array_plan_an_assemble(pair, tmp_path):
    a, b = pair
    array = uuid.UUID("0f0e0d0c-0b0a-0908-0706-050403020100")
    write_md_superblock(a, array_uuid=array, name="node1:3", role=0)
    write_md_superblock(b, array_uuid=array, name="node1:3", role=1)
    conf = tmp_path / "mdadm.conf"
    _, plan = plan_for("raid.present", {"name": "/dev/md3", "level": "raid1", "devices": [a, b], "config": str(conf)}, Runner())
    assert [s.argv for s in plan.steps if isinstance(s, CommandStep)] == [["mdadm", "--assemble", "/dev/md3", a, b]]
    assert plan.steps[-1].content.decode() == "ARRAY /dev/md3 metadata=1.2 UUID=0f0e0d0c:0b0a0908:07060504:03020100\n"


@pytest.mark.parametrize(
    "mdstat, md, healthy, words",
    [
        ("mdstat-clean.txt", "/dev/md1", True, ["md1: active"]),
        ("mdstat-resync.txt", "/dev/md1", False, ["resync 96.9%"]),
        ("mdstat-recovery.txt", "/dev/md0", False, ["degraded [4/3] [UUU_]", "recovery 58.1%", "finish=7.2min"]),
        ("mdstat-failed.txt", "/dev/md3", False, ["failed members: sdb1"]),
        ("mdstat-degraded-spare.txt", "/dev/md2", False, ["[U_]", "spares: sdb3"]),
        ("mdstat-clean.txt", "/dev/md9", False, ["not assembled"]),
    ],
)
def test_healthy_reads_proc_mdstat(tmp_path: Path, mdstat, md, healthy, words):
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "mdstat").write_text(fixture(mdstat))
    for test in (True, False):
        res = run("raid.healthy", {"name": md}, Runner(root=tmp_path), test=test)
        assert res.result is healthy and res.changes == {}
        assert all(w in res.comment for w in words), res.comment


def test_bad_arguments(pair):
    a, b = pair
    snap = blkid_snapshot(a, b)
    assert_refused("raid.present", {"name": "/dev/sda", "level": 1, "devices": [a, b]}, Runner(), snap, "md device name")
    assert_refused("raid.present", {"name": "/dev/md0", "level": "raid7", "devices": [a, b]}, Runner(), snap, "unknown RAID level")
    assert_refused("raid.present", {"name": "/dev/md0", "level": 1, "devices": [a, "/dev/saline-no-such"]}, Runner(), snap, "does not exist")
