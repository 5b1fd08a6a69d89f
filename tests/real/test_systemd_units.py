"""The systemd units in deploy/systemd (issue 12, item 12), checked by the real
``systemd-analyze verify``, with the commands where ``deploy/setup.sh --system`` puts
them (/opt/saline/bin). /opt is a tmpfs in a private mount namespace, so the machine is
not touched; the commands there are the ones of this checkout's virtualenv."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.real

UNITS = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
BIN = Path(sys.executable).parent


def _service(name: str) -> dict[str, list[str]]:
    """The [Service] entries; a key may repeat (ExecStartPre …), so values are lists."""
    entries: dict[str, list[str]] = {}
    section = None
    for line in (UNITS / name).read_text().splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line.strip("[]")
        elif line and not line.startswith("#") and section == "Service":
            key, _, value = line.partition("=")
            entries.setdefault(key, []).append(value)
    return entries


@pytest.mark.parametrize("unit", ["saline-master.service", "saline-agent.service"])
def test_systemd_analyze_verify_passes(unit):
    command = unit.removesuffix(".service")
    script = (f"mount -t tmpfs saline-opt /opt && mkdir -p /opt/saline/bin && "
              f"ln -s {BIN / command} /opt/saline/bin/{command} && "
              f"exec systemd-analyze verify --man=no --recursive-errors=no {UNITS / unit}")
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == "", r.stderr  # not even a warning


def test_units_fit_a_fresh_host_and_the_agents_job():
    master, agent = _service("saline-master.service"), _service("saline-agent.service")
    assert master["ExecStart"][0].startswith("/opt/saline/bin/saline-master ")
    assert agent["ExecStart"][0].startswith("/opt/saline/bin/saline-agent ")
    # A path that may not exist on a fresh host must not stop the unit ('-' prefix).
    assert all(p.startswith("-") for v in master["ReadWritePaths"] for p in v.split())
    # The agent's states create directories and files others read: not 0077.
    assert agent["UMask"] == ["0022"]
    # control_group members must reach /run/saline/master.sock (the socket's own mode guards it).
    assert master["RuntimeDirectoryMode"] == ["0755"]
    # SIGHUP reopens the log; it is the reload action.
    assert all(u["ExecReload"] == ["/bin/kill -HUP $MAINPID"] for u in (master, agent))
