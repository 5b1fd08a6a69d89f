"""lxc.* plans from facts: the LV-backed creation argv, cgroup v1/v2 limits, Pacemaker ownership."""

from __future__ import annotations

import sys

import pytest
from pydantic import ValidationError

from saline.states.engine.base import Refuse
from saline.states.modules import lxc
from saline.states.system.lxc import PacemakerOwner, fixed_hwaddr
from tests.paths import FIXTURES

SEED_ARGS = {"name": "www", "lxcpath": "/lxc1", "template": "debian", "backing": "lvm", "vgname": "vg_node1",
             "size": "4G", "memory": "512M", "swap": "256M", "cpu_shares": 512, "arch": "x86"}


def facts(text: str | None = None, cgroup: str = "v1", owner: str | None = None) -> lxc.PresentFacts:
    return lxc.PresentFacts(config_text=text, config_host_path="/lxc1/www/config", cgroup=cgroup,
                            owner=PacemakerOwner(resource=owner, source="live") if owner else None)


def test_seed_lvm_container_is_created_with_lxc_create_b_lvm():
    args = lxc.PresentArgs(**SEED_ARGS)
    plan = lxc.present(args, facts())
    create, configure = plan.steps
    # the seed: lxc-create -n www -B lvm --lvname www --vgname vg_node1 --fstype ext4 --fssize 4GB
    assert create.argv == ["lxc-create", "-P", "/lxc1", "-n", "www", "-t", "debian", "-B", "lvm", "--vgname", "vg_node1",
                           "--lvname", "www", "--fstype", "ext4", "--fssize", "4GB"]
    assert configure.argv == [sys.executable, "-m", "saline.states.system.lxcconf", "/lxc1/www/config"]
    keys = plan.changes["keys"]
    assert keys["lxc.rootfs.path"] == "lvm:/dev/vg_node1/www"
    assert keys["lxc.net.0.hwaddr"] == fixed_hwaddr("www") and keys["lxc.net.0.link"] == "br0"
    assert keys["lxc.cgroup.memory.limit_in_bytes"] == "512M" and keys["lxc.cgroup.memory.memsw.limit_in_bytes"] == "768M"
    assert keys["lxc.arch"] == "x86"


def test_limits_follow_the_hosts_cgroup_version():
    args = lxc.PresentArgs(**SEED_ARGS)
    v1_text = "lxc.uts.name = www\nlxc.cgroup.memory.limit_in_bytes = 512M\nlxc.cgroup.cpu.shares = 512\n"
    plan = lxc.present(args, facts(v1_text, cgroup="v2"))
    assert "-lxc.cgroup.memory.limit_in_bytes = 512M" in plan.changes["diff"]
    assert "+lxc.cgroup2.memory.max = 512M" in plan.changes["diff"]
    assert "+lxc.cgroup2.cpu.weight = 50" in plan.changes["diff"]


def test_pacemaker_owned_container_gets_start_auto_off_and_refuses_autostart():
    plan = lxc.present(lxc.PresentArgs(**SEED_ARGS), facts(owner="res_lxc_www"))
    assert plan.changes["keys"]["lxc.start.auto"] == "0"
    with pytest.raises(Refuse, match="res_lxc_www"):
        lxc.present(lxc.PresentArgs(**SEED_ARGS, start_auto=True), facts(owner="res_lxc_www"))


def test_existing_lv_without_container_is_refused():
    from saline.states.system.lvm import LV

    f = facts()
    f.lv = LV(lv_name="www", vg_name="vg_node1", lv_size=4 * 1024**3, lv_attr="-wi-------")
    with pytest.raises(Refuse, match="already exists"):
        lxc.present(lxc.PresentArgs(**SEED_ARGS), f)


@pytest.mark.parametrize("bad", [{"backing": "lvm", "size": None}, {"swap": "1G", "memory": None}, {"hwaddr": "zz"},
                                 {"config": {"lxc.network.type": "veth"}}, {"name": "../x"}])
def test_bad_arguments(bad):
    with pytest.raises(ValidationError):
        lxc.PresentArgs(**{**SEED_ARGS, **bad})


def test_config_converted_plans_the_seed_config_and_names_unknown_keys():
    seed = (FIXTURES / "lxc/seed-openvz-www.conf").read_text()
    plan = lxc.config_converted(lxc.ConvertedArgs(name="/lxc1/www/config"), lxc.ConvertedFacts(text=seed, cgroup="v1"))
    assert plan.changes["renamed"] == {"lxc.utsname": "lxc.uts.name", "lxc.tty": "lxc.tty.max", "lxc.pts": "lxc.pty.max",
                                       "lxc.rootfs": "lxc.rootfs.path"}
    assert "+lxc.uts.name = www" in plan.changes["diff"]
    unknown = (FIXTURES / "lxc/lxc07-unknown.conf").read_text()
    with pytest.raises(Refuse, match="lxc.mystery.option"):
        lxc.config_converted(lxc.ConvertedArgs(name="/x"), lxc.ConvertedFacts(text=unknown, cgroup="v1"))


def _volume_facts(nodes: list[str], failed: bool = False, managed: bool = True):
    from saline.states.modules import lxc_volume
    from saline.states.modules.fs import Ext4Geometry, GrownFacts
    from saline.states.system.blkid import BlockContent
    from saline.states.system.pcmk_status import ResourceStatus

    fs = GrownFacts(content=BlockContent(device="/dev/vg_node2/www", exists=True, tags={"TYPE": "ext4"}), mounted_at=[],
                    device_size=8 * 1024**3, geometry=Ext4Geometry(block_count=262144, block_size=4096))
    rsc = ResourceStatus(id="res_lxc_www", role="Started" if nodes else "Stopped", active=bool(nodes), failed=failed,
                         managed=managed, blocked=False, nodes=nodes)
    return lxc_volume.VolumeFacts(resource=rsc, node="node2", target_role=None, fs=fs)


def test_volume_grown_plan_is_the_seeds_recipe_wrapped_in_a_pacemaker_stop_and_start():
    from saline.states.modules import lxc_volume

    plan = lxc_volume.volume_grown(lxc_volume.VolumeArgs(name="res_lxc_www", device="/dev/vg_node2/www"), _volume_facts(["node2"]))
    argvs = [s.argv for s in plan.steps]
    assert argvs[0] == ["crm_resource", "--resource", "res_lxc_www", "--meta", "--set-parameter", "target-role", "--parameter-value", "Stopped"]
    assert argvs[1][:2] == ["crm_resource", "--wait"] and argvs[2][-2:] == ["stopped", "res_lxc_www"]
    assert argvs[3] == ["e2fsck", "-f", "-p", "/dev/vg_node2/www"] and argvs[4] == ["resize2fs", "-p", "/dev/vg_node2/www"]
    assert [s.argv for s in plan.cleanup][0] == ["crm_resource", "--resource", "res_lxc_www", "--meta", "--delete-parameter", "target-role"]


@pytest.mark.parametrize("facts_kw, match", [({"nodes": ["node1"]}, "runs on node1"), ({"nodes": ["node2"], "failed": True}, "failed"),
                                             ({"nodes": ["node2"], "managed": False}, "unmanaged")])
def test_volume_grown_refusals(facts_kw, match):
    from saline.states.modules import lxc_volume

    with pytest.raises(Refuse, match=match):
        lxc_volume.volume_grown(lxc_volume.VolumeArgs(name="res_lxc_www", device="/dev/vg_node2/www"), _volume_facts(**facts_kw))


@pytest.mark.parametrize("bad", [{"cpus": "0\nlxc.hook.start = /tmp/x"}, {"mount_entries": ["a b none bind 0 0\nlxc.hook.pre-start = /x"]},
                                 {"config": {"lxc.environment": ["A=1\rB"]}}, {"link": "br0 extra"}, {"template": "-x"}])
def test_values_cannot_smuggle_config_lines_or_options(bad):
    with pytest.raises(ValidationError):
        lxc.PresentArgs(**{**SEED_ARGS, **bad})


def test_existing_container_is_never_pointed_at_another_rootfs():
    text = "lxc.uts.name = www\nlxc.rootfs.path = dir:/var/lib/lxc/www/rootfs\n"
    with pytest.raises(Refuse, match="does not move a container's rootfs"):
        lxc.present(lxc.PresentArgs(**SEED_ARGS), facts(text))
    # The same LV, written without its type prefix (as lxc.config_converted leaves it), is no drift.
    plain = "lxc.rootfs.path = /dev/vg_node1/www\n"
    assert "lxc.rootfs.path" not in lxc.present(lxc.PresentArgs(**SEED_ARGS), facts(plain)).changes["keys"]


def test_without_a_template_saline_makes_the_lv_and_its_filesystem():
    """lxc-create -t none makes no rootfs at all (it ignores -B): the plan makes the storage."""
    from saline.states.system.blkid import BlockContent
    from saline.states.system.lvm import LV

    args = lxc.PresentArgs(**{**SEED_ARGS, "template": None})
    steps = [s.argv for s in lxc.present(args, facts()).steps]
    assert steps[:3] == [["lvcreate", "-n", "www", "-L", f"{4 * 1024**3}b", "vg_node1"], ["mkfs.ext4", "-q", "/dev/vg_node1/www"],
                         ["lxc-create", "-P", "/lxc1", "-n", "www", "-t", "none"]]
    # An LV left by an interrupted run: reused when blank or already formatted, refused otherwise.
    left = facts()
    left.lv = LV(lv_name="www", vg_name="vg_node1", lv_size=4 * 1024**3, lv_attr="-wi-a-----")
    left.lv_content = BlockContent(device="/dev/vg_node1/www", exists=True, tags={"TYPE": "ext4"})
    assert [s.argv[0] for s in lxc.present(args, left).steps] == ["lxc-create", sys.executable]
    left.lv_content = BlockContent(device="/dev/vg_node1/www", exists=True, tags={"TYPE": "xfs"})
    with pytest.raises(Refuse, match="not empty"):
        lxc.present(args, left)


def test_refused_where_the_lxcpath_filesystem_resource_is_not_mounted():
    f = facts()
    f.lxcpath_resource, f.lxcpath_mounted = "fs_1", False
    with pytest.raises(Refuse, match="mount point of Pacemaker resource fs_1 and is not mounted on this node"):
        lxc.present(lxc.PresentArgs(**SEED_ARGS), f)


def test_salts_path_argument_names_the_lxcpath():
    assert lxc.PresentArgs(name="www", path="/lxc1").config_path == "/lxc1/www/config"
    assert lxc.LifecycleArgs(name="www", path="/lxc1").lxcpath == "/lxc1"
