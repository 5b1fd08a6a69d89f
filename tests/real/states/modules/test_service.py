"""service.* for real: a sysvinit script in a temp root starting a real background process,
rc links through the real update-rc.d (DPKG_ROOT), and systemd unit enablement through the
real ``systemctl --root`` on a directory tree."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from saline.states.engine.apply import apply_one
from saline.states.engine.runner import Runner
from tests.harness import assert_full_cycle, assert_refused, ctx, run

pytestmark = pytest.mark.real

INIT_SCRIPT = """#!/bin/sh
### BEGIN INIT INFO
# Provides:          saline-test
# Required-Start:
# Required-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: saline test service
### END INIT INFO
PIDFILE={pidfile}
LOG={log}
alive() {{ [ -f "$PIDFILE" ] && grep -qs '^State:[[:space:]]*[RSD]' "/proc/$(cat "$PIDFILE")/status"; }}
case "$1" in
  start)   alive && exit 0
           sleep 300 </dev/null >/dev/null 2>&1 &
           echo $! > "$PIDFILE"; echo start >> "$LOG" ;;
  stop)    alive && kill "$(cat "$PIDFILE")"; rm -f "$PIDFILE"; echo stop >> "$LOG" ;;
  restart) "$0" stop; "$0" start ;;
  reload)  echo reload >> "$LOG" ;;
  status)  alive && exit 0; [ -f "$PIDFILE" ] && exit 1; exit 3 ;;
  *)       exit 2 ;;
esac
"""


@pytest.fixture
def root(tmp_path: Path):
    (tmp_path / "etc/init.d").mkdir(parents=True)
    (tmp_path / "run").mkdir()
    script = tmp_path / "etc/init.d/saline-test"
    script.write_text(INIT_SCRIPT.format(pidfile=tmp_path / "run/saline-test.pid", log=tmp_path / "run/log"))
    script.chmod(0o755)
    yield tmp_path
    # Kill only the process this test's script started, even when the test failed.
    pidfile = tmp_path / "run/saline-test.pid"
    if pidfile.exists():
        try:
            os.kill(int(pidfile.read_text()), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


@pytest.fixture
def runner(root: Path) -> Runner:
    return Runner(root=root)


def process_snapshot(root: Path):
    """Is the service's process alive (checked in /proc), and which rc links exist."""

    def snap():
        pidfile = root / "run/saline-test.pid"
        alive = False
        if pidfile.exists():
            status = Path(f"/proc/{pidfile.read_text().strip()}/status")
            alive = status.exists() and "zombie" not in status.read_text()
        links = sorted(str(p.relative_to(root)) for p in (root / "etc").glob("rc?.d/*"))
        return alive, links

    return snap


def test_running_and_dead_full_cycle(root, runner):
    snap = process_snapshot(root)
    applied = assert_full_cycle("service.running", {"name": "saline-test"}, runner, snap)
    assert applied.changes == {"running": {"old": False, "new": True}} and snap()[0] is True
    stopped = assert_full_cycle("service.dead", {"name": "saline-test"}, runner, snap)
    assert stopped.changes == {"running": {"old": True, "new": False}} and snap()[0] is False


def test_watch_restarts_a_running_service_or_reloads(root, runner):
    assert run("service.running", {"name": "saline-test"}, runner).result is True
    pid = (root / "run/saline-test.pid").read_text()
    res = apply_one("svc", "service.running", {"name": "saline-test"}, ctx(runner), watch_fired=True)
    assert res.result is True and res.changes["watch"] == ["Restart saline-test (watched state changed)"]
    assert (root / "run/saline-test.pid").read_text() != pid
    res = apply_one("svc", "service.running", {"name": "saline-test", "reload": True}, ctx(runner), watch_fired=True)
    assert res.result is True and (root / "run/log").read_text().splitlines()[-1] == "reload"


def test_watch_on_a_stopped_service_only_starts_it(root, runner):
    res = apply_one("svc", "service.running", {"name": "saline-test"}, ctx(runner), watch_fired=True)
    assert res.result is True and "watch" not in res.changes
    assert (root / "run/log").read_text().splitlines() == ["start"]


@pytest.mark.skipif(not shutil.which("update-rc.d"), reason="update-rc.d not installed")
def test_enabled_and_disabled_with_update_rc_d(root, runner):
    snap = process_snapshot(root)
    assert_full_cycle("service.enabled", {"name": "saline-test"}, runner, snap)
    assert "etc/rc2.d/S01saline-test" in snap()[1] and "etc/rc0.d/K01saline-test" in snap()[1]
    applied = assert_full_cycle("service.disabled", {"name": "saline-test"}, runner, snap)
    assert applied.changes == {"enabled": {"old": True, "new": False}}
    assert snap()[1] == [f"etc/rc{n}.d/K01saline-test" for n in range(7)]
    assert_full_cycle("service.running", {"name": "saline-test", "enable": True}, runner, snap)
    assert snap() == (True, sorted([f"etc/rc{n}.d/K01saline-test" for n in (0, 1, 6)]
                                   + [f"etc/rc{n}.d/S01saline-test" for n in (2, 3, 4, 5)]))


@pytest.mark.skipif(not shutil.which("update-rc.d"), reason="update-rc.d not installed")
def test_disabled_after_the_seeds_remove_pins_k_links(root, runner):
    """The seed's `update-rc.d -f drbd remove` leaves no links; disabled pins K links."""
    snap = process_snapshot(root)
    applied = assert_full_cycle("service.disabled", {"name": "saline-test"}, runner, snap)
    assert applied.changes == {"links": {"old": [], "new": "K links in every runlevel"}}
    assert all("/K01" in link for link in snap()[1])


def test_refusals(root, runner):
    snap = process_snapshot(root)
    assert_refused("service.running", {"name": "nosuch"}, runner, snap, "no init script /etc/init.d/nosuch")
    assert_refused("service.enabled", {"name": "nosuch"}, runner, snap, "no init script")
    assert_refused("service.running", {"name": "../etc/passwd"}, runner, snap, "not a service name")
    assert_refused("service.running", {"name": "saline-test", "restart": True}, runner, snap, "restart")
    (root / "etc/init.d/broken").write_text("#!/bin/sh\nexit 4\n")
    (root / "etc/init.d/broken").chmod(0o755)
    assert_refused("service.dead", {"name": "broken"}, runner, snap, "status unknown")


# ---- systemd, offline on a directory tree -------------------------------------------------------

UNIT = "[Unit]\nDescription=saline test\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n"


@pytest.fixture
def systemd_root(tmp_path: Path) -> Path:
    (tmp_path / "run/systemd/system").mkdir(parents=True)
    units = tmp_path / "etc/systemd/system"
    units.mkdir(parents=True)
    (units / "saline-test.service").write_text(UNIT)
    (units / "saline-static.service").write_text(UNIT.split("[Install]")[0])
    return tmp_path


def unit_links(root: Path):
    return lambda: sorted(str(p.relative_to(root)) for p in (root / "etc/systemd/system").rglob("*"))


@pytest.mark.skipif(not shutil.which("systemctl"), reason="systemctl not installed")
def test_systemd_enabled_disabled_offline(systemd_root):
    runner = Runner(root=systemd_root)
    snap = unit_links(systemd_root)
    applied = assert_full_cycle("service.enabled", {"name": "saline-test"}, runner, snap)
    assert applied.changes == {"enabled": {"old": False, "new": True}}
    assert "etc/systemd/system/multi-user.target.wants/saline-test.service" in snap()
    assert_full_cycle("service.disabled", {"name": "saline-test"}, runner, snap)
    assert_refused("service.disabled", {"name": "saline-static"}, runner, snap, "static")
    assert_refused("service.enabled", {"name": "nosuch"}, runner, snap, "no unit nosuch")
