#!/usr/bin/env python3
"""Hostile soak: a real saline-master and two real agents serve good jobs for N minutes
while strangers attack the master the ways issue #11 found.

    python bench/soak.py [--minutes 5] [--json]

Attacks, all at once, for the whole run:
  * big frames: fresh CURVE keys send 15.9 MiB frames of empty msgpack maps, one to the
    agent port (its handshake is refused: accepted keys only) and one to the enrolment
    port (where libzmq ends the session at the frame's size header);
  * junk: a fresh key sends small malformed frames to the enrolment port without pause;
  * pending-key flood: a new key per connection says hello on the enrolment port (~20/s);
  * bootstrap junk: malformed frames on the bootstrap port without pause.
Good traffic: ``test.ping`` to both agents, one after the other. Reported: the good jobs'
latency percentiles (idle first, then under attack), jobs lost (a ping where an agent
did not return), master and agent RSS (idle, peak, end). Targets: 0 lost, p99 < 10x idle
p50, RSS bounded. The master runs with auto_accept off, as in production.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import yaml  # noqa: E402
import zmq  # noqa: E402

from saline.protocol.codec import pack  # noqa: E402
from saline.protocol.control import KeysRequest  # noqa: E402
from saline.protocol.keys import KeySet  # noqa: E402
from saline.protocol.messages import Hello  # noqa: E402

from common import Procs, machine_line, markdown_table, tree_memory, write_results  # noqa: E402
from saline_side import SalineDeployment  # noqa: E402

AGENTS = ["soak1", "soak2"]


def _percentile(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


def empty_maps_frame(size: int) -> bytes:
    inner = b"\xdc" + (159).to_bytes(2, "big") + b"\x80" * 159
    count = min(100_000, size // len(inner))
    return b"\xdd" + count.to_bytes(4, "big") + inner * count


class Attackers:
    def __init__(self, d: SalineDeployment):
        self.d = d
        self.ctx = zmq.Context()
        self.stop = threading.Event()
        self.server_pub = yaml.safe_load((d.master_dir / "pki" / "curve.key").read_text())["public"].encode()
        self.sent = {"big": 0, "junk": 0, "pending": 0, "bootstrap": 0}
        self.threads = [threading.Thread(target=t, daemon=True) for t in
                        (self._big, self._junk, self._pending, self._bootstrap)]

    def _curve_socket(self, port: int | None = None) -> tuple[zmq.Socket, KeySet]:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        pub, sec = zmq.curve_keypair()
        keys = KeySet(sec.decode(), pub.decode(), Ed25519PrivateKey.generate())
        s = self.ctx.socket(zmq.DEALER)
        s.curve_secretkey, s.curve_publickey, s.curve_serverkey = sec, pub, self.server_pub
        s.linger = 0
        s.sndhwm = 4
        s.connect(f"tcp://127.0.0.1:{port or self.d.eport}")
        return s, keys

    def _send(self, s: zmq.Socket, frame: bytes, what: str) -> None:
        try:
            s.send(frame, zmq.NOBLOCK, copy=False)
            self.sent[what] += 1
        except zmq.Again:
            time.sleep(0.01)

    def _big(self) -> None:
        frame = empty_maps_frame(16 * 1024 * 1024 - 100_000)
        while not self.stop.is_set():
            # A refused or ended session is not retried by libzmq: a new connection each round.
            socks = [self._curve_socket(self.d.port)[0], self._curve_socket(self.d.eport)[0]]
            for s in socks:
                self._send(s, frame, "big")
            time.sleep(0.2)
            for s in socks:
                s.close(0)

    def _junk(self) -> None:
        s, _ = self._curve_socket()
        i = 0
        while not self.stop.is_set():
            i += 1
            self._send(s, b"\xc1" * (i % 64 + 1), "junk")
            if i % 200 == 0:
                time.sleep(0.005)
        s.close(0)

    def _pending(self) -> None:
        i = 0
        while not self.stop.is_set():
            s, keys = self._curve_socket()
            i += 1
            self._send(s, pack(Hello(agent_id=f"flood{i:06d}", version="x", sign_pub=keys.public.sign_pub)), "pending")
            time.sleep(0.05)
            s.close(0)

    def _bootstrap(self) -> None:
        s = self.ctx.socket(zmq.DEALER)
        s.linger = 0
        s.sndhwm = 1000
        s.connect(f"tcp://127.0.0.1:{self.d.bport}")
        i = 0
        while not self.stop.is_set():
            i += 1
            self._send(s, b"\xc1junk%d" % i, "bootstrap")
            if i % 200 == 0:
                time.sleep(0.005)
        s.close(0)

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(10)
        self.ctx.term()


def _attack(d: SalineDeployment, conn) -> None:
    attackers = Attackers(d)
    attackers.start()
    conn.recv()
    attackers.close()
    conn.send(dict(attackers.sent))


@dataclass
class SoakResult:
    minutes: float
    idle_p50: float
    p50: float
    p95: float
    p99: float
    jobs: int
    lost: int
    master_rss_idle: float
    master_rss_peak: float
    master_rss_end: float
    agent_rss_idle: float
    agent_rss_end: float
    sent: dict


def soak(base: Path, procs: Procs, minutes: float) -> SoakResult:
    d = SalineDeployment(base, procs)
    cfg = yaml.safe_load(d.master_config.read_text())
    cfg["auto_accept"] = False
    cfg.pop("stranger_budget", None)  # production defaults
    d.master_config.write_text(yaml.safe_dump(cfg))
    d.start_master()
    for aid in AGENTS:
        d.start_agent(aid)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        reply = d.client.request(KeysRequest(action="accept", match="soak*"), 5)
        if reply.ok and len(reply.data["agents"]) == len(AGENTS):
            break
        time.sleep(0.5)
    d.wait_up(AGENTS)
    target = ",".join(AGENTS)
    idle = [d.ping(target, len(AGENTS), timeout=10)[0] for _ in range(30)]
    master_idle = tree_memory(d.master.pid).rss_mib
    agent_idle = max(tree_memory(p.pid).rss_mib for p in d.agents.values())
    # The attackers run in their own process, so their loops do not slow this one's client.
    import multiprocessing

    mp = multiprocessing.get_context("fork")
    parent, child = mp.Pipe()
    attacker = mp.Process(target=_attack, args=(d, child), daemon=True)
    attacker.start()
    samples, lost, peak = [], 0, master_idle
    end = time.monotonic() + minutes * 60
    try:
        while time.monotonic() < end:
            dt, ok = d.ping(target, len(AGENTS), timeout=10)
            samples.append(dt)
            lost += 0 if ok else 1
            peak = max(peak, tree_memory(d.master.pid).rss_mib)
            time.sleep(0.2)
    finally:
        parent.send("stop")
        sent = parent.recv() if parent.poll(30) else {}
        attacker.join(10)
        if attacker.is_alive():
            attacker.kill()
    master_end = tree_memory(d.master.pid).rss_mib
    agent_end = max(tree_memory(p.pid).rss_mib for p in d.agents.values())
    return SoakResult(minutes, _percentile(idle, 0.5), _percentile(samples, 0.5), _percentile(samples, 0.95),
                      _percentile(samples, 0.99), len(samples), lost, master_idle, peak, master_end, agent_idle,
                      agent_end, sent)


def render(r: SoakResult, date: str) -> str:
    ms = lambda s: f"{s * 1000:.0f} ms"  # noqa: E731
    met = r.lost == 0 and r.p99 < 10 * r.idle_p50
    return "\n".join([
        f"# saline hostile soak — {date}", "",
        f"Machine: {machine_line()}. One saline-master, two saline-agents, attackers in another process for "
        f"{r.minutes:g} min: {', '.join(f'{k} {v:,}' for k, v in r.sent.items())} frames sent.", "",
        markdown_table(["good test.ping", "idle p50", "p50", "p95", "p99", "jobs", "lost"],
                       [["2 agents", ms(r.idle_p50), ms(r.p50), ms(r.p95), ms(r.p99), str(r.jobs), str(r.lost)]]),
        "",
        markdown_table(["RSS MiB", "idle", "peak", "end"],
                       [["master", f"{r.master_rss_idle:.0f}", f"{r.master_rss_peak:.0f}", f"{r.master_rss_end:.0f}"],
                        ["agent (largest)", f"{r.agent_rss_idle:.0f}", "-", f"{r.agent_rss_end:.0f}"]]),
        "", f"Target: 0 lost and p99 < 10x idle p50: {'met' if met else '**missed**'}",
    ])


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    date = time.strftime("%Y-%m-%d %H:%M")
    procs = Procs()
    tmp = Path(tempfile.mkdtemp(prefix="saline-soak-"))
    try:
        result = soak(tmp, procs, args.minutes)
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    markdown = render(result, date)
    data = {"date": date, "machine": machine_line(), **asdict(result)}
    md, js = write_results("soak", markdown, data)
    print(json.dumps(data, indent=2) if args.json else markdown)
    print(f"\nwritten: {md} {js}", file=sys.stderr)
    return 0 if result.lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
