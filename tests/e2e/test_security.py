"""Hostile traffic against real master and agent processes: forged, misdirected, expired
and replayed jobs; identity spoofing; agents trying to publish; floods; a changed master key.

Each class of Salt CVE named in the design notes has a test here.
"""

import subprocess
import time

import pytest
import zmq

from saline.protocol.codec import pack
from saline.protocol.keys import load_or_create
from saline.protocol.messages import Error, Job, Return, ReturnBody
from saline.protocol.signing import sign_job, sign_return
from saline.states.compile.compiler import compile_file

from .procs import wait_for
from .rogue import RogueMaster, hello, job_body, rogue_agent_socket

pytestmark = pytest.mark.e2e


@pytest.fixture
def one_agent(deployment):
    deployment.add_agent("node1")
    deployment.accept("node1")
    return deployment


@pytest.fixture
def rogue_master(one_agent):
    """Kill the real master and put a rogue one on its port with its transport key."""
    one_agent.master.kill()
    rogue = RogueMaster(f"tcp://127.0.0.1:{one_agent.port}", one_agent.master_dir / "pki")
    try:
        rogue.wait_for_agent()
        yield rogue
    finally:
        rogue.close()


def _file_job_kwargs(tmp_path, agent_id: str, path: str) -> dict:
    sls = tmp_path / "marker.sls"
    sls.write_text(f"{path}:\n  file.managed:\n    - contents: ran\n")
    return {"run": compile_file(sls, {}, {}, agent_id).model_dump(mode="python"), "test": False}


def _refusals(rogue: RogueMaster, seconds: float = 1.5) -> list:
    return [m for m in rogue.pump(seconds) if isinstance(m, (Error, Return))]


def test_forged_misdirected_expired_and_replayed_jobs_do_not_run(one_agent, rogue_master, tmp_path):
    d, rogue = one_agent, rogue_master
    agent_log = d.agents["node1"].log_text
    marker = d.agent_dirs["node1"] / "root" / "ran"
    kwargs = _file_job_kwargs(tmp_path, "node1", "/ran")
    real_master_keys, _ = load_or_create(d.master_dir / "pki")
    other_keys, _ = load_or_create(tmp_path / "attacker-pki")

    cases = [
        ("bad_signature", job_body("state.apply", ["node1"], kwargs), other_keys),
        ("not_for_me", job_body("state.apply", ["node2"], kwargs), real_master_keys),
        ("expired", job_body("state.apply", ["node1"], kwargs, issued=time.time() - 600, ttl=10), real_master_keys),
    ]
    for code, body, signer in cases:
        rogue.send_job(body, signer)
        got = _refusals(rogue)
        assert [type(m).__name__ for m in got] == ["Error"] and got[0].code == code, (code, got)
        assert f"job refused ({code})" in agent_log()
        assert not marker.exists(), f"{code}: the job ran"

    # A properly signed job runs once; the same bytes again are a replay.
    good = job_body("state.apply", ["node1"], kwargs)
    frame = pack(Job(**_signed(good, real_master_keys)))
    rogue.send_raw(frame)
    got = _refusals(rogue, 3)
    assert any(isinstance(m, Return) for m in got) and marker.read_text() == "ran\n"
    marker.unlink()
    rogue.send_raw(frame)
    got = _refusals(rogue)
    assert [m.code for m in got if isinstance(m, Error)] == ["replay"] and not marker.exists()

    # The replay cache survives an agent restart.
    d.agents["node1"].kill()
    d.agents["node1"].start()
    rogue.agent = None
    rogue.wait_for_agent()
    rogue.send_raw(frame)
    got = _refusals(rogue)
    assert "replay" in [m.code for m in got if isinstance(m, Error)] and not marker.exists()


def _signed(body, keys) -> dict:
    job = sign_job(body, keys)
    return {"body": job.body, "sig": job.sig}


def test_garbage_from_master_side_does_not_crash_agent(one_agent, rogue_master):
    rogue = rogue_master
    for payload in (b"", b"\x00" * 10, b"\xc1", pack({"kind": "job"}), pack({"kind": "job", "body": b"x", "sig": b"y" * 64}),
                    pack({"kind": "nope"}), pack([1, 2, 3]), b"\x92" * 5000):
        rogue.send_raw(payload)
    rogue.pump(1)
    assert one_agent.agents["node1"].alive
    assert "bad frame from master" in one_agent.agents["node1"].log_text()


def test_a_flood_of_bad_frames_from_a_master_writes_a_few_agent_log_lines(one_agent, rogue_master):
    """#11.6 on the agent: every bad frame from a (rogue) master wrote a WARNING line; now a
    few per window, then one "suppressed N similar" line."""
    rogue = rogue_master
    for i in range(2000):
        rogue.send_raw(b"\xc1junk%d" % i)
    agent = one_agent.agents["node1"]
    # The window is 10 s: the summary comes with the first line after it.
    wait_for(lambda: "suppressed" in agent.log_text(), timeout=30, interval=0.5, what="the summary line")
    text = agent.log_text()
    assert text.count("bad frame from master") <= 10, text.count("bad frame from master")
    assert "similar bad-frame lines from master" in text
    assert agent.alive


def test_identity_is_bound_to_the_key(two_agents, tmp_path):
    d = two_agents
    ctx = zmq.Context()
    try:
        # node2's own key signs a return that claims to come from node1.
        rc, job = d.cli_json("run", "node1", "test.ping")
        s, node2_keys = rogue_agent_socket(ctx, f"tcp://127.0.0.1:{d.port}", d.master_dir / "pki", d.agent_dirs["node2"] / "pki")
        forged = ReturnBody(jid=job["jid"], agent_id="node1", fun="test.ping", success=False, data="forged",
                            started_at=time.time(), finished_at=time.time())
        s.send(pack(sign_return(forged, node2_keys)))
        wait_for(lambda: "key of node2 signed a return claiming to be from node1" in d.master.log_text(), what="refusal log")
        # ... and a return for a job never sent to node2.
        s.send(pack(sign_return(forged.model_copy(update={"agent_id": "node2"}), node2_keys)))
        wait_for(lambda: f"job {job['jid']} was never sent to node2" in d.master.log_text(), what="refusal log")
        _, shown = d.cli_json("jobs", "show", job["jid"])
        assert [(r["agent_id"], r["success"]) for r in shown["returns"]] == [("node1", True)]

        # An agent cannot publish a job to anyone.
        s.send(pack(Job(body=b"\x80", sig=b"s" * 64)))
        wait_for(lambda: "agents may not send job messages" in d.master.log_text(), what="refusal log")

        # A new key claiming an existing id is refused, not filed.
        s2, _ = rogue_agent_socket(ctx, d.enrol, d.master_dir / "pki", tmp_path / "impostor")
        s2.send(hello("node1", load_or_create(tmp_path / "impostor")[0]))
        wait_for(lambda: "agent id 'node1' claimed by a new key" in d.master.log_text(), what="refusal log")
        _, keys = d.cli_json("keys", "list")
        assert sorted((k["id"], k["state"]) for k in keys) == [("node1", "accepted"), ("node2", "accepted")]
    finally:
        for sock in (locals().get("s"), locals().get("s2")):
            if sock is not None:
                sock.close(linger=0)
        ctx.term()
    # The rogue socket used node2's key, so the master routed node2's traffic to it until the
    # real node2's next heartbeat; after that both agents answer again.
    wait_for(lambda: d.cli_json("run", "*", "test.ping", "--timeout", "2")[0] == 0, timeout=20, interval=0.5,
             what="both agents to answer again")


def test_flood_of_bad_frames_does_not_starve_good_agents(two_agents, tmp_path):
    """Salt CVE-2023-20897 class: one connection floods the master with junk."""
    d = two_agents
    ctx = zmq.Context()
    s, keys = rogue_agent_socket(ctx, d.enrol, d.master_dir / "pki", tmp_path / "flooder")
    try:
        s.send(hello("flooder", keys))
        sent = 0
        for i in range(20000):
            junk = b"\xff" * (i % 64 + 1) if i % 2 else pack({"kind": "heartbeat", "x": i})
            try:
                s.send(junk, zmq.NOBLOCK)
                sent += 1
            except zmq.Again:
                time.sleep(0.001)
        assert sent > 5000
        started = time.monotonic()
        rc, job = d.cli_json("run", "node*", "test.ping", "--timeout", "10")
        assert rc == 0, job
        assert time.monotonic() - started < 10
        wait_for(lambda: "too many bad frames" in d.master.log_text(), what="flood to be noticed")
        # A plain TCP client spraying bytes at the CURVE port changes nothing either.
        import socket

        with socket.create_connection(("127.0.0.1", d.port)) as raw:
            raw.sendall(b"GET / HTTP/1.0\r\n\r\n" + bytes(range(256)) * 64)
        rc, job = d.cli_json("run", "node*", "test.ping")
        assert rc == 0
    finally:
        s.close(linger=0)
        ctx.term()
    assert d.master.alive


def test_oversize_frame_is_dropped(deployment, tmp_path):
    d = deployment
    d.master.stop()
    cfg = d.master_config.read_text() + "max_frame: 65536\n"
    d.master_config.write_text(cfg)
    d.start_master()
    d.add_agent("node1")
    d.accept("node1")
    ctx = zmq.Context()
    try:
        s, keys = rogue_agent_socket(ctx, f"tcp://127.0.0.1:{d.port}", d.master_dir / "pki", tmp_path / "big")
        s.send(hello("big", keys))
        s.send(b"\x00" * 70000)
        time.sleep(0.5)
    finally:
        s.close(linger=0)
        ctx.term()
    rc, job = d.cli_json("run", "node1", "test.ping")
    assert rc == 0 and d.master.alive


def test_changed_master_key_is_refused(one_agent):
    d = one_agent
    d.master.kill()
    for f in (d.master_dir / "pki").iterdir():
        f.unlink()
    d.start_master()
    wait_for(lambda: "MASTER KEY CHANGED" in d.agents["node1"].log_text(), timeout=20, what="agent to refuse the new key")
    # The agent never talks to the master with the new key: its accepted key stays down.
    time.sleep(1.5)
    assert d.agent_states()["node1"] == "down"


def test_master_killed_mid_job_return_is_stored(two_agents):
    d = two_agents
    cli = subprocess.Popen([*d.cli("status").args[:3], "run", "node1", "test.sleep", "seconds=3", "--timeout", "30"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: "test.sleep" in d.agents["node1"].log_text(), what="job to start")
        d.master.kill()
        time.sleep(4)  # the 3 s job ends, and its return is spooled, while the master is down
    finally:
        cli.kill()
        cli.wait()
    d.start_master()
    rc, rows = d.cli_json("jobs", "list")
    jid = next(r["jid"] for r in rows if r["fun"] == "test.sleep")

    def stored():
        _, job = d.cli_json("jobs", "show", jid)
        return job["returns"][0]["status"] == "returned" and job["returns"][0]

    ret = wait_for(stored, timeout=20, interval=0.3, what="spooled return to arrive")
    assert ret["success"] is True and ret["data"] is True


def _frames_strategy(valid: list[bytes]):
    from hypothesis import strategies as st

    def mutate(frame: bytes, edits: list[tuple[int, int]]) -> bytes:
        b = bytearray(frame)
        for pos, val in edits:
            b[pos % len(b)] = val
        return bytes(b)

    mutated = st.builds(mutate, st.sampled_from(valid), st.lists(st.tuples(st.integers(0, 4096), st.integers(0, 255)),
                                                                 min_size=1, max_size=6))
    structured = st.dictionaries(st.sampled_from(["kind", "body", "sig", "jid", "version", "agent_id", "tag", "x"]),
                                 st.one_of(st.text(max_size=20), st.binary(max_size=70), st.integers(-2**63, 2**63 - 1), st.none(),
                                           st.sampled_from(["hello", "job", "return", "ack", "event", "heartbeat"])),
                                 max_size=5).map(pack)
    return st.one_of(st.binary(max_size=1024), mutated, structured)


def test_fuzz_master_and_agent_keep_serving(two_agents, tmp_path):
    """Random, structured and mutated frames from an accepted agent's key into the master, and
    from a rogue master into an agent: no crash, clear log lines, good traffic still works."""
    from hypothesis import given, settings

    d = two_agents
    ctx = zmq.Context()
    s, node2_keys = rogue_agent_socket(ctx, f"tcp://127.0.0.1:{d.port}", d.master_dir / "pki", d.agent_dirs["node2"] / "pki")
    try:
        valid = [hello("node2", node2_keys), pack({"kind": "heartbeat", "version": "1"}),
                 pack(sign_return(ReturnBody(jid="20260101000000000000-00000001", agent_id="node2", fun="test.ping",
                                             success=True, started_at=1.0, finished_at=2.0), node2_keys))]

        @given(_frames_strategy(valid))
        @settings(max_examples=300, deadline=None, database=None)
        def send(frame):
            try:
                s.send(frame, zmq.NOBLOCK)
            except zmq.Again:
                time.sleep(0.01)

        send()
        # Frames sent with node2's key make the master route node2's jobs to this socket until
        # the real node2's next heartbeat: wait for both real agents to answer again.
        wait_for(lambda: d.cli_json("run", "node*", "test.ping", "--timeout", "2")[0] == 0, timeout=20,
                 interval=0.5, what="both agents to answer after the fuzz")
        assert d.master.alive
        assert "bad frame from node2" in d.master.log_text()
    finally:
        s.close(linger=0)
        ctx.term()

    # Now the agent side: node1 connected to a rogue master that speaks garbage (node2 is
    # stopped so the rogue master's only peer is node1).
    d.agents["node2"].kill()
    d.master.kill()
    rogue = RogueMaster(f"tcp://127.0.0.1:{d.port}", d.master_dir / "pki")
    try:
        rogue.wait_for_agent()
        master_keys, _ = load_or_create(d.master_dir / "pki")
        valid = [pack(sign_job(job_body("test.ping", ["node1"]), master_keys)), pack({"kind": "ack", "jid": "x"})]

        @given(_frames_strategy(valid))
        @settings(max_examples=300, deadline=None, database=None)
        def send_to_agent(frame):
            rogue.send_raw(frame)

        send_to_agent()
        rogue.pump(1)
        rogue.send_job(job_body("test.ping", ["node1"]), master_keys)
        got = rogue.pump(3)
        assert any(isinstance(m, Return) for m in got), "agent stopped serving after the fuzz"
    finally:
        rogue.close()
    assert d.agents["node1"].alive

