"""file.exists / file.missing on a real temp root: they pass or fail, and change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from saline.states.engine.runner import Runner
from tests.harness import assert_refused, run
from tests.real.states.modules.test_file import tree_snapshot

pytestmark = pytest.mark.real


def test_exists_and_missing(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/present").write_text("x\n")
    (tmp_path / "etc/dangling").symlink_to("/nowhere")
    runner, snap = Runner(root=tmp_path), tree_snapshot(tmp_path)
    before = snap()
    for test in (True, False):
        for fun, path in (("file.exists", "/etc/present"), ("file.exists", "/etc/dangling"), ("file.missing", "/etc/none")):
            ok = run(fun, {"name": path}, runner, test=test)
            assert ok.result is True and ok.changes == {}, (fun, path, ok)
    assert_refused("file.exists", {"name": "/etc/none"}, runner, snap, "Specified path /etc/none does not exist")
    assert_refused("file.missing", {"name": "/etc/present"}, runner, snap, "Specified path /etc/present exists")
    assert_refused("file.missing", {"name": "relative"}, runner, snap, "")
    assert snap() == before
