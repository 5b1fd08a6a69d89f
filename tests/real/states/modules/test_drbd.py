"""drbd states with the real drbd-utils 9.22, under a matching host name.

This kernel has no drbd module, so what runs for real is: the resource file validated by
``drbdadm dump`` and written into a temp root, metadata created by ``drbdadm create-md``
on a loop device and found again by ``drbdadm dump-md``, and the planned up/role
commands checked with ``drbdadm -d`` (dry run: drbdadm prints the drbdsetup/drbdmeta
calls it would make). drbdadm matches ``on <host>`` sections against ``uname -n``, so
every command runs in a private UTS namespace named ``node1`` (tests/real/netns.py).
Bringing the resource up in a kernel is not possible here; those plans are unit-tested
from parsed real status output (tests/unit/test_mod_drbd*.py).
"""

from __future__ import annotations

import grp
import os
import stat
import subprocess
from pathlib import Path

import pytest

from saline.states.engine.base import CommandStep
from saline.states.modules.drbd import LiveFacts, ResourceArgs, ResourceFacts, RoleArgs, render_resource, resource, role
from saline.states.system.drbd import ResourceStatus
from tests.harness import assert_full_cycle, assert_refused, run
from tests.real.netns import hostname_runner, require_tools, sh

pytestmark = pytest.mark.real


@pytest.fixture
def root(tmp_path: Path) -> Path:
    require_tools("drbdadm", "drbdmeta", "unshare")
    (tmp_path / "etc/drbd.d").mkdir(parents=True)
    # as Debian ships it, minus global_common.conf: includes resolve relative to this file
    (tmp_path / "etc/drbd.conf").write_text('include "drbd.d/*.res";\n')
    return tmp_path


@pytest.fixture
def loop_disk(tmp_path: Path):
    """A 64 MiB loop device standing in for /dev/md3 (internal metadata lives at its end)."""
    require_tools("losetup")
    image = tmp_path / "md3.img"
    with open(image, "wb") as f:
        f.truncate(64 * 1024 * 1024)
    dev = sh("losetup", "-f", "--show", str(image)).strip()
    try:
        yield dev
    finally:
        subprocess.run(["losetup", "-d", dev], capture_output=True)


def seed_args(**extra) -> dict:
    """r1 of the seed: /dev/drbd1 on /dev/md3, peers on eth1, protocol C, resource-level fencing."""
    return {
        "name": "r1",
        "device": "/dev/drbd1",
        "disk": "/dev/md3",
        "nodes": [
            {"name": "node1", "address": "10.0.1.1", "node_id": 0},
            {"name": "node2", "address": "10.0.1.2", "node_id": 1},
        ],
        "create_md": False,
        "up": False,
        **extra,
    }


def files(root: Path):
    return lambda: {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_resource_file_full_cycle_validated_by_drbdadm(root: Path):
    runner = hostname_runner("node1", root=root)
    applied = assert_full_cycle("drbd.resource", seed_args(), runner, files(root))
    assert "+resource r1 {" in applied.changes["diff"]
    # the file on disk is what the real drbdadm parses as the seed's resource
    dump = runner.run(["drbdadm", "-c", str(root / "etc/drbd.conf"), "dump", "r1"])
    assert dump.ok, dump.stderr
    for expected in ("protocol", "fencing", "resource-only", "crm-fence-peer.9.sh", "crm-unfence-peer.9.sh",
                     "10.0.1.2:7789", "/dev/md3", "minor 1"):
        assert expected in dump.stdout, expected


def test_resource_bad_input_refused_before_anything_is_written(root: Path):
    runner = hostname_runner("node1", root=root)
    snap = files(root)
    assert_refused("drbd.resource", seed_args(protocoll="C"), runner, snap, match="protocoll")
    assert_refused("drbd.resource", seed_args(nodes=[{"name": "node1", "address": "10.0.1.300", "node_id": 0},
                                                     {"name": "node2", "address": "10.0.1.2", "node_id": 1}]),
                   runner, snap, match="address")
    assert_refused("drbd.resource", seed_args(device="/dev/sda1"), runner, snap, match="not a DRBD device")
    assert_refused("drbd.resource", seed_args(disk="/dev/../etc/passwd"), runner, snap, match="block device")
    assert_refused("drbd.resource", seed_args(protocol="Z"), runner, snap, match="protocol")


def test_resource_for_another_host_is_refused_by_drbdadm_dump(root: Path):
    """drbdadm itself rejects a resource without an `on` section for this host (node3)."""
    res = assert_refused("drbd.resource", seed_args(), hostname_runner("node3", root=root), files(root),
                         match="drbdadm dump rejects")
    assert "not defined in your config (for this host)" in res.comment


def test_metadata_created_once_on_a_real_block_device(root: Path, loop_disk: str):
    runner = hostname_runner("node1", root=root)
    args = seed_args(disk=loop_disk, create_md=True)
    md_probe = ["drbdadm", "-c", str(root / "etc/drbd.conf"), "dump-md", "r1"]

    def snapshot():
        probe = runner.run(md_probe)
        return files(root)(), probe.rc, "No valid meta data found" in probe.stderr

    before = run("drbd.resource", args, runner, test=True)
    assert before.result is None and before.changes["metadata"] == "created"
    applied = assert_full_cycle("drbd.resource", args, runner, snapshot)
    assert applied.changes["metadata"] == "created"
    assert runner.run(md_probe).ok  # the real drbdmeta now finds v09 metadata
    assert "create DRBD metadata" not in run("drbd.resource", args, runner).comment


def test_metadata_not_created_over_a_missing_disk(root: Path):
    res = assert_refused("drbd.resource", seed_args(disk="/dev/saline-no-such-disk", create_md=True),
                         hostname_runner("node1", root=root), files(root), match="cannot read the DRBD metadata")
    assert "/dev/saline-no-such-disk" in res.comment


def _dry_run(runner, step: CommandStep) -> str:
    argv = [step.argv[0], "-d", *step.argv[1:]]
    result = runner.run(argv)
    assert result.ok, result.stderr
    return result.stdout


def test_planned_up_and_primary_commands_checked_by_drbdadm_dry_run(root: Path):
    """The argv the states plan, run with ``drbdadm -d``: drbdadm prints the drbdsetup and
    drbdmeta calls it would make for the seed's resource."""
    runner = hostname_runner("node1", root=root)
    assert run("drbd.resource", seed_args(), runner).result is True
    conf = str(root / "etc/drbd.conf")
    args = ResourceArgs.model_validate(seed_args(create_md=True, up=True))
    content = (root / "etc/drbd.d/r1.res").read_text()
    facts = ResourceFacts(config_file=conf, kernel=True, status=None, file_text=content, metadata="absent")
    steps = resource(args, facts).steps
    assert [s.argv[3] for s in steps] == ["create-md", "up"]
    assert _dry_run(runner, steps[0]).split() == "drbdmeta 1 v09 /dev/md3 internal create-md 1".split()
    up = _dry_run(runner, steps[1]).splitlines()
    assert up[:4] == [
        "drbdsetup new-resource r1 0",
        "drbdsetup new-minor r1 1 0",
        "drbdsetup new-peer r1 1 --_name=node2 --fencing=resource-only --protocol=C",
        "drbdsetup new-path r1 1 ipv4:10.0.1.1:7789 ipv4:10.0.1.2:7789",
    ]
    assert "drbdsetup attach 1 /dev/md3 /dev/md3 internal" in up and up[-1] == "drbdsetup connect r1 1"

    live = LiveFacts(config_file=conf, kernel=True, status=ResourceStatus(name="r1", role="Secondary"))
    promote = role(RoleArgs(name="r1", role="primary", config="/etc/drbd.conf"), live).steps
    assert _dry_run(runner, promote[0]).strip() == "drbdsetup primary r1"


def test_live_states_fail_clearly_without_the_kernel_module(root: Path):
    if os.path.exists("/proc/drbd"):
        pytest.skip("this kernel has DRBD loaded")
    runner = hostname_runner("node1", root=root)
    for fun, args in (("drbd.role", {"name": "r1", "role": "primary"}), ("drbd.healthy", {"name": "r1"}),
                      ("drbd.resource", seed_args(up=True))):
        res = run(fun, args, runner)
        assert res.result is False and "kernel module is not available" in res.comment, res


def _dopd_root(root: Path) -> Path:
    (root / "sbin").mkdir()
    for name in ("drbdsetup", "drbdmeta"):
        (root / "sbin" / name).write_bytes(b"\x7fELF stand-in")
        os.chmod(root / "sbin" / name, 0o755)
    (root / "etc/drbd.d/global_common.conf").write_text("global { usage-count no; }\n")
    os.chmod(root / "etc/drbd.d/global_common.conf", 0o600)
    os.chmod(root / "etc/drbd.d", 0o700)
    return root


def _modes(root: Path):
    def snap():
        out = {}
        for p in sorted(root.rglob("*")):
            st = p.stat()
            out[str(p.relative_to(root))] = (stat.S_IMODE(st.st_mode), st.st_gid)
        return out
    return snap


def _group() -> str:
    try:
        return grp.getgrnam("haclient").gr_name
    except KeyError:
        return "daemon"  # the cluster stack is not installed: any non-root group shows the change


def test_dopd_permissions_full_cycle(root: Path):
    _dopd_root(root)
    runner = hostname_runner("node1", root=root)
    group = _group()
    gid = grp.getgrnam(group).gr_gid
    applied = assert_full_cycle("drbd.dopd_permissions", {"name": "dopd", "group": group}, runner, _modes(root))
    modes = _modes(root)()
    assert modes["sbin/drbdsetup"] == (0o4754, gid) and modes["sbin/drbdmeta"] == (0o4754, gid)
    assert modes["etc/drbd.conf"] == (0o644, gid)
    assert modes["etc/drbd.d"] == (0o750, gid) and modes["etc/drbd.d/global_common.conf"] == (0o640, gid)
    assert applied.changes["/sbin/drbdsetup"]["mode"] == {"old": "0755", "new": "4754"}


def test_dopd_permissions_refused_for_unknown_group_or_missing_binary(root: Path):
    _dopd_root(root)
    runner = hostname_runner("node1", root=root)
    assert_refused("drbd.dopd_permissions", {"name": "dopd", "group": "saline-no-such-group"}, runner, _modes(root),
                   match="does not exist")
    assert_refused("drbd.dopd_permissions", {"name": "dopd", "group": _group(), "binaries": ["/sbin/drbdsetup", "/sbin/nope"]},
                   runner, _modes(root), match="/sbin/nope")


OVERRIDE_84 = {"DRBD_DRIVER_VERSION_OVERRIDE": "8.4.11"}


def seed_args_84(**extra) -> dict:
    """r1 as the seed's DRBD 8.4 cluster has it: no node-id."""
    return seed_args(nodes=[{"name": "node1", "address": "10.0.1.1"}, {"name": "node2", "address": "10.0.1.2"}],
                     drbd_version="8.4", **extra)


def test_84_resource_full_cycle_validated_by_drbdadm_84(root: Path):
    runner = hostname_runner("node1", root=root)
    assert_full_cycle("drbd.resource", seed_args_84(), runner, files(root))
    assert "DRBD 8.4: drbd_version: 8.4 set on the state" in run("drbd.resource", seed_args_84(), runner).comment
    text = (root / "etc/drbd.d/r1.res").read_text()
    assert "node-id" not in text and "    disk {\n        fencing resource-only;" in text
    # the 8.4 handlers, at the paths the installed drbd-utils has them
    assert 'fence-peer "/usr/lib/drbd/crm-fence-peer.sh";' in text
    assert 'after-resync-target "/usr/lib/drbd/crm-unfence-peer.sh";' in text
    conf = str(root / "etc/drbd.conf")
    as_84 = runner.run(["drbdadm", "-c", conf, "dump", "r1"], env=OVERRIDE_84)
    assert as_84.ok, as_84.stderr
    # DRBD 9's drbdadm does not read it, and drbdadm-84 does not read DRBD 9's file: the syntax matters
    assert not runner.run(["drbdadm", "-c", conf, "dump", "r1"]).ok
    nine = runner.run(["drbdadm", "-c", "-", "dump", "r1"], env=OVERRIDE_84,
                      input=render_resource(ResourceArgs.model_validate(seed_args()), "9"))
    assert not nine.ok and "fencing" in nine.stderr


def test_84_planned_commands_checked_by_drbdadm_84_dry_run(root: Path):
    runner = hostname_runner("node1", root=root)
    assert run("drbd.resource", seed_args_84(), runner).result is True
    content = (root / "etc/drbd.d/r1.res").read_text()
    facts = ResourceFacts(config_file=str(root / "etc/drbd.conf"), kernel=True, status=None, file_text=content,
                          metadata="absent", syntax="8.4", handlers=None)
    a = ResourceArgs.model_validate(seed_args_84(create_md=True, up=True,
                                                 handlers={"fence-peer": "/usr/lib/drbd/crm-fence-peer.sh",
                                                           "after-resync-target": "/usr/lib/drbd/crm-unfence-peer.sh"}))
    steps = resource(a, facts).steps
    assert [s.argv[3] for s in steps] == ["create-md", "up"] and steps[1].env == OVERRIDE_84
    up = runner.run([steps[1].argv[0], "-d", *steps[1].argv[1:]], env=steps[1].env)
    assert up.ok, up.stderr
    # drbdsetup-84 syntax: a minor attached with its disk options, then connect with the net options
    assert "drbdsetup-84 attach 1 /dev/md3 /dev/md3 internal --fencing=resource-only" in up.stdout
    assert "drbdsetup-84 connect r1 ipv4:10.0.1.1:7789 ipv4:10.0.1.2:7789 --protocol=C" in up.stdout


def test_dopd_handler_without_the_heartbeat_package_is_refused(root: Path):
    if subprocess.run(["dpkg-query", "-S", "*/drbd-peer-outdater"], capture_output=True).returncode == 0:
        pytest.skip("heartbeat is installed here")
    runner = hostname_runner("node1", root=root)
    assert_refused("drbd.resource", seed_args_84(fence_peer="dopd"), runner, files(root), "Debian package heartbeat")


def test_dopd_with_drbd_9_is_refused(root: Path):
    runner = hostname_runner("node1", root=root)
    assert_refused("drbd.resource", seed_args(fence_peer="dopd"), runner, files(root), "dopd is for DRBD 8.4")


def test_a_hand_written_84_file_that_means_the_same_is_left_alone(root: Path):
    """The seed's r1 as an admin (or LCMC) wrote it for DRBD 8.4: other layout, protocol at
    the resource level, per-host device lines. drbdadm-84 dumps it like saline's file: no change."""
    runner = hostname_runner("node1", root=root)
    res = root / "etc/drbd.d/r1.res"
    res.write_text(
        "resource r1 {\n  protocol C;\n  disk { fencing resource-only; }\n"
        '  handlers {\n    fence-peer "/usr/lib/drbd/crm-fence-peer.sh";\n'
        '    after-resync-target "/usr/lib/drbd/crm-unfence-peer.sh";\n  }\n'
        "  on node1 {\n    device /dev/drbd1;\n    disk /dev/md3;\n    address 10.0.1.1:7789;\n    meta-disk internal;\n  }\n"
        "  on node2 {\n    device /dev/drbd1;\n    disk /dev/md3;\n    address 10.0.1.2:7789;\n    meta-disk internal;\n  }\n}\n")
    before = files(root)()
    for test in (True, False):
        result = run("drbd.resource", seed_args_84(), runner, test=test)
        assert result.result is True and result.changes == {}, result
    assert files(root)() == before
    # A real difference (protocol A) is still written.
    changed = run("drbd.resource", seed_args_84(protocol="A"), runner)
    assert changed.result is True and "protocol A;" in res.read_text()
