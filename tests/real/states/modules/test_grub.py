"""grub.defaults on a temp root holding Debian 12's /etc/default/grub (fixture
tests/fixtures/file/grub.default, from grub2-common). The regenerate command is a real
command that leaves a mark, so "runs only when a key changed" is checked, not assumed."""

from __future__ import annotations

from pathlib import Path

import pytest

from saline.states.engine.runner import Runner
from tests.harness import assert_full_cycle, assert_refused, run
from tests.paths import FIXTURES

pytestmark = pytest.mark.real

DEBIAN_DEFAULT = FIXTURES / "file" / "grub.default"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "etc" / "default").mkdir(parents=True)
    # Ubuntu 12.04 shipped a 2 s timeout; the seed raises it to 5.
    text = DEBIAN_DEFAULT.read_text().replace("GRUB_TIMEOUT=5", "GRUB_TIMEOUT=2").replace("GRUB_DISABLE_OS_PROBER=true\n", "")
    (tmp_path / "etc" / "default" / "grub").write_text(text)
    return tmp_path


def test_seed_keys_full_cycle_and_update_only_on_change(root: Path, tmp_path: Path):
    marker = tmp_path / "update-grub-ran"
    grub = root / "etc" / "default" / "grub"
    args = {"settings": {"GRUB_TIMEOUT": 5, "GRUB_DISABLE_OS_PROBER": True, "GRUB_CMDLINE_LINUX": "console=ttyS0 quiet"}, "update_command": ["touch", str(marker)]}
    before = grub.read_text()
    applied = assert_full_cycle("grub.defaults", args, Runner(root=root), grub.read_text)
    assert applied.changes == {
        "GRUB_TIMEOUT": {"old": "2", "new": "5"},
        "GRUB_DISABLE_OS_PROBER": {"old": None, "new": "true"},
        "GRUB_CMDLINE_LINUX": {"old": "", "new": "console=ttyS0 quiet"},
    }
    after = grub.read_text()
    assert "GRUB_TIMEOUT=5\n" in after and 'GRUB_CMDLINE_LINUX="console=ttyS0 quiet"\n' in after
    assert after.endswith("GRUB_DISABLE_OS_PROBER=true\n")
    # Every other line is kept as it was.
    kept = [line for line in before.splitlines() if not line.startswith(("GRUB_TIMEOUT=", "GRUB_CMDLINE_LINUX="))]
    assert all(line in after.splitlines() for line in kept)
    # The update ran on the change; a re-apply (no change) does not run it again.
    assert marker.exists()
    marker.unlink()
    assert run("grub.defaults", args, Runner(root=root)).changes == {}
    assert not marker.exists()


def test_refusals(root: Path, tmp_path: Path):
    grub = root / "etc" / "default" / "grub"
    assert_refused("grub.defaults", {"settings": {"grub_timeout": 5}}, Runner(root=root), grub.read_text, "not GRUB variable names")
    assert_refused("grub.defaults", {"settings": {"GRUB_TIMEOUT": 5}, "timeout": 5}, Runner(root=root), grub.read_text, "timeout")
    empty = tmp_path / "empty-root"
    empty.mkdir()
    assert_refused("grub.defaults", {"settings": {"GRUB_TIMEOUT": 5}}, Runner(root=empty), lambda: sorted(empty.rglob("*")), "does not exist")


def test_a_failing_update_fails_the_state(root: Path):
    res = run("grub.defaults", {"settings": {"GRUB_TIMEOUT": 7}, "update_command": ["false"]}, Runner(root=root))
    assert res.result is False and "false" in res.comment
