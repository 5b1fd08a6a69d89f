"""Pure parts of the cluster lab: generated configs, node naming, the CLI surface."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from saline.lab.cli import lab as lab_cli
from saline.lab.lab import Lab, LabError, corosync_conf, seed_cib


def test_corosync_conf_has_nothing_after_open_brace_and_two_node_quorum():
    conf = corosync_conf("c1", {"node1": "10.77.0.1", "node2": "10.77.0.2"}, 1500)
    for line in conf.splitlines():
        if "{" in line:
            assert line.rstrip().endswith("{"), f"corosync rejects text after '{{': {line!r}"
    assert "two_node: 1" in conf and "transport: knet" in conf and "token: 1500" in conf
    assert "ring0_addr: 10.77.0.2" in conf and "nodeid: 2" in conf and "name: node1" in conf


def test_seed_cib_presets_dc_deadtime():
    root = ET.fromstring(seed_cib("3s"))
    nv = root.find(".//cluster_property_set/nvpair[@name='dc-deadtime']")
    assert nv is not None and nv.get("value") == "3s"
    assert root.get("validate-with") == "pacemaker-3.9"


def test_names_paths_and_nsenter_prefix(tmp_path):
    lab = Lab(state_dir=tmp_path / "lab", prefix="px")
    assert lab.netns("node2") == "px-node2"
    assert lab.cluster_addr("node1") == "10.77.0.1" and lab.public_addr("node2") == "10.78.0.2"
    assert lab.shared_dir == __import__("pathlib").Path("/var/lib/px")
    argv = lab.nsenter("node1")
    assert argv[0] == "nsenter" and argv[-1] == "--"
    assert f"--mount={tmp_path}/lab/ns/node1.mnt" in argv and "--net=/run/netns/px-node1" in argv
    # A NodeRunner maps node paths onto the node's private dirs.
    assert lab.runner("node1").path("/etc/corosync/corosync.conf") == tmp_path / "lab/node1/root/etc/corosync/corosync.conf"


def test_cli_rejects_unknown_node_without_touching_anything(tmp_path):
    res = CliRunner().invoke(lab_cli, ["--state-dir", str(tmp_path / "lab"), "--prefix", "px", "kill", "node3"])
    assert res.exit_code == 2 and "not a lab node" in res.output
    assert not (tmp_path / "lab").exists()


def test_cli_status_of_absent_lab(tmp_path):
    res = CliRunner().invoke(lab_cli, ["--state-dir", str(tmp_path / "lab"), "--prefix", "px-absent", "status"])
    assert res.exit_code == 0, res.output
    assert '"exists": false' in res.output and '"corosync": false' in res.output


def test_down_and_up_never_remove_directories_the_lab_did_not_create(tmp_path):
    """`--prefix pacemaker` means shared dir /var/lib/pacemaker: up (which downs first) and
    down used to rm -rf it, and any existing --state-dir."""
    state, shared = tmp_path / "state", tmp_path / "shared"
    for d in (state, shared):
        d.mkdir()
        (d / "precious").write_text("operator data")
    lab = Lab(state_dir=state, shared_dir=shared, prefix="px-notours")
    lab.down()
    with pytest.raises(LabError, match="not created by the lab"):
        lab.up()
    assert (state / "precious").read_text() == (shared / "precious").read_text() == "operator data"
    # Directories the lab made itself (marked) are removed by down.
    ours = Lab(state_dir=tmp_path / "ours", shared_dir=tmp_path / "ours-shared", prefix="px-ours")
    ours._own(ours.state_dir)
    ours._own(ours.shared_dir)
    ours.down()
    assert not ours.state_dir.exists() and not ours.shared_dir.exists()


def test_removing_the_state_dir_survives_a_file_that_vanishes_meanwhile(tmp_path, monkeypatch):
    """A node's last pacemaker write can remove a pe-input file between rmtree's listing and
    its unlink (seen in the demo test: FileNotFoundError 'pe-input-16.bz2'); down() goes on."""
    import os

    state = tmp_path / "state"
    (state / "node1/var/lib/pacemaker/pengine").mkdir(parents=True)
    (state / Lab.OWNED).touch()
    gone = state / "node1/var/lib/pacemaker/pengine/pe-input-16.bz2"
    gone.write_bytes(b"x")
    real_unlink = os.unlink

    def racing_unlink(path, *args, **kwargs):
        if str(path).endswith("pe-input-16.bz2") and gone.exists():
            real_unlink(gone)  # the daemon got there first
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", racing_unlink)
    Lab(state_dir=str(state), prefix="slx")._remove_owned(state)
    assert not state.exists()
