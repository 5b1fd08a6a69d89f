"""A template renders the same through the master and with ``saline call`` (issue #12.11):
``grains['id']`` and Salt's other grain names come from the same gatherer on both paths."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e

GRAINS = ["id", "saline_version", "os", "os_family", "osfinger", "oscodename", "osmajorrelease", "osarch",
          "host", "fqdn", "num_cpus", "mem_total", "init", "kernel"]
SLS = "/etc/grains.txt:\n  file.managed:\n    - contents: |\n" + "".join(
    f"        {g}={{{{ grains['{g}'] }}}}\n" for g in GRAINS) + "        ipv4={{ grains['ipv4'] | join(',') }}\n"


def test_grains_render_the_same_masterless_and_through_the_master(deployment, tmp_path):
    d = deployment
    d.add_agent("node1")
    d.accept("node1")
    (d.base / "states").mkdir()
    (d.base / "states" / "grains.sls").write_text(SLS)
    (d.agent_dirs["node1"] / "root/etc").mkdir()
    rc, job = d.cli_json("apply", "node1", "grains")
    assert rc == 0, job
    through_master = (d.agent_dirs["node1"] / "root/etc/grains.txt").read_text()

    local_root = tmp_path / "local-root"
    (local_root / "etc").mkdir(parents=True)
    proc = subprocess.run([sys.executable, "-m", "saline.states.call", "--root", str(local_root), "--id", "node1",
                           str(d.base / "states"), "grains"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    masterless = (local_root / "etc/grains.txt").read_text()

    assert masterless == through_master
    assert "id=node1\n" in masterless and "os_family=Debian\n" in masterless and "osfinger=Debian-12\n" in masterless


def test_salt_day_one_functions_through_the_master(deployment):
    d = deployment
    d.add_agent("node1", functions=["test.*", "grains.*", "sys.*", "cmd.*"])
    d.accept("node1")
    rc, job = d.cli_json("run", "node1", "grains.get", "os_family")
    assert rc == 0 and job["returns"][0]["data"] == "Debian", job
    rc, job = d.cli_json("run", "node1", "cmd.run", "echo hi")
    assert rc == 0 and job["returns"][0]["data"] == "hi", job
    rc, job = d.cli_json("run", "node1", "sys.list_functions")
    assert rc == 0 and "grains.get" in job["returns"][0]["data"] and "state.apply" not in job["returns"][0]["data"]
    rc, job = d.cli_json("run", "node1", "pkg.version", "bash")
    assert rc != 0, "pkg.* is not in this agent's allow-list"
