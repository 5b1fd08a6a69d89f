"""lxc.* with real busybox containers, offline, in a network namespace with a br0.

What is real here: lxc-create (busybox template), lxc-start/stop/wait/info/attach, the
veth on br0, the memory limit in the container's cgroup, the MAC inside the container,
cibadmin on a CIB file for the Pacemaker-ownership checks.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from saline.states.system.lxc import fixed_hwaddr
from tests.harness import assert_full_cycle, assert_refused, run
from tests.real.loopdev import loops, lvm_env  # noqa: F401
from tests.real.lxcnet import LxcNet, lxc_net  # noqa: F401

pytestmark = pytest.mark.real

MEMORY = 64 * 1024**2


def present_args(net: LxcNet, name: str = "bb1", **extra) -> dict:
    return {"name": name, "lxcpath": str(net.lxcpath), "template": "busybox", "link": "br0", "memory": "64M", **extra}


def config_of(net: LxcNet, name: str = "bb1") -> str | None:
    path = net.lxcpath / name / "config"
    return path.read_text() if path.exists() else None


def state_of(net: LxcNet, name: str = "bb1") -> str:
    return net.runner().run(["lxc-info", "-P", str(net.lxcpath), "-n", name, "-s", "-H"]).stdout.strip()


def memory_limit(net: LxcNet, name: str) -> int:
    pid = net.run("lxc-info", "-P", str(net.lxcpath), "-n", name, "-p", "-H").strip()
    cgroup = next(line.split(":", 2)[2] for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines()
                  if line.split(":")[1] == "memory")
    return int(Path(f"/sys/fs/cgroup/memory{cgroup}/memory.limit_in_bytes").read_text())


def test_container_created_started_limited_and_kept_converged(lxc_net: LxcNet):
    net, runner = lxc_net, lxc_net.runner()
    created = assert_full_cycle("lxc.present", present_args(net), runner, lambda: config_of(net))
    assert created.changes["created"] == "bb1"
    assert "lxc.net.0.hwaddr = " + fixed_hwaddr("bb1") in config_of(net)

    assert_full_cycle("lxc.running", {"name": "bb1", "lxcpath": str(net.lxcpath)}, runner, lambda: state_of(net))
    assert state_of(net) == "RUNNING"
    assert memory_limit(net, "bb1") == MEMORY
    mac = net.run("lxc-attach", "-P", str(net.lxcpath), "-n", "bb1", "--", "cat", "/sys/class/net/eth0/address").strip()
    assert mac == fixed_hwaddr("bb1")
    assert net.run("ip", "-o", "link", "show", "master", "br0").count("veth") == 1

    # A hand edit of a managed key is drift: --test shows it, apply fixes it; an operator's
    # own key and a comment survive; blanks and order are not drift.
    config = net.lxcpath / "bb1" / "config"
    text = config.read_text().replace(f"lxc.net.0.hwaddr = {fixed_hwaddr('bb1')}", "lxc.net.0.hwaddr   =   02:00:00:00:00:01")
    config.write_text("# operator note\nlxc.environment = SITE=lab\n" + text)
    dry = run("lxc.present", present_args(net), runner, test=True)
    assert dry.result is None and dry.changes["keys"] == ["lxc.net.0.hwaddr"], dry
    assert "applies at its next start" in dry.changes["restart_needed"]  # it runs: saline does not restart it
    assert "02:00:00:00:00:01" in config.read_text()
    fixed = run("lxc.present", present_args(net), runner)
    assert fixed.result is True and "+lxc.net.0.hwaddr = " + fixed_hwaddr("bb1") in fixed.changes["diff"], fixed
    after = config.read_text()
    assert "# operator note\nlxc.environment = SITE=lab\n" in after and "02:00:00:00:00:01" not in after
    config.write_text("\n".join(sorted(after.splitlines(), reverse=True)).replace(" = ", "=") + "\n")
    assert run("lxc.present", present_args(net), runner, test=True).changes == {}

    assert_full_cycle("lxc.stopped", {"name": "bb1", "lxcpath": str(net.lxcpath), "timeout": 5}, runner, lambda: state_of(net))
    assert state_of(net) == "STOPPED"


def test_bad_input_and_missing_container_are_refused(lxc_net: LxcNet):
    net, runner = lxc_net, lxc_net.runner()
    nothing = lambda: sorted(p.name for p in net.lxcpath.iterdir())  # noqa: E731
    assert_refused("lxc.present", present_args(net, hwaddr="01:00:5e:00:00:01"), runner, nothing, "multicast")
    assert_refused("lxc.present", present_args(net, name="-rf"), runner, nothing, "not a container name")
    assert_refused("lxc.present", present_args(net, config={"lxc.utsname": "x"}), runner, nothing, "lxc.utsname")
    assert_refused("lxc.running", {"name": "nope", "lxcpath": str(net.lxcpath)}, runner, nothing, "does not exist")


def test_pacemaker_owned_container_is_left_to_pacemaker(lxc_net: LxcNet):
    net, runner = lxc_net, lxc_net.runner()
    primitive = ('<primitive id="res_lxc_bb2" class="ocf" provider="heartbeat" type="lxc"><instance_attributes id="res_lxc_bb2-ia">'
                 '<nvpair id="res_lxc_bb2-c" name="container" value="bb2"/></instance_attributes></primitive>')
    subprocess.run(["cibadmin", "--create", "-o", "resources", "-X", primitive], check=True,
                   env={"CIB_file": str(net.cib_file), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    assert_refused("lxc.present", present_args(net, "bb2", start_auto=True), runner, lambda: config_of(net, "bb2"), "res_lxc_bb2")
    made = run("lxc.present", present_args(net, "bb2"), runner)
    assert made.result is True, made.comment
    assert "lxc.start.auto = 0" in config_of(net, "bb2")
    for fun in ("lxc.running", "lxc.stopped"):
        res = assert_refused(fun, {"name": "bb2", "lxcpath": str(net.lxcpath)}, runner, lambda: state_of(net, "bb2"), "pacemaker.primitive")
        assert "res_lxc_bb2" in res.comment
    assert state_of(net, "bb2") == "STOPPED"


def test_config_converted_full_cycle_and_unknown_keys_refused(tmp_path: Path):
    from saline.states.engine.runner import Runner
    from tests.paths import FIXTURES

    config = tmp_path / "lxc1/www/config"
    config.parent.mkdir(parents=True)
    config.write_text((FIXTURES / "lxc/seed-openvz-www.conf").read_text())
    runner = Runner(root=tmp_path)
    args = {"name": "/lxc1/www/config", "cgroup": "v1"}
    applied = assert_full_cycle("lxc.config_converted", args, runner, config.read_text)
    assert applied.changes["renamed"]["lxc.utsname"] == "lxc.uts.name"
    assert "# /dev/null\n" in config.read_text()  # comments stay where they were
    config.write_text((FIXTURES / "lxc/lxc07-unknown.conf").read_text())
    assert_refused("lxc.config_converted", args, runner, config.read_text, "lxc.mystery.option")


def test_lvm_backed_container_planned_against_real_lvm_metadata(loops, lvm_env, tmp_path: Path):
    """LVs cannot be activated here: the planned lxc-create -B lvm argv is checked against a
    real VG (isolated LVM config, as lvm.* tests), and an LV already in the way is refused."""
    from saline.states.engine.runner import Runner
    from tests.real.disksnap import lvm_snapshot

    disk = loops(64)
    env = lvm_env([disk])
    for argv in (["pvcreate", disk], ["vgcreate", "vg_node1", disk]):
        subprocess.run(argv, env=env, check=True, capture_output=True)
    runner = Runner(root=tmp_path, env=env)
    (tmp_path / "lxc1").mkdir()
    args = {"name": "www", "lxcpath": "/lxc1", "template": "debian", "backing": "lvm", "vgname": "vg_node1", "size": "32M"}
    dry = run("lxc.present", args, runner, test=True)
    assert dry.result is None, dry.comment
    assert "create container www in /lxc1 (lvm backing, 32M LV vg_node1/www)" in dry.comment
    assert dry.changes["keys"]["lxc.rootfs.path"] == "lvm:/dev/vg_node1/www"
    subprocess.run(["lvcreate", "-n", "www", "-L", "8M", "--activate", "n", "--zero", "n", "vg_node1"], env=env, check=True, capture_output=True)
    assert_refused("lxc.present", args, runner, lvm_snapshot(env), "already exists")


def test_facts_items_lists_the_containers(lxc_net: LxcNet, tmp_path: Path):
    """facts.items (the agent function) with the state root at a temp dir holding the seed's /lxc1."""
    from saline.agent.functions import FunctionContext, load_functions

    net = lxc_net
    assert run("lxc.present", present_args(net), net.runner()).result is True
    seed_root = tmp_path / "root"
    (seed_root / "lxc1").mkdir(parents=True)
    (seed_root / "lxc1/www").symlink_to(net.lxcpath / "bb1")
    facts = load_functions()["facts.items"].run(None, FunctionContext(agent_id="n1", version="t", settings={"state_root": str(seed_root)}))
    assert facts["id"] == "n1"
    www = next(c for c in facts["containers"] if c["name"] == "www")
    assert www["config"] == "/lxc1/www/config" and www["hwaddr"] == fixed_hwaddr("bb1")
    assert www["rootfs"] == f"dir:{net.lxcpath}/bb1/rootfs" and www["state"] == "STOPPED"


def test_seed_openvz_example_config_converted_starts_a_container(lxc_net: LxcNet):
    """The seed's LXC 0.7 example config, converted, runs a real (busybox) container: 32-bit
    personality from lxc.arch = x86, its memory limit in the cgroup, its device rules."""
    from saline.states.system.lxcconf import LxcConfig
    from saline.states.system.lxcconvert import convert
    from tests.paths import FIXTURES

    net = lxc_net
    net.run("lxc-create", "-P", str(net.lxcpath), "-n", "www", "-t", "busybox")
    converted = convert(LxcConfig.parse((FIXTURES / "lxc/seed-openvz-www.conf").read_text())).config
    converted.set("lxc.rootfs.path", f"dir:{net.lxcpath}/www/rootfs")  # the seed's /dev/vg_XX/www is not here
    (net.lxcpath / "www/config").write_text(converted.render())
    net.run("lxc-start", "-P", str(net.lxcpath), "-n", "www")
    net.run("lxc-wait", "-P", str(net.lxcpath), "-n", "www", "-s", "RUNNING", "-t", "10")
    assert net.run("lxc-attach", "-P", str(net.lxcpath), "-n", "www", "--", "uname", "-m").strip() in ("i686", "i386")
    assert memory_limit(net, "www") == 512 * 1024**2
    assert net.run("lxc-attach", "-P", str(net.lxcpath), "-n", "www", "--", "hostname").strip() == "www"


def test_config_space_of_a_filesystem_resource_must_be_mounted_here(lxc_net: LxcNet, tmp_path: Path):
    """The seed's /lxc1 is an empty directory on the node where its Filesystem resource does
    not run: lxc.present refuses there, and plans normally once it is mounted."""
    net, runner = lxc_net, lxc_net.runner()
    space = tmp_path / "lxc1"
    space.mkdir()
    primitive = ('<primitive id="fs_1" class="ocf" provider="heartbeat" type="Filesystem"><instance_attributes id="fs_1-ia">'
                 f'<nvpair id="fs_1-dir" name="directory" value="{space}"/></instance_attributes></primitive>')
    subprocess.run(["cibadmin", "--create", "-o", "resources", "-X", primitive], check=True,
                   env={"CIB_file": str(net.cib_file), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    args = {**present_args(net), "lxcpath": str(space)}
    assert_refused("lxc.present", args, runner, lambda: sorted(space.iterdir()), "not mounted on this node")
    subprocess.run(["mount", "-t", "tmpfs", "saline-test-lxc1", str(space)], check=True)
    try:
        dry = run("lxc.present", args, runner, test=True)
        assert dry.result is None and dry.changes["created"] == "bb1", dry
    finally:
        subprocess.run(["umount", str(space)], check=True)
