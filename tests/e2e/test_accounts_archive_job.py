"""group.present, user.present and archive.extracted from salt:// through a real master and
agent whose state_root is a container-like root: the archive travels in the signed job, the
accounts are the root's own (the shadow tools with --prefix), the host's are untouched."""

from __future__ import annotations

import io
import json
import shutil
import tarfile

import pytest

from tests.paths import FIXTURES

pytestmark = pytest.mark.e2e

SLS = """ops:
  group.present:
    - gid: 3100
app:
  user.present:
    - uid: 2100
    - groups: [ops]
    - home: /home/app
    - require: [{group: ops}]
/opt/app:
  archive.extracted:
    - source: salt://files/app.tar.gz
    - user: app
    - group: ops
    - require: [{user: app}]
"""


def test_accounts_and_archive_through_the_master(two_agents) -> None:
    d = two_agents
    states = d.base / "states"
    (states / "files").mkdir(parents=True)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in (("app-2.0/", None), ("app-2.0/run", b"#!/bin/sh\n")):
            info = tarfile.TarInfo(name.rstrip("/"))
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    (states / "files/app.tar.gz").write_bytes(buf.getvalue())
    (states / "app.sls").write_text(SLS)
    (d.base / "pillar").mkdir()
    root = d.agent_dirs["node1"] / "root"
    (root / "etc").mkdir(parents=True)
    (root / "home").mkdir()
    for name in ("passwd", "group", "shadow"):
        shutil.copy(FIXTURES / "accounts" / name, root / "etc" / name)
    (root / "etc/gshadow").write_text("")
    shutil.copy("/etc/login.defs", root / "etc/login.defs")
    host_passwd = open("/etc/passwd").read()

    r = d.cli("apply", "node1", "app", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    results = {s["id"]: s for s in json.loads(r.stdout)["returns"][0]["data"]["results"]}
    assert results["app"]["changes"]["uid"] == 2100 and results["app"]["changes"]["groups"] == ["app", "ops"]
    assert "app-2.0/run" in results["/opt/app"]["changes"]["extracted_files"]
    run = (root / "opt/app/app-2.0/run").lstat()
    assert (run.st_uid, run.st_gid) == (2100, 3100)
    assert "app:x:2100:" in (root / "etc/passwd").read_text() and open("/etc/passwd").read() == host_passwd

    r = d.cli("apply", "node1", "app", "--json")
    assert r.returncode == 0
    assert all(not s["changes"] for s in json.loads(r.stdout)["returns"][0]["data"]["results"])
