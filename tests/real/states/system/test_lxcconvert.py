"""The converter against the real ``lxc-update-config`` (LXC 5.0) on the same inputs, and
the converted configs against LXC's own config parser (``lxc-info -c`` loads the whole
config and refuses any key it does not know)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from saline.states.system.lxcconf import LxcConfig
from saline.states.system.lxcconvert import convert
from tests.paths import FIXTURES

pytestmark = pytest.mark.real

SAMPLES = sorted((FIXTURES / "lxc").glob("*.conf"))


def real_update_config(config: Path, tmp_path: Path) -> LxcConfig:
    work = tmp_path / "real"
    work.mkdir()
    shutil.copy(config, work / "config")
    subprocess.run(["lxc-update-config", "-c", str(work / "config")], check=True, cwd=work, capture_output=True)
    return LxcConfig.parse((work / "config").read_text())


def lxc_accepts(text: str, tmp_path: Path) -> subprocess.CompletedProcess:
    container = tmp_path / "parse" / "c"
    container.mkdir(parents=True)
    (container / "config").write_text(text)
    return subprocess.run(["lxc-info", "-P", str(container.parent), "-n", "c", "-c", "lxc.uts.name"], capture_output=True, text=True)


def _without_dir_prefix(items: dict) -> dict:
    # The one documented difference: lxc-update-config writes "dir:" before every old
    # lxc.rootfs (its backend detection only looks at the file's last line).
    path = items.get("lxc.rootfs.path")
    if isinstance(path, str):
        items["lxc.rootfs.path"] = path.split(":", 1)[1] if path.startswith(("dir:", "lvm:")) else path
    return items


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_same_keys_and_values_as_lxc_update_config(sample: Path, tmp_path: Path):
    if shutil.which("lxc-update-config") is None:
        pytest.skip("lxc-update-config not installed")
    mine = convert(LxcConfig.parse(sample.read_text()))
    real = real_update_config(sample, tmp_path)
    assert _without_dir_prefix(mine.config.items()) == _without_dir_prefix(real.items())


def test_seed_openvz_example_is_accepted_by_lxc_after_conversion(tmp_path: Path):
    if shutil.which("lxc-info") is None:
        pytest.skip("lxc not installed")
    original = (FIXTURES / "lxc/seed-openvz-www.conf").read_text()
    refused = lxc_accepts(original, tmp_path / "old")
    assert refused.returncode != 0  # LXC 5 refuses the seed's 0.7 keys as they are
    converted = convert(LxcConfig.parse(original))
    assert converted.unknown == []
    accepted = lxc_accepts(converted.config.render(), tmp_path / "new")
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout.strip() == "lxc.uts.name = www"
    assert converted.config.get("lxc.rootfs.path") == "/dev/vg_XX/www"  # a block device, never "dir:/dev/…"


def test_unknown_keys_are_named_kept_and_refused_by_lxc_too(tmp_path: Path):
    converted = convert(LxcConfig.parse((FIXTURES / "lxc/lxc07-unknown.conf").read_text()))
    assert converted.unknown == ["lxc.net.0.ipv4.broadcast", "lxc.mystery.option"]
    assert "lxc.mystery.option" in converted.config.keys()
    for key in converted.unknown:
        single = lxc_accepts(f"lxc.uts.name = x\nlxc.net.0.type = veth\n{key} = 1\n", tmp_path / key)
        assert single.returncode != 0, f"LXC accepted {key}, saline calls it unknown"


def test_cgroup_v2_conversion_is_accepted_by_lxc(tmp_path: Path):
    converted = convert(LxcConfig.parse((FIXTURES / "lxc/seed-openvz-www.conf").read_text()), cgroup="v2")
    items = converted.config.items()
    assert items["lxc.cgroup2.memory.max"] == "512M"
    assert items["lxc.cgroup2.memory.swap.max"] == "256M"  # memsw 768M - memory 512M
    assert items["lxc.cgroup2.cpu.weight"] == "50"  # 512 of the default 1024 → 50 of the default 100
    assert items["lxc.cgroup2.devices.deny"] == ["a"] and "c 136:* rwm" in items["lxc.cgroup2.devices.allow"]
    assert not [k for k in items if k.startswith("lxc.cgroup.")]
    accepted = lxc_accepts(converted.config.render(), tmp_path)
    assert accepted.returncode == 0, accepted.stderr
