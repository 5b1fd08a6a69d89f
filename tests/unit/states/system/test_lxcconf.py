"""LXC config parsing and semantic comparison, on the seed's configs and lxc-create's output."""

from __future__ import annotations

import pytest

from saline.states.system.lxcconf import ConfigError, Desired, LxcConfig, apply_desired, drift
from tests.paths import FIXTURES

SEED = (FIXTURES / "lxc/seed-openvz-www.conf").read_text()


def test_values_as_lxc_reads_them():
    config = LxcConfig.parse(SEED)
    assert config.get("lxc.utsname") == "www"  # the seed's trailing blank is not part of it
    assert config.values("lxc.cgroup.devices.allow")[:2] == ["c 1:3 rwm", "c 1:5 rwm"]
    assert config.values("lxc.cap.drop") == ["sys_admin"]
    assert LxcConfig.parse('lxc.uts.name = "bb1"\n').get("lxc.uts.name") == "bb1"
    assert LxcConfig.parse("lxc.cap.drop = a b\nlxc.cap.drop =\nlxc.cap.drop = c\n").values("lxc.cap.drop") == ["c"]
    assert config.render() == SEED  # untouched lines render byte for byte


def test_order_blanks_quotes_comments_and_size_spelling_are_not_drift():
    want = Desired(single={"lxc.uts.name": "www", "lxc.cgroup.memory.limit_in_bytes": "512M"},
                   exact_lists={"lxc.cap.drop": ["sys_module", "sys_time"]})
    text = '# mine\nlxc.cap.drop = sys_time\nlxc.cap.drop   =  sys_module\nlxc.cgroup.memory.limit_in_bytes=536870912\nlxc.uts.name="www"\n'
    assert drift(LxcConfig.parse(text), want) == []
    assert apply_desired(LxcConfig.parse(text), want).render() == text


def test_managed_key_changed_in_place_unmanaged_kept():
    text = "lxc.uts.name = old\n# keep me\nlxc.mount.entry = /srv srv none bind 0 0\nlxc.cap.drop = sys_admin\n"
    want = Desired(single={"lxc.uts.name": "www", "lxc.arch": "x86"}, exact_lists={"lxc.cap.drop": ["sys_module"]},
                   include_lists={"lxc.mount.entry": ["proc proc proc nodev,noexec,nosuid 0 0"]})
    assert drift(LxcConfig.parse(text), want) == ["lxc.arch", "lxc.cap.drop", "lxc.mount.entry", "lxc.uts.name"]
    new = apply_desired(LxcConfig.parse(text), want).render()
    assert new == ("lxc.uts.name = www\n# keep me\nlxc.mount.entry = /srv srv none bind 0 0\n"
                   "lxc.mount.entry = proc proc proc nodev,noexec,nosuid 0 0\nlxc.cap.drop = sys_module\nlxc.arch = x86\n")
    assert drift(LxcConfig.parse(new), want) == []


def test_superseded_keys_removed():
    config = LxcConfig.parse("lxc.cgroup.memory.limit_in_bytes = 1G\nlxc.uts.name = a\n")
    new = apply_desired(config, Desired(single={"lxc.cgroup2.memory.max": "1G"}, absent=("lxc.cgroup.memory.limit_in_bytes",)))
    assert new.render() == "lxc.uts.name = a\nlxc.cgroup2.memory.max = 1G\n"


@pytest.mark.parametrize("bad", ["lxc.uts.name www\n", "lxc uts = x\n", "x" * (1024 * 1024 + 1)])
def test_garbage_refused_with_line(bad):
    with pytest.raises(ConfigError):
        LxcConfig.parse(bad)
