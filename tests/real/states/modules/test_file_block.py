"""file.blockreplace against a real temp root: full cycle, backup, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from saline.states.engine.runner import Runner
from tests.harness import assert_full_cycle, assert_refused
from tests.real.states.modules.test_file import tree_snapshot

pytestmark = pytest.mark.real

HOSTS = "127.0.0.1 localhost\n# BEGIN cluster\n10.0.0.9 stale\n# END cluster\n"
BLOCK = {"name": "/etc/hosts", "marker_start": "# BEGIN cluster", "marker_end": "# END cluster",
         "content": "10.0.0.1 node1\n10.0.0.2 node2"}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/hosts").write_text(HOSTS)
    (tmp_path / "etc/hosts").chmod(0o640)
    return tmp_path


def test_block_full_cycle_keeps_the_old_file_as_bak(root):
    applied = assert_full_cycle("file.blockreplace", BLOCK, Runner(root=root), tree_snapshot(root))
    assert (root / "etc/hosts").read_text() == \
        "127.0.0.1 localhost\n# BEGIN cluster\n10.0.0.1 node1\n10.0.0.2 node2\n# END cluster\n"
    assert (root / "etc/hosts.bak").read_text() == HOSTS
    assert (root / "etc/hosts").stat().st_mode & 0o777 == 0o640  # the file's own mode is kept
    assert applied.changes["diff"].startswith("--- \n+++ \n") and "-10.0.0.9 stale\n" in applied.changes["diff"]


def test_block_appended_without_backup_and_changes_hidden(root):
    args = {"name": "/etc/hosts", "content": "secret", "append_if_not_found": True, "backup": False,
            "show_changes": False}
    applied = assert_full_cycle("file.blockreplace", args, Runner(root=root), tree_snapshot(root))
    assert applied.changes == {"diff": True}
    assert (root / "etc/hosts").read_text().endswith("#-- start managed zone --\nsecret\n#-- end managed zone --\n")
    assert not (root / "etc/hosts.bak").exists()


@pytest.mark.parametrize("args, match", [
    ({"name": "/etc/hosts", "content": "x"}, "Markers were not found"),
    ({"name": "/etc/nothere", "content": "x", "append_if_not_found": True}, "file not found"),
    ({"name": "/etc", "content": "x", "append_if_not_found": True}, "not a regular file"),
    ({"name": "/etc/hosts", "content": "x", "append_if_not_found": True, "prepend_if_not_found": True}, "Only one of"),
    ({"name": "/etc/hosts", "content": "x", "source": "salt://hosts"}, "import_text"),
])
def test_block_refusals(root, args, match):
    assert_refused("file.blockreplace", args, Runner(root=root), tree_snapshot(root), match)


def test_unterminated_block_is_refused(root):
    (root / "etc/hosts").write_text("# BEGIN cluster\nno end\n")
    assert_refused("file.blockreplace", BLOCK, Runner(root=root), tree_snapshot(root), "Unterminated")
