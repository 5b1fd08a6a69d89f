"""The control socket's lifecycle and the CLI's answers when no master can be reached
(issue 12, item 5), with real master processes."""

import os
import signal
import subprocess
import time

import pytest
import yaml

from .procs import BIN, Proc, free_port, wait_for

pytestmark = pytest.mark.e2e


def _timed_cli(d, *args):
    started = time.monotonic()
    r = d.cli(*args)
    return r, time.monotonic() - started


def test_second_master_on_the_same_socket_refuses_to_start(deployment, tmp_path):
    d = deployment
    cfg = yaml.safe_load(d.master_config.read_text())
    cfg.update(bind=f"tcp://127.0.0.1:{free_port()}", bootstrap_bind="", enrol_bind="", db_path=str(tmp_path / "second.sqlite"),
               pki_dir=str(tmp_path / "second-pki"), log_file=str(tmp_path / "second.log"))
    (tmp_path / "second.yaml").write_text(yaml.safe_dump(cfg))
    r = subprocess.run([str(BIN / "saline-master"), "--config", str(tmp_path / "second.yaml")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert f"another saline-master is already running on control socket {d.socket}" in r.stderr
    assert "Traceback" not in r.stderr
    # The first master still owns its socket and answers.
    assert d.cli("status").returncode == 0 and d.socket.exists()


def test_stopped_master_removes_its_socket_and_the_cli_says_so_at_once(deployment):
    d = deployment
    d.master.stop()
    assert d.master.p.returncode == 0
    assert not d.socket.exists()
    for args in (("status",), ("run", "node1", "test.ping"), ("apply", "node1")):
        r, took = _timed_cli(d, *args)
        assert r.returncode == 1 and "master is not running" in r.stderr and took < 2, (args, r.stderr, took)


def test_killed_master_leaves_a_stale_socket_the_cli_and_next_master_handle(deployment):
    d = deployment
    d.master.kill()
    assert d.socket.exists()  # SIGKILL: no chance to clean up
    r, took = _timed_cli(d, "run", "node1", "test.ping")
    assert r.returncode == 1 and "master is not running (nothing listens on" in r.stderr and took < 2
    d.start_master()  # the stale socket is replaced
    assert "control socket at" in d.master.log_text()


def test_master_stopping_while_the_cli_waits(deployment):
    d = deployment
    d.add_agent("node1")
    d.accept("node1")
    cli = subprocess.Popen([str(BIN / "saline"), "--socket", str(d.socket), "run", "node1", "test.sleep",
                            "seconds=30", "--timeout", "40"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)
        d.master.stop()
        started = time.monotonic()
        out, err = cli.communicate(timeout=10)
        assert time.monotonic() - started < 3
        assert cli.returncode == 1 and "master stopped" in err and "saline jobs show" in err
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()


def test_permission_denied_says_what_to_do(deployment):
    d = deployment
    # A user who may not open the socket: root without CAP_DAC_OVERRIDE, on a socket owned
    # by someone else (the interpreter under /root stays reachable, which it is not for nobody).
    os.chown(d.socket, 65534, 65534)
    r = subprocess.run(["setpriv", "--inh-caps=-all", "--bounding-set=-all", str(BIN / "saline"),
                        "--socket", str(d.socket), "status"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1, r
    assert "permission denied" in r.stderr and "run as root or join control_group" in r.stderr
    assert "Traceback" not in r.stderr


def test_sighup_reopens_the_log_and_keeps_the_master(deployment):
    d = deployment
    log = d.master.log
    rotated = log.with_suffix(".log.1")
    log.rename(rotated)
    d.master.p.send_signal(signal.SIGHUP)
    wait_for(lambda: log.exists() and "log reopened" in log.read_text(), 5, what="the log to be reopened")
    assert d.master.alive and d.cli("status").returncode == 0
