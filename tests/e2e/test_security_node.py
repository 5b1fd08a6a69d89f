"""Attacks from an accepted agent, a rogue bootstrap reply and a local user, against real
master and agent processes (issue #11 items 2, 8, 9, 13; issue #12 item 2)."""

from __future__ import annotations

import os
import stat
import subprocess
import time

import pytest
import zmq

from saline.protocol.codec import decode_message, pack, unpack
from saline.protocol.keys import load_or_create
from saline.protocol.messages import Hello, Job, PubkeyReply

from tests.users import local_user

from .procs import BIN, Deployment, wait_for
from .rogue import enrol_and_connect

pytestmark = pytest.mark.e2e

HOSTNAME = "mallory\n/stolen:\n  file.managed:\n    - contents: {{ pillar['secret'] }}\n"


def _jobs_received(sock: zmq.Socket, seconds: float) -> list[dict]:
    bodies, deadline = [], time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if sock.poll(int(left * 1000) + 1):
            msg = decode_message(sock.recv())
            if isinstance(msg, Job):
                bodies.append(unpack(msg.body))
    return bodies


def test_spoofed_id_and_injected_hostname_get_no_other_pillar(deployment):
    """An accepted agent says hello with facts {"id": "alpha", "hostname": <YAML>}: its job holds
    its own pillar only, and exactly the one state its top file gives it."""
    d = deployment
    (d.base / "pillar" / "nodes").mkdir(parents=True)
    (d.base / "pillar" / "top.sls").write_text("base:\n  '*':\n    - nodes.{{ grains['id'] }}\n")
    (d.base / "pillar" / "nodes" / "alpha.sls").write_text("secret: alpha-secret\n")
    (d.base / "pillar" / "nodes" / "mallory.sls").write_text("secret: mallory-secret\n")
    (d.base / "states").mkdir()
    (d.base / "states" / "top.sls").write_text("base:\n  '*':\n    - motd\n")
    (d.base / "states" / "motd.sls").write_text(
        "/etc/motd:\n  file.managed:\n    - contents: \"{{ pillar['secret'] }} on {{ grains['hostname'] }}\"\n"
    )
    ctx = zmq.Context()
    keys = load_or_create(d.base / "mallory-pki")[0]
    spoof = pack(Hello(agent_id="mallory", version="rogue", sign_pub=keys.public.sign_pub,
                       facts={"id": "alpha", "hostname": HOSTNAME}))
    sock, _ = enrol_and_connect(ctx, d, d.base / "mallory-pki", "mallory", spoof)
    try:
        cli = subprocess.Popen([str(BIN / "saline"), "--socket", str(d.socket), "apply", "mallory", "--timeout", "2"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            jobs = _jobs_received(sock, 4)
        finally:
            cli.kill()
            cli.wait(5)
    finally:
        sock.close(linger=0)
        ctx.term()
    assert len(jobs) == 1, jobs
    states = jobs[0]["kwargs"]["run"]["states"]
    assert [(s["id"], s["args"]["contents"]) for s in states] == [("/etc/motd", f"mallory-secret on {HOSTNAME}")]
    assert "alpha-secret" not in repr(jobs)


def test_agent_with_master_fingerprint_outlives_a_rogue_bootstrap_reply(tmp_path):
    """A stranger answers on the bootstrap port with its own key: the agent refuses it, keeps
    asking with backoff, and pins the real master once that one answers."""
    d = Deployment(tmp_path)
    rogue_ctx = zmq.Context()
    rogue = rogue_ctx.socket(zmq.ROUTER)
    rogue.linger = 0
    try:
        real_fp = load_or_create(d.master_dir / "pki")[0].public.fingerprint
        fake = load_or_create(tmp_path / "rogue-pki")[0].public
        rogue.bind(f"tcp://127.0.0.1:{d.bport}")
        agent = d.add_agent("node1", master_fingerprint=real_fp)
        answered = 0
        deadline = time.monotonic() + 20
        while answered < 3 and time.monotonic() < deadline:
            if rogue.poll(500):
                rid, _ = rogue.recv_multipart()
                rogue.send_multipart([rid, pack(PubkeyReply(curve_pub=fake.curve_pub, sign_pub=fake.sign_pub))])
                answered += 1
        assert answered == 3, "the agent stopped asking after a rogue reply"
        wait_for(lambda: agent.log_text().count(f"offers key {fake.fingerprint}, but master_fingerprint is {real_fp}; refusing") >= 2,
                 what="the refusals in the agent log")
        assert agent.alive
        assert not (d.agent_dirs["node1"] / "pki" / "master.pub").exists()
        rogue.close(linger=0)
        d.start_master()
        d.accept("node1")
        assert (d.agent_dirs["node1"] / "pki" / "master.pub").exists()
    finally:
        rogue.close(linger=0)
        rogue_ctx.term()
        d.close()


@pytest.fixture
def stranger():
    with local_user() as user:
        yield user


def test_agent_refuses_a_pki_dir_another_user_owns(tmp_path, stranger):
    """That user could swap master.pub and so choose the master the agent obeys."""
    d = Deployment(tmp_path)
    try:
        pki = tmp_path / "node1" / "pki"
        load_or_create(pki)
        os.chown(pki, stranger.pw_uid, -1)
        agent = d.add_agent("node1")
        assert agent.p.wait(15) == 1
        err = agent.log.with_suffix(".stderr").read_text()
        assert f"key directory {pki}: {pki} is owned by {stranger.pw_name}, who could replace what is in it; run: chown root {pki}" in err
        assert "Traceback" not in err
    finally:
        d.close()


def test_master_leaves_existing_socket_dirs_alone_and_refuses_shared_ones(tmp_path):
    """#12 item 2: the control socket's directory is never chmodded; one others can write is refused."""
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    d = Deployment(tmp_path, control_socket=str(shared / "master.sock"))
    try:
        d.master.start()
        assert d.master.p.wait(15) == 1
        err = d.master.log.with_suffix(".stderr").read_text()
        assert f"control socket directory {shared}: {shared} is writable by group and others (mode 1777); run: chmod go-w {shared}" in err
        assert stat.S_IMODE(os.stat(shared).st_mode) == 0o1777 and not (shared / "master.sock").exists()
    finally:
        d.close()

    run = tmp_path / "run"
    run.mkdir(mode=0o755)
    os.chmod(run, 0o755)
    d = Deployment(tmp_path / "second", control_socket=str(run / "master.sock"))
    d.socket = run / "master.sock"
    try:
        d.start_master()
        assert stat.S_IMODE(os.stat(run).st_mode) == 0o755
        assert stat.S_IMODE(os.stat(run / "master.sock").st_mode) == 0o600
    finally:
        d.close()


def test_agent_leaves_existing_key_and_state_dirs_alone(deployment):
    """#12 item 2: directories the admin made keep their mode; only those saline makes are 0700."""
    d = deployment
    home = d.base / "node1"
    for sub in ("pki", "state"):
        (home / sub).mkdir(parents=True)
        os.chmod(home / sub, 0o755)
    d.add_agent("node1")
    d.wait_agent_state("node1", "pending")
    assert {sub: stat.S_IMODE(os.stat(home / sub).st_mode) for sub in ("pki", "state")} == {"pki": 0o755, "state": 0o755}
    assert stat.S_IMODE(os.stat(home / "pki" / "curve.key").st_mode) == 0o600
