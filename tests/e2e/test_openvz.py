"""openvz.migrate through the real master and agent: allow-listed by the agent config,
arguments from `saline run` key=value words, the step report and exit code 2 on failure."""

from __future__ import annotations

import shutil

import pytest

from tests.paths import FIXTURES

pytestmark = pytest.mark.e2e


def test_migration_report_through_saline_run(deployment, tmp_path):
    private = tmp_path / "ovz/vz/private/105"
    private.mkdir(parents=True)
    (private / "data").write_bytes(b"x" * 65536)
    conf = tmp_path / "ovz/105.conf"
    shutil.copy(FIXTURES / "openvz/101.conf", conf)
    deployment.add_agent("node1", functions=["openvz.*"], state_root="/")
    deployment.accept("node1")
    words = ["ctid=105", "name=web5", "backing=dir", "size=16K", f"lxcpath={tmp_path / 'lxc'}", f"private={private}",
             f"veconf={conf}"]
    rc, job = deployment.cli_json("run", "node1", "openvz.migrate", *words)
    ret = job["returns"][0]
    assert rc == 2 and ret["success"] is False, job
    assert ret["data"]["steps"][0]["step"] == "check" and ret["data"]["steps"][0]["status"] == "failed"
    assert "choose a larger size" in ret["data"]["error"] and "run the same command again" in ret["data"]["error"]
    rc, job = deployment.cli_json("run", "node1", "openvz.migrate", "ctid=105", "name=web5", "vg=-bad", "size=4G")
    assert rc == 2 and "not a valid LVM name" in job["returns"][0]["error"], job
