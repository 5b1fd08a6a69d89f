"""No Python traceback reaches a user (issue 12, item 9): each mistake gets one line that
says what to do. Real saline, saline-master and saline-agent processes."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from saline.agent.config import agent_config_in
from saline.master.config import master_config_in

from .procs import BIN, free_port

pytestmark = pytest.mark.e2e


def _master(tmp_path: Path, **settings) -> list[str]:
    cfg = master_config_in(tmp_path / "m", **{"bind": f"tcp://127.0.0.1:{free_port()}", "bootstrap_bind": "",
                                              "enrol_bind": "", **settings})
    (tmp_path / "master.yaml").write_text(yaml.safe_dump(cfg))
    return [str(BIN / "saline-master"), "--config", str(tmp_path / "master.yaml")]


def _agent(tmp_path: Path, **settings) -> list[str]:
    cfg = {**agent_config_in(tmp_path / "a", "node1", f"tcp://127.0.0.1:{free_port()}", ""), **settings}
    (tmp_path / "agent.yaml").write_text(yaml.safe_dump(cfg))
    return [str(BIN / "saline-agent"), "--config", str(tmp_path / "agent.yaml")]


def _garbage_curve_key(tmp_path: Path, who: str) -> Path:
    """A good signing key beside a curve.key that is YAML but not a key pair."""
    pki = tmp_path / who / "pki"
    subprocess.run([sys.executable, "-c", f"from saline.protocol.keys import load_or_create; "
                    f"load_or_create({str(pki)!r})"], check=True)
    (pki / "curve.key").write_text("just a string\n")
    return pki


def _garbage_keys(tmp_path: Path, who: str) -> Path:
    pki = tmp_path / who / "pki"
    pki.mkdir(parents=True, mode=0o700)
    for name in ("curve.key", "sign.key"):
        (pki / name).write_text("garbage\n")
        (pki / name).chmod(0o600)
    return pki


CASES = {
    "master log_level": (lambda t: _master(t, log_level="LOUD"), "log_level 'LOUD' is not one of DEBUG"),
    "agent log_level": (lambda t: _agent(t, log_level="chatty"), "log_level 'chatty' is not one of DEBUG"),
    "master log_file": (lambda t: _master(t, log_file="/proc/1/nope/master.log"), "cannot write log_file"),
    "agent log_file": (lambda t: _agent(t, log_file="/proc/1/nope/agent.log"), "cannot write log_file"),
    "master key file": (lambda t: _master(t, pki_dir=str(_garbage_keys(t, "m"))), "restore them from a backup"),
    "agent key file": (lambda t: _agent(t, pki_dir=str(_garbage_keys(t, "a"))), "restore them from a backup"),
    "curve key file": (lambda t: _master(t, pki_dir=str(_garbage_curve_key(t, "m"))),
                       "is not a CURVE key pair (public: and secret:)"),
    "control_group": (lambda t: _master(t, control_group="no-such-group"),
                      "control_group 'no-such-group' does not exist on this machine; create it"),
    "master bind scheme": (lambda t: _master(t, bind="127.0.0.1:4510"), "needs a scheme: tcp://HOST:PORT"),
    "agent master scheme": (lambda t: _agent(t, master="master.example:4510"), "needs a scheme: tcp://HOST:PORT"),
    "cli key=value YAML": (lambda t: [str(BIN / "saline"), "--socket", str(t / "none.sock"), "run", "node1",
                                      "test.echo", "text={unclosed"], "is not a valid YAML value"),
    "cli no master": (lambda t: [str(BIN / "saline"), "--socket", str(t / "none.sock"), "agents"],
                      "master is not running"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_mistake_is_one_clear_line_without_traceback(case, tmp_path):
    argv, expected = CASES[case]
    r = subprocess.run(argv(tmp_path), capture_output=True, text=True, timeout=30)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "Traceback" not in r.stdout + r.stderr
    assert expected in r.stderr, r.stderr


def test_missing_state_root_is_warned_at_start_and_named_in_the_error(deployment):
    d = deployment
    assert f"state_root {d.base / 'states'} does not exist" in d.master.log_text()
    d.add_agent("node1")
    d.accept("node1")
    r = d.cli("apply", "node1")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"state_root {d.base / 'states'} does not exist: create it or fix state_roots" in r.stderr


def test_agent_without_a_master_logs_and_retries(tmp_path):
    cfg = agent_config_in(tmp_path / "a", "node1", f"tcp://127.0.0.1:{free_port()}",
                          f"tcp://127.0.0.1:{free_port()}", reconnect_max=1.0)
    (tmp_path / "agent.yaml").write_text(yaml.safe_dump(cfg))
    p = subprocess.Popen([str(BIN / "saline-agent"), "--config", str(tmp_path / "agent.yaml")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            pass
        assert p.poll() is None  # still trying, not dead
    finally:
        p.terminate()
        _, err = p.communicate(timeout=10)
    log = (tmp_path / "a" / "agent.log").read_text()
    assert "not answering; retrying in" in log and "Traceback" not in log + err
    assert p.returncode == 0
