"""The hostile soak: each attack of issue #11 against real master and agent processes.

Every test here failed before the fix it names; together they take about a minute.
"""

import threading
import time

import pytest
import zmq

from .procs import wait_for
from .rogue import empty_maps_frame, hello, rogue_agent_socket, rss_kib

pytestmark = pytest.mark.e2e


def _ping_seconds(d, target: str = "node1") -> float:
    started = time.monotonic()
    rc, job = d.cli_json("run", target, "test.ping", "--timeout", "20")
    assert rc == 0, job
    return time.monotonic() - started


def test_stranger_frames_cost_bounded_memory_and_latency(deployment, tmp_path):
    """#11.1: a fresh key sent 15.9 MiB frames of empty maps: +1.1 GiB RSS and a good
    agent's test.ping held 11.7 s. Now a key that is not accepted gets nothing but a small
    hello decoded and pays from a byte/decode-time budget."""
    d = deployment
    d.add_agent("node1")
    d.accept("node1")
    idle = min(_ping_seconds(d) for _ in range(3))
    pid = d.master.p.pid
    rss_idle = rss_kib(pid)
    frame = empty_maps_frame(16 * 1024 * 1024 - 100_000)
    assert len(frame) > 15 * 1024 * 1024
    ctx = zmq.Context()
    socks = []
    stop = threading.Event()
    try:
        for i in range(3):
            s, keys = rogue_agent_socket(ctx, f"tcp://127.0.0.1:{d.port}", d.master_dir / "pki", tmp_path / f"s{i}")
            s.sndhwm = 8
            socks.append(s)

        def attack():
            while not stop.is_set():
                for s in socks:
                    try:
                        s.send(frame, zmq.NOBLOCK, copy=False)
                    except zmq.Again:
                        pass
                time.sleep(0.05)

        t = threading.Thread(target=attack, daemon=True)
        t.start()
        time.sleep(2)
        under_attack = [_ping_seconds(d) for _ in range(3)]
    finally:
        stop.set()
        if "t" in locals():
            t.join()
        for s in socks:
            s.close(linger=0)
        ctx.term()
    peak_growth_mib = (rss_kib(pid, "VmHWM") - rss_idle) / 1024
    print(f"idle ping {idle:.2f}s, under attack {under_attack}, master RSS idle {rss_idle // 1024} MiB, "
          f"peak growth {peak_growth_mib:.0f} MiB")
    # Frames still pass through libzmq's buffers; nothing is decoded from them.
    assert peak_growth_mib < 200, f"master peak RSS grew {peak_growth_mib:.0f} MiB under the attack"
    assert max(under_attack) < max(2.0, 10 * idle), (idle, under_attack)
    assert "exceeds the limit of 65536 for a key that is not accepted" in d.master.log_text()
    assert d.master.alive
