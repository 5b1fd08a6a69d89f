"""openvz.migrate against a fake OpenVZ host on local disk, into a real busybox container.

The "OpenVZ host" is a private area (a busybox root filesystem with the Debian guest's
inittab and venet interfaces), its ve.conf, and a stand-in ``vzctl`` that does what the
real one does to those files (``stop`` marks the container stopped, ``set --onboot no
--save`` rewrites ONBOOT in ve.conf) and can be told to fail. rsync, lxc-create,
lxc-start/stop and the container are real; the container runs in the network namespace
with br0 of tests/real/lxcnet.py. ``backing: dir`` because LVs cannot be activated here
(the LV-backed argv is checked in tests/unit/agent/test_openvz.py).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from saline.agent.openvz.args import MigrateArgs
from saline.agent.openvz.runbook import Migration
from saline.states.system.lxc import fixed_hwaddr
from tests.paths import FIXTURES
from tests.real.loopdev import loops, lvm_env  # noqa: F401
from tests.real.lxcnet import LxcNet, lxc_net  # noqa: F401

pytestmark = pytest.mark.real

FAKE_VZCTL = """#!/usr/bin/env python3
# Stand-in for vzctl on the fake OpenVZ host (see the test module).
import pathlib, re, sys
here = pathlib.Path(sys.argv[0]).resolve().parent.parent
verb, ctid = sys.argv[1], sys.argv[2]
if (here / f"fail-{verb}").exists():
    sys.exit(f"Container {ctid} is locked")
if verb == "stop":
    (here / "vz" / f"{ctid}.running").unlink(missing_ok=True)
    print(f"Container {ctid} was stopped")
elif verb == "set" and sys.argv[3:] == ["--onboot", "no", "--save"]:
    conf = here / "etc/vz/conf" / f"{ctid}.conf"
    conf.write_text(re.sub(r'^ONBOOT=.*$', 'ONBOOT="no"', conf.read_text(), flags=re.M))
    print("Saved parameters for CT", ctid)
else:
    sys.exit(f"fake vzctl: unsupported {sys.argv[1:]}")
"""


@pytest.fixture
def openvz(tmp_path: Path, lxc_net: LxcNet) -> Path:
    """A fake OpenVZ host under tmp_path/ovz: private area 101 (busybox rootfs), ve.conf, vzctl."""
    host = tmp_path / "ovz"
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    subprocess.run(["lxc-create", "-P", str(scratch), "-n", "tpl", "-t", "busybox"], check=True, capture_output=True)
    private = host / "vz/private/101"
    private.parent.mkdir(parents=True)
    shutil.move(str(scratch / "tpl/rootfs"), private)
    subprocess.run(["lxc-destroy", "-P", str(scratch), "-n", "tpl"], capture_output=True)
    (private / "etc/network").mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURES / "openvz/interfaces", private / "etc/network/interfaces")
    shutil.copy(FIXTURES / "openvz/inittab", private / "etc/inittab")
    (private / "srv/www").mkdir(parents=True)
    (private / "srv/www/index.html").write_text("v1\n")
    (private / "srv/www/old.html").write_text("deleted before the final pass\n")
    conf = host / "etc/vz/conf/101.conf"
    conf.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / "openvz/101.conf", conf)
    (host / "vz/101.running").touch()
    vzctl = host / "bin/vzctl"
    vzctl.parent.mkdir()
    vzctl.write_text(FAKE_VZCTL)
    vzctl.chmod(vzctl.stat().st_mode | stat.S_IXUSR)
    return host


def migration(net: LxcNet, host: Path, tmp_path: Path, **extra) -> Migration:
    args = MigrateArgs(ctid=101, name="www", backing="dir", lxcpath=str(net.lxcpath), private=str(host / "vz/private/101"),
                       veconf=str(host / "etc/vz/conf/101.conf"), vzctl=str(host / "bin/vzctl"), **extra)
    return Migration(args, net.runner(), tmp_path / "agent-state")


def rewrite_in_the_same_second(path: Path, text: str) -> None:
    """Same size, same whole second as the copy the live pass made, other nanoseconds: what a
    busy service does. rsync's default (whole seconds) took such a file for unchanged."""
    live = path.stat()
    path.write_text(text)
    second, ns = divmod(live.st_mtime_ns, 10**9)
    os.utime(path, ns=(live.st_atime_ns, second * 10**9 + (ns + 5 * 10**8) % 10**9))


def statuses(report: list[dict]) -> dict[str, str]:
    return {r["step"]: r["status"] for r in report}


def test_migration_fails_between_the_passes_and_resumes(lxc_net: LxcNet, openvz: Path, tmp_path: Path):
    net, host = lxc_net, openvz
    (host / "fail-stop").touch()
    finished, report, failure = migration(net, host, tmp_path).run_all()
    assert not finished and failure.startswith("stop_source: ") and "locked" in failure
    assert statuses(report) == {"check": "done", "create": "done", "copy_live": "done", "stop_source": "failed"}
    rootfs = net.lxcpath / "www/rootfs"
    assert (rootfs / "srv/www/index.html").read_text() == "v1\n"
    assert (host / "vz/101.running").exists()  # the source still runs
    recorded = json.loads((tmp_path / "agent-state/openvz/www.json").read_text())
    assert recorded["done"] == ["check", "create", "copy_live"] and recorded["target_started"] is False

    # The source keeps changing until it is stopped: the final pass carries that over.
    rewrite_in_the_same_second(host / "vz/private/101/srv/www/index.html", "v2\n")
    (host / "vz/private/101/srv/www/old.html").unlink()
    (host / "fail-stop").unlink()
    resumed = migration(net, host, tmp_path)
    finished, report, failure = resumed.run_all()
    assert finished, failure
    assert statuses(report) == {"check": "done before", "create": "done before", "copy_live": "done before",
                                "stop_source": "done", "copy_final": "done", "source_autostart_off": "done",
                                "guest_fixes": "done", "test_start": "done"}
    assert not (host / "vz/101.running").exists()
    assert 'ONBOOT="no"' in (host / "etc/vz/conf/101.conf").read_text()
    assert (rootfs / "srv/www/index.html").read_text() == "v2\n" and not (rootfs / "srv/www/old.html").exists()
    interfaces = (rootfs / "etc/network/interfaces").read_text()
    assert "venet0" not in interfaces and "auto eth0:0" in interfaces
    assert "1:2345:respawn:/sbin/getty 38400 tty1" in (rootfs / "etc/inittab").read_text()
    config = (net.lxcpath / "www/config").read_text()
    for line in ("lxc.arch = x86", "lxc.cgroup.memory.limit_in_bytes = 512M", "lxc.cgroup.memory.memsw.limit_in_bytes = 768M",
                 "lxc.uts.name = www.example.com", f"lxc.net.0.hwaddr = {fixed_hwaddr('www')}", "lxc.net.0.link = br0"):
        assert line in config
    assert resumed.notes["not translated"] == "DEVNODES"
    assert net.runner().run(["lxc-info", "-P", str(net.lxcpath), "-n", "www", "-s", "-H"]).stdout.strip() == "STOPPED"

    finished, report, _ = migration(net, host, tmp_path).run_all()
    assert finished and set(statuses(report).values()) == {"done before"}


def test_never_copies_over_a_container_started_on_the_target(lxc_net: LxcNet, openvz: Path, tmp_path: Path):
    net, host = lxc_net, openvz
    (host / "fail-stop").touch()
    assert migration(net, host, tmp_path).run_all()[0] is False
    # Someone starts the half-migrated container by hand before the migration is resumed.
    net.run("lxc-start", "-P", str(net.lxcpath), "-n", "www")
    (host / "fail-stop").unlink()
    rewrite_in_the_same_second(host / "vz/private/101/srv/www/index.html", "v2\n")
    finished, report, failure = migration(net, host, tmp_path).run_all()
    assert not finished and "RUNNING" in failure and "refused" in failure
    assert (net.lxcpath / "www/rootfs/srv/www/index.html").read_text() == "v1\n"
    assert (host / "vz/101.running").exists(), "the source was stopped although the copy was refused"


def test_size_check_refuses_before_anything_is_made(lxc_net: LxcNet, openvz: Path, tmp_path: Path):
    net, host = lxc_net, openvz
    finished, report, failure = migration(net, host, tmp_path, size="1M").run_all()
    assert not finished and failure.startswith("check: ") and "choose a larger size" in failure
    assert list(net.lxcpath.iterdir()) == [] and not (tmp_path / "agent-state/openvz/www.json").exists()


def test_agent_function_reports_the_failed_step_and_how_to_resume(tmp_path: Path):
    from saline.agent.functions import FunctionContext, bind_args, load_functions

    fn = load_functions()["openvz.migrate"]
    private = tmp_path / "vz/private/102"
    private.mkdir(parents=True)
    (private / "data").write_bytes(b"x" * 65536)
    conf = tmp_path / "102.conf"
    shutil.copy(FIXTURES / "openvz/101.conf", conf)
    args = bind_args(fn, [], {"ctid": 102, "name": "web2", "backing": "dir", "size": "16K", "lxcpath": str(tmp_path / "lxc"),
                              "private": str(private), "veconf": str(conf)})
    result = fn.run(args, FunctionContext(agent_id="node1", version="test", settings={"state_dir": str(tmp_path / "state")}))
    assert result.success is False and result.retcode == 2
    assert result.data["steps"] == [{"step": "check", "status": "failed", "detail": result.data["steps"][0]["detail"]}]
    assert "choose a larger size" in result.data["error"] and "run the same command again" in result.data["error"]


def test_one_migration_per_target_and_a_stopped_job_resumes(tmp_path: Path):
    import fcntl
    import threading

    from saline.states.engine.runner import Runner

    private = tmp_path / "vz/private/103"
    private.mkdir(parents=True)
    conf = tmp_path / "103.conf"
    shutil.copy(FIXTURES / "openvz/101.conf", conf)
    args = MigrateArgs(ctid=103, name="web3", backing="dir", lxcpath=str(tmp_path / "lxc"), private=str(private), veconf=str(conf))
    state = tmp_path / "state"
    (state / "openvz").mkdir(parents=True)
    with open(state / "openvz/web3.lock", "w") as held:  # a first run of the same migration, still copying
        fcntl.flock(held, fcntl.LOCK_EX)
        finished, report, failure = Migration(args, Runner(), state).run_all()
    assert not finished and "another openvz.migrate of web3 is running" in failure
    stopped = threading.Event()
    stopped.set()
    finished, report, failure = Migration(args, Runner(), state, stopped).run_all()
    assert not finished and report == [{"step": "check", "status": "not run", "detail": "the job was stopped"}]
    assert not (state / "openvz/web3.json").exists()


def test_lv_backed_migration_as_far_as_this_kernel_goes(loops, lvm_env, tmp_path: Path):
    """backing lvm against a real VG (isolated LVM config, no device-mapper): the size check
    passes, the LV is created in the real metadata, mkfs then finds no /dev node (no
    activation here) and the step fails; a resume says to activate the LV, nothing else."""
    from saline.states.engine.runner import Runner

    disk = loops(64)
    env = lvm_env([disk])
    for argv in (["pvcreate", disk], ["vgcreate", "vg_node1", disk]):
        subprocess.run(argv, env=env, check=True, capture_output=True)
    private = tmp_path / "vz/private/104"
    private.mkdir(parents=True)
    (private / "data").write_bytes(b"x" * 4096)
    conf = tmp_path / "104.conf"
    shutil.copy(FIXTURES / "openvz/101.conf", conf)
    (tmp_path / "lxc").mkdir()
    args = MigrateArgs(ctid=104, name="www", vg="vg_node1", size="32M", lxcpath=str(tmp_path / "lxc"), private=str(private),
                       veconf=str(conf), staging=str(tmp_path / "mnt"))
    finished, report, failure = Migration(args, Runner(env=env), tmp_path / "state").run_all()
    assert not finished and statuses(report) == {"check": "done", "create": "failed"}
    assert "mkfs.ext4 -q /dev/vg_node1/www" in failure
    lvs = subprocess.run(["lvs", "--noheadings", "-o", "lv_name,lv_size", "--units", "b", "vg_node1"], env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    assert lvs == ["www", f"{32 * 1024**2}B"]
    finished, report, failure = Migration(args, Runner(env=env), tmp_path / "state").run_all()
    assert not finished and "activate it (lvchange -ay vg_node1/www)" in failure
    assert not (tmp_path / "lxc/www").exists()
