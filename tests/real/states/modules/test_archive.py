"""archive.extracted with GNU tar on archives made here with tarfile, into a temp root: node
paths and salt:// sources (through the compiler, as a job carries them), ownership from the
root's own account files, and archives crafted to escape the destination."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from saline.states.engine.runner import Runner
from tests.harness import assert_full_cycle, assert_refused, run
from tests.paths import FIXTURES

pytestmark = pytest.mark.real


def make_tar(path: Path, members: list[tuple], mode: str = "w:gz") -> Path:
    """members: (name, kind, data_or_linkname) with kind file, dir, sym, hard, chr."""
    with tarfile.open(path, mode) as tar:
        for name, kind, extra in members:
            info = tarfile.TarInfo(name)
            info.mtime = 1_700_000_000
            if kind == "file":
                info.size, info.mode = len(extra), 0o644
                tar.addfile(info, io.BytesIO(extra))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE,
                         "chr": tarfile.CHRTYPE}[kind]
            info.mode = 0o755
            if kind in ("sym", "hard"):
                info.linkname = extra
            tar.addfile(info)
    return path


APP = [("app-1.0", "dir", None), ("app-1.0/bin", "dir", None), ("app-1.0/bin/run", "file", b"#!/bin/sh\necho hi\n"),
       ("app-1.0/README", "file", b"hello\n"), ("app-1.0/current", "sym", "bin/run")]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    node = tmp_path / "root"
    (node / "etc").mkdir(parents=True)
    (node / "srv").mkdir()
    for name in ("passwd", "group"):
        shutil.copy(FIXTURES / "accounts" / name, node / "etc" / name)
    return node


def tree(path: Path) -> dict:
    return {str(p.relative_to(path)): (p.lstat().st_uid, p.lstat().st_gid,
                                       p.read_bytes() if p.is_file() and not p.is_symlink() else None)
            for p in sorted(path.rglob("*"))} if path.exists() else {}


def test_extract_from_the_node_with_hash_and_ownership(root: Path) -> None:
    archive = make_tar(root / "srv/app-1.0.tar.gz", APP)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    runner, snap = Runner(root=root), lambda: tree(root / "opt")
    args = {"name": "/opt/apps", "source": "/srv/app-1.0.tar.gz", "source_hash": f"sha256={digest}",
            "user": "fred", "group": "ops"}
    made = assert_full_cycle("archive.extracted", args, runner, snap)
    assert made.changes == {"directories_created": ["/opt/apps/"], "updated ownership": True,
                            "extracted_files": ["app-1.0", "app-1.0/bin", "app-1.0/bin/run", "app-1.0/README",
                                                "app-1.0/current"]}
    app = root / "opt/apps/app-1.0"
    assert (app / "bin/run").read_bytes() == b"#!/bin/sh\necho hi\n" and (app / "current").readlink() == Path("bin/run")
    assert {(st.st_uid, st.st_gid) for st in (p.lstat() for p in app.rglob("*"))} == {(2001, 3000)}  # the root's fred:ops

    # a file the archive holds is removed: extracted again; ownership drift alone: chown only
    (app / "README").unlink()
    again = run("archive.extracted", args, runner)
    assert again.result is True and "extracted_files" in again.changes
    subprocess.run(["chown", "-h", "0:0", str(app / "current")], check=True)
    assert run("archive.extracted", args, runner).changes == {"updated ownership": True}
    assert run("archive.extracted", {**args, "if_missing": "/opt/apps/app-1.0"}, runner).comment == \
        "Path /opt/apps/app-1.0 exists"

    assert_refused("archive.extracted", {**args, "source_hash": "sha256=" + "0" * 64}, runner, snap,
                   "does not match the desired source_hash")
    assert_refused("archive.extracted", {**args, "source": "/srv/nope.tgz"}, runner, snap, "does not exist")
    assert_refused("archive.extracted", {**args, "user": "nobody-here"}, runner, snap, "User nobody-here does not exist")
    assert_refused("archive.extracted", {**args, "options": "--to-command=sh"}, runner, snap, "is not supported")
    assert_refused("archive.extracted", {**args, "source": "https://example.com/a.tgz"}, runner, snap,
                   "fetch it onto the node first")


def test_toplevel_strip_components_and_salt_source(root: Path, tmp_path: Path) -> None:
    bomb = make_tar(root / "srv/bomb.tar", [("a.txt", "file", b"a\n"), ("b", "dir", None), ("b/c", "file", b"c\n")],
                    mode="w")
    runner, snap = Runner(root=root), lambda: tree(root / "opt")
    assert_refused("archive.extracted", {"name": "/opt/x", "source": "/srv/bomb.tar"}, runner, snap,
                   "does not have a single top-level directory")
    flat = assert_full_cycle("archive.extracted", {"name": "/opt/x", "source": "/srv/bomb.tar",
                                                   "enforce_toplevel": False}, runner, snap)
    assert sorted(flat.changes["extracted_files"]) == ["a.txt", "b", "b/c"]
    make_tar(root / "srv/app.tgz", APP)
    stripped = assert_full_cycle("archive.extracted", {"name": "/opt/app", "source": "/srv/app.tgz", "trim_output": 2,
                                                       "options": "z --strip-components=1", "enforce_toplevel": False},
                                 runner, snap)
    assert stripped.changes["extracted_files"] == ["app-1.0", "app-1.0/bin"]  # trim_output
    assert sorted(p.name for p in (root / "opt/app").iterdir()) == ["README", "bin", "current"]

    # salt://: the master's compiler puts the file in the job; `saline call` runs the same compiler
    states = tmp_path / "states"
    (states / "files").mkdir(parents=True)
    make_tar(states / "files/app.tar.xz", APP, mode="w:xz")
    (states / "app.sls").write_text("/opt/from-master:\n  archive.extracted:\n    - source: salt://files/app.tar.xz\n")
    out = subprocess.run([sys.executable, "-m", "saline.states.call", "--root", str(root), "--json", str(states), "app"],
                         capture_output=True, text=True)
    result = json.loads(out.stdout)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "app-1.0/bin/run" in json.dumps(result)
    assert (root / "opt/from-master/app-1.0/README").read_bytes() == b"hello\n"
    assert [p.name for p in (root / "opt/from-master").iterdir()] == ["app-1.0"]  # the job's copy was removed


@pytest.mark.parametrize("members, match", [
    ([("app/../../etc/evil", "file", b"x")], "outside the destination"),
    ([("/etc/evil", "file", b"x")], "outside the destination"),
    ([("app", "dir", None), ("app/lnk", "sym", "/etc")], "symlink to '/etc'"),
    ([("app", "dir", None), ("app/up", "sym", "../../outside")], "outside the destination"),
    ([("app", "dir", None), ("app/lnk", "sym", "."), ("app/lnk/x", "file", b"x")], "beneath the symlink member"),
    ([("app", "dir", None), ("app/h", "hard", "/etc/shadow")], "hard link"),
    ([("app", "dir", None), ("app/null", "chr", None)], "device or FIFO"),
])
def test_hostile_archives_are_refused(root: Path, tmp_path: Path, members, match) -> None:
    make_tar(root / "srv/evil.tgz", members)
    runner = Runner(root=root)
    snap = lambda: (tree(root), tree(tmp_path / "outside"))  # noqa: E731
    assert_refused("archive.extracted", {"name": "/opt/x", "source": "/srv/evil.tgz", "enforce_toplevel": False},
                   runner, snap, match)


def test_a_planted_symlink_in_the_destination_is_not_extracted_through(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    make_tar(root / "srv/app.tgz", APP)
    (root / "opt/apps").mkdir(parents=True)
    (root / "opt/apps/app-1.0").symlink_to(outside)
    runner = Runner(root=root)
    assert_refused("archive.extracted", {"name": "/opt/apps", "source": "/srv/app.tgz"}, runner,
                   lambda: (tree(root / "opt"), tree(outside)), "app-1.0 under /opt/apps is a symlink")
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("members", [
    # each link alone stays inside, but 'l2' is '.', so 'l1' climbs one level more than it says
    [("app", "dir", None), ("app/l2", "sym", "."), ("app/l1", "sym", "l2/../../outside")],
    [("app", "dir", None), ("app/l2", "sym", "."), ("app/l3", "sym", "l2/../.."), ("app/h", "hard", "app/l3/x")],
])
def test_a_link_that_climbs_through_another_link_is_refused(root: Path, tmp_path: Path, members) -> None:
    make_tar(root / "srv/evil.tgz", members)
    runner = Runner(root=root)
    assert_refused("archive.extracted", {"name": "/opt/x", "source": "/srv/evil.tgz"}, runner,
                   lambda: tree(root / "opt"), "'..' after a name may climb out")


def _checked_then_swapped(root: Path, args: dict, swap) -> None:
    """Facts and plan, every step before the extraction, ``swap()`` (what a local user who can
    write the archive, or the destination its copy is written to, could do meanwhile), then
    the extraction: it must fail, saying why."""
    from saline.states.engine.apply import lookup, run_steps, validate_args
    from tests.harness import ctx

    context = ctx(Runner(root=root))
    fn = lookup("archive.extracted")
    parsed = validate_args(fn, args)
    plan = fn.plan(parsed, fn.facts(parsed, context))
    extract = next(i for i, step in enumerate(plan.steps) if step.description.startswith("Extract"))
    run_steps(plan.steps[:extract], context)
    swap()
    with pytest.raises(Exception, match="changed after it was checked"):
        run_steps(plan.steps[extract:], context)


EVIL = APP[:2] + [("app-1.0/bin/run", "file", b"#!/bin/sh\nid\n")]


def test_an_archive_swapped_after_it_was_checked_is_not_extracted(root: Path, tmp_path: Path) -> None:
    archive = make_tar(root / "srv/app.tgz", APP)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    evil = make_tar(tmp_path / "evil.tgz", EVIL)
    _checked_then_swapped(root, {"name": "/opt/apps", "source": "/srv/app.tgz", "source_hash": f"sha256={digest}"},
                          lambda: evil.replace(archive))
    assert not (root / "opt/apps/app-1.0").exists()


def test_the_jobs_copy_of_a_salt_archive_swapped_in_the_destination_is_not_extracted(root: Path, tmp_path: Path) -> None:
    import base64

    data = make_tar(tmp_path / "app.tgz", APP).read_bytes()
    evil = make_tar(tmp_path / "evil.tgz", EVIL)
    dest = root / "opt/apps"

    def swap() -> None:  # the destination's owner (user: fred makes it fred's) replaces the job's copy
        copies = list(dest.glob(".saline-archive-*"))
        assert len(copies) == 1
        evil.replace(copies[0])

    _checked_then_swapped(root, {"name": "/opt/apps", "source": "salt://app.tgz", "user": "fred",
                                 "source_data": base64.b64encode(data).decode()}, swap)
    assert not (dest / "app-1.0").exists()
