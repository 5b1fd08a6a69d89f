"""drbd plans from facts: the pure planners fed with facts models (status parsed from the
real fixtures in tests/fixtures/drbd/, see test_mod_drbd_parse.py for their sources)."""

from __future__ import annotations

import pytest

from saline.states.engine.base import Refuse
from saline.states.modules.drbd import (
    DopdArgs, DopdFacts, LiveFacts, PathAttrs, ResourceArgs, ResourceFacts, ResourceNamed, RoleArgs,
    dopd_permissions, healthy, render_resource, resource, role,
)
from saline.states.system.drbd import ResourceStatus, parse_events2
from tests.unit.states.system.test_drbd import load

CONF = "/etc/drbd.conf"


def args(**extra) -> ResourceArgs:
    return ResourceArgs.model_validate({
        "name": "r1", "device": "/dev/drbd1", "disk": "/dev/md3",
        "nodes": [{"name": "node1", "address": "10.0.1.1", "node_id": 0},
                  {"name": "node2", "address": "10.0.1.2", "node_id": 1}],
        **extra,
    })


def facts(**extra) -> ResourceFacts:
    return ResourceFacts.model_validate({"config_file": CONF, "kernel": True, "file_text": None, **extra})


def status(fixture: str) -> ResourceStatus:
    return next(iter(parse_events2(load(fixture)).values()))


def test_new_resource_is_written_then_metadata_then_up():
    plan = resource(args(), facts(metadata="absent"))
    assert [s.kind for s in plan.steps] == ["write", "cmd", "cmd"]
    assert plan.steps[0].path == "/etc/drbd.d/r1.res"
    assert plan.steps[1].argv == ["drbdadm", "-c", CONF, "create-md", "r1"] and plan.steps[1].stdin == ""
    assert plan.steps[2].argv == ["drbdadm", "-c", CONF, "up", "r1"]
    assert set(plan.changes) == {"diff", "metadata", "up"}


def test_existing_metadata_is_never_recreated():
    plan = resource(args(), facts(file_text=render_resource(args()), metadata="present"))
    assert [s.argv[3] for s in plan.steps] == ["up"]


def test_running_resource_in_sync_with_its_file_needs_nothing():
    a = args()
    plan = resource(a, facts(file_text=render_resource(a), status=status("events2_connected_primary.txt")))
    assert plan.empty


def test_running_resource_with_pending_adjust_is_adjusted():
    a = args()
    pending = ["drbdsetup net-options r1 1 --protocol=C"]
    plan = resource(a, facts(file_text=render_resource(a), status=status("events2_connected_primary.txt"),
                             adjust_pending=pending))
    assert [s.argv for s in plan.steps] == [["drbdadm", "-c", CONF, "adjust", "r1"]]
    assert plan.changes == {"adjust": pending}


def test_changed_file_of_a_running_resource_is_written_then_adjusted():
    plan = resource(args(), facts(file_text="resource r1 { old }\n", status=status("events2_connected_primary.txt")))
    assert [s.kind for s in plan.steps] == ["write", "cmd"] and plan.steps[1].argv[3] == "adjust"


def test_drbdadm_rejection_refuses_before_writing():
    with pytest.raises(Refuse, match="drbdadm dump rejects.*not defined"):
        resource(args(), facts(candidate_error="'r1' not defined in your config (for this host)."))


def test_no_kernel_module_refuses_live_work_but_file_only_is_fine():
    with pytest.raises(Refuse, match="kernel module is not available"):
        resource(args(), facts(kernel=False, kernel_error="Failed to modprobe drbd", metadata="present"))
    plan = resource(args(up=False, create_md=False), facts(kernel=False))
    assert [s.kind for s in plan.steps] == ["write"]


def test_rendered_file_has_the_seed_fencing():
    text = render_resource(args())
    assert "fencing resource-only;" in text and "protocol C;" in text
    assert 'fence-peer "/usr/lib/drbd/crm-fence-peer.9.sh";' in text
    assert 'after-resync-target "/usr/lib/drbd/crm-unfence-peer.9.sh";' in text


@pytest.mark.parametrize("bad", [
    {"handlers": {"fence-peer": "/x\"; rm -rf /"}},
    {"nodes": [{"name": "node1", "address": "10.0.1.1", "node_id": 0},
               {"name": "node2", "address": "10.0.1.2", "node_id": 0}]},
    {"name": "r1 r2"},
    {"meta_disk": "elsewhere"},
])
def test_bad_arguments_are_rejected_by_the_model(bad):
    with pytest.raises(ValueError):
        args(**bad)


def live(fixture: str | None, role_name: str | None = None) -> LiveFacts:
    st = status(fixture) if fixture else None
    if st is not None and role_name:
        st.role = role_name
    return LiveFacts(config_file=CONF, kernel=True, status=st)


def test_role_promotes_a_secondary_and_leaves_a_primary():
    plan = role(RoleArgs(name="some-resource", role="primary"), live("events2_syncsource.txt"))
    assert plan.steps[0].argv == ["drbdadm", "-c", CONF, "primary", "some-resource"]
    assert plan.changes == {"role": {"old": "Secondary", "new": "Primary"}}
    assert role(RoleArgs(name="some-resource", role="primary"), live("events2_connected_primary.txt")).empty


def test_role_refuses_when_the_resource_is_down():
    with pytest.raises(Refuse, match="not up"):
        role(RoleArgs(name="r1", role="secondary"), live(None))


def test_healthy_passes_connected_uptodate_and_names_what_is_wrong_otherwise():
    ok = healthy(ResourceNamed(name="some-resource"), live("events2_connected_primary.txt"))
    assert ok.empty and "Connected" in ok.comment
    with pytest.raises(Refuse, match="SyncSource 37.50% done"):
        healthy(ResourceNamed(name="some-resource"), live("events2_syncsource.txt"))
    with pytest.raises(Refuse, match="StandAlone"):
        healthy(ResourceNamed(name="some-resource"), live("events2_standalone_helper.txt"))


def test_dopd_plan_sets_group_first_and_setuid_without_other_execute():
    f = DopdFacts(
        group_exists=True,
        binaries={"/sbin/drbdsetup": PathAttrs(mode=0o755, group="root", is_dir=False)},
        config={"/etc/drbd.conf": PathAttrs(mode=0o644, group="haclient", is_dir=False),
                "/etc/drbd.d": PathAttrs(mode=0o700, group="root", is_dir=True)},
        missing=[],
    )
    plan = dopd_permissions(DopdArgs(name="dopd"), f)
    assert [(s.path, s.group, s.mode) for s in plan.steps] == [
        ("/sbin/drbdsetup", "haclient", 0o4754), ("/etc/drbd.d", "haclient", 0o750)]
    assert "/etc/drbd.conf" not in plan.changes  # already group haclient and g+r


def dopd_path() -> str:
    """Where Debian 12's heartbeat package puts dopd's client (its .deb file list)."""
    line = next(l for l in load("heartbeat_deb_dopd_files.txt").splitlines() if l.endswith("drbd-peer-outdater"))
    return line.split()[-1].lstrip(".")


def test_84_syntax_fencing_in_disk_no_node_id_and_the_84_handlers():
    handlers = {"fence-peer": "/usr/lib/drbd/crm-fence-peer.sh", "after-resync-target": "/usr/lib/drbd/crm-unfence-peer.sh"}
    text = render_resource(args(), "8.4", handlers)
    assert "node-id" not in text and ".9.sh" not in text
    assert "    disk {\n        fencing resource-only;\n    }" in text
    assert "    net {\n        protocol C;\n    }" in text
    plan = resource(args(), facts(syntax="8.4", handlers=handlers, kernel_version="8.4.11", metadata="absent"))
    assert plan.steps[0].content.decode() == text
    assert all(s.env == {"DRBD_DRIVER_VERSION_OVERRIDE": "8.4.11"} for s in plan.steps[1:])


def test_dopd_handler_path_comes_from_the_package():
    path = dopd_path()
    assert path == "/usr/libexec/heartbeat/drbd-peer-outdater"
    text = render_resource(args(fence_peer="dopd"), "8.4", {"fence-peer": path + " -t 5"})
    assert f'fence-peer "{path} -t 5";' in text


def test_missing_handler_package_or_node_ids_refused():
    with pytest.raises(Refuse, match="heartbeat"):
        resource(args(fence_peer="dopd"), facts(syntax="8.4", handler_problem="no installed package provides "
                                                "drbd-peer-outdater (drbd-peer-outdater: Debian package heartbeat)"))
    no_ids = args(nodes=[{"name": "node1", "address": "10.0.1.1"}, {"name": "node2", "address": "10.0.1.2"}])
    with pytest.raises(Refuse, match="DRBD 9 needs node_id"):
        resource(no_ids, facts(syntax="9"))
    assert "node-id" not in resource(no_ids, facts(syntax="8.4", handlers={})).steps[0].content.decode()


def test_a_file_that_means_the_same_is_not_rewritten():
    a = args()
    same = facts(file_text="resource r1 { hand-written }\n", same_meaning=True, metadata="present",
                 status=status("events2_connected_primary.txt"))
    assert resource(a, same).empty
    differs = facts(file_text="resource r1 { hand-written }\n", metadata="present", status=status("events2_connected_primary.txt"))
    assert [s.kind for s in resource(a, differs).steps] == ["write", "cmd"]
