#!/usr/bin/env python3
"""Many saline agents in ONE process against a real saline-master (like Salt's
minionswarm): each simulated agent has its own key pair, agent id and CURVE DEALER
socket, says hello, and answers jobs the way a real agent does (verify the master's
signature, check the target, sign the return, drop it on ack).

    python bench/swarm.py [--agents 100,1000] [--rounds 5] [--events 20000] [--json]

Per size: ``test.ping`` to all through the master's Python API, time until the master
has every return, master CPU seconds and RSS, and returns lost (must be 0). The master
runs with auto_accept (benchmark only). Key pairs are generated once per run into the
run's temp dir.

``--events N``: an event flood after the pings: the agents (up to 100 of them) send N
signed Pacemaker-alert events between them as fast as the master acks them, each
resent until acked (as a real agent's spool does); a reaction file matches every event
(debounced per node, so it exercises matching, not job fan-out). Reported: events/s
stored (counted in the master's database), master CPU per 1,000 events, and events
lost (sent but never stored: must be 0).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import select
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import msgpack  # noqa: E402
import yaml  # noqa: E402
import zmq  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from saline.agent.pinning import fetch_master_bundle  # noqa: E402
from saline.protocol import __version__  # noqa: E402
from saline.protocol.codec import decode_message, pack  # noqa: E402
from saline.protocol.errors import ProtocolError  # noqa: E402
from saline.protocol.keys import KeySet  # noqa: E402
from saline.protocol.messages import Ack, EventAck, EventBody, Hello, Job, Welcome  # noqa: E402
from saline.protocol.signing import open_job, sign_event  # noqa: E402
from saline.protocol.sodium import Signer, Verifier  # noqa: E402

from common import Memory, Procs, Stats, fmt_stats, machine_line, markdown_table, tree_cpu_seconds, tree_memory, write_results  # noqa: E402
from saline_side import SalineDeployment  # noqa: E402


# ---- keys -----------------------------------------------------------------------------------


def swarm_keys(cache: Path, count: int) -> list[KeySet]:
    """``count`` key sets, generated once and kept in ``cache`` (a pickle of raw keys)."""
    have: list[tuple[str, str, bytes]] = []
    if cache.exists():
        have = pickle.loads(cache.read_bytes())
    while len(have) < count:
        pub, sec = zmq.curve_keypair()
        raw = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
        have.append((sec.decode(), pub.decode(), raw))
    cache.write_bytes(pickle.dumps(have))
    return [KeySet(sec, pub, Ed25519PrivateKey.from_private_bytes(raw)) for sec, pub, raw in have[:count]]


# ---- the swarm ------------------------------------------------------------------------------


_EVENTS, _POLLIN = int(zmq.EVENTS), int(zmq.POLLIN)
_ACK_PREFIX = pack(Ack(jid="20000101000000000000-00000000"))[:9]  # fixmap(2) "kind": "ack"


def _packb(obj) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


class OncePerRoot:
    """The master signs one Merkle root per fan-out (protocol/merkle.py). A real agent checks
    that signature on its own CPU; here thousands of agents share two cores, so a process
    checks the signature over a given root once. Each simulated agent still hashes its own
    body and proof up to that root (``open_job``), then checks target, expiry and replay."""

    def __init__(self, verifier: Verifier):
        self.verifier = verifier
        self.good: set[tuple[bytes, bytes]] = set()

    def verify(self, sig: bytes, data: bytes) -> None:
        if (sig, data) in self.good:
            return
        self.verifier.verify(sig, data)  # raises on a bad signature: never remembered
        if len(self.good) > 1000:
            self.good.clear()
        self.good.add((sig, data))


class SimAgent:
    def __init__(self, agent_id: str, keys: KeySet, sock: zmq.Socket):
        self.agent_id, self.keys, self.sock = agent_id, keys, sock
        self.signer = Signer(keys.signer)
        self.accepted = False
        self.enrolling = True  # says hello on the enrolment port until accepted, then on the agent port
        self.spool: dict[str, bytes] = {}  # returns not yet acked
        self.seen: set[str] = set()
        self.events: dict[int, bytes] = {}  # events not yet acked
        self.event_acks = 0


class Swarm:
    def __init__(self, ctx: zmq.Context, master_endpoint: str, bootstrap: str, keys: list[KeySet], prefix: str,
                 first: int = 0, enrol_endpoint: str = ""):
        bundle = fetch_master_bundle(ctx, bootstrap, timeout=10)
        if bundle is None:
            raise RuntimeError("master bootstrap endpoint did not answer")
        # libsodium for the swarm's own signatures and checks (a real agent uses cryptography's
        # OpenSSL, 2x slower): the load generator must not be what a round waits for.
        self.master_verify = OncePerRoot(Verifier(bundle.sign_pub))
        self.facts = {"id": "", "kernel": "Linux", "saline_version": __version__}
        self.agents: list[SimAgent] = []
        # epoll over each socket's ZMQ_FD: a poll costs what is ready, not what is open
        # (zmq_poll over 4,000 sockets was ~95% of the swarm's time).
        self.by_fd: dict[int, SimAgent] = {}
        self.epoll = select.epoll()
        self.jobs_answered = 0
        self.refused = 0
        # The agent port admits accepted keys only: a new key says hello on the enrolment port.
        self.master_endpoint, self.enrol_endpoint = master_endpoint, enrol_endpoint
        for i, ks in enumerate(keys):
            s = ctx.socket(zmq.DEALER)
            s.curve_secretkey = ks.curve_secret.encode()
            s.curve_publickey = ks.curve_pub.encode()
            s.curve_serverkey = bundle.curve_pub.encode()
            s.linger = 0
            s.connect(enrol_endpoint)
            agent = SimAgent(f"{prefix}{first + i:05d}", ks, s)
            self.agents.append(agent)
            fd = s.getsockopt(zmq.FD)
            self.by_fd[fd] = agent
            self.epoll.register(fd, select.EPOLLIN)

    def hello_all(self) -> None:
        for a in self.agents:
            if not a.accepted:
                a.sock.send(pack(Hello(agent_id=a.agent_id, version=__version__, sign_pub=a.keys.public.sign_pub,
                                       facts={**self.facts, "id": a.agent_id})), zmq.NOBLOCK)

    def wait_accepted(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        next_hello = 0.0
        while time.monotonic() < deadline:
            if all(a.accepted for a in self.agents):
                self.registered = True
                return
            if time.monotonic() >= next_hello:
                self.hello_all()
                self.sweep()
                # Re-hello those still waiting, but never faster than the master can file them.
                waiting = sum(1 for a in self.agents if not a.accepted)
                next_hello = time.monotonic() + max(2.0, waiting / 1000)
            self.serve_once(100)
        missing = sum(1 for a in self.agents if not a.accepted)
        raise TimeoutError(f"{missing} swarm agents not accepted after {timeout:g}s")

    def serve_once(self, timeout_ms: int) -> None:
        # ZMQ_FD only says "look at ZMQ_EVENTS": drain each signalled socket until it has
        # nothing to read (reading ZMQ_EVENTS also clears the signal).
        for fd, _ in self.epoll.poll(timeout_ms / 1000):
            self._service(self.by_fd[fd])
        now = time.monotonic()
        if now >= self._next_sweep:
            self.sweep()

    _next_sweep = 0.0
    registered = False

    def sweep(self) -> None:
        """Look at every socket: a send outside ``_service`` (hellos, events) may have taken
        the signal of a frame that arrived meanwhile, and a new connection's first frame does
        not signal at all (libzmq signals a reader that has seen its pipe empty). Every 0.5 s
        while registering, every 2 s after: never lost for long."""
        self._next_sweep = time.monotonic() + (2.0 if self.registered else 0.5)
        for agent in self.agents:
            self._service(agent)

    def _service(self, agent: SimAgent) -> None:
        sock = agent.sock
        while sock.getsockopt(_EVENTS) & _POLLIN:  # plain ints: enum arithmetic was ~5% of the swarm
            try:
                raw = sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                break
            self._on_frame(agent, raw)

    def _on_frame(self, agent: SimAgent, raw: bytes) -> None:
        # Acks are most of what arrives and carry nothing to verify: read without the models
        # (the swarm shares the master's two cores; every microsecond here is the master's too).
        if raw.startswith(_ACK_PREFIX):
            try:
                agent.spool.pop(msgpack.unpackb(raw)["jid"], None)
                return
            except Exception:  # noqa: BLE001 - not a plain ack after all: the models decide
                pass
        try:
            msg = decode_message(raw)
        except ProtocolError:
            self.refused += 1
            return
        if isinstance(msg, Welcome) and msg.key_state == "accepted" and agent.enrolling:
            agent.enrolling = False
            agent.sock.disconnect(self.enrol_endpoint)
            agent.sock.connect(self.master_endpoint)  # queued until connected: hello there makes it "up"
            agent.sock.send(pack(Hello(agent_id=agent.agent_id, version=__version__, sign_pub=agent.keys.public.sign_pub,
                                       facts={**self.facts, "id": agent.agent_id})), zmq.NOBLOCK)
        elif isinstance(msg, Welcome):
            agent.accepted = msg.key_state == "accepted"
        elif isinstance(msg, Job):
            self._on_job(agent, msg)
        elif isinstance(msg, Ack):
            agent.spool.pop(msg.jid, None)
        elif isinstance(msg, EventAck):
            if agent.events.pop(msg.seq, None) is not None:
                agent.event_acks += 1

    def _on_job(self, agent: SimAgent, job: Job) -> None:
        try:
            body = open_job(job, self.master_verify)
        except ProtocolError:
            self.refused += 1
            return
        now = time.time()
        if agent.agent_id not in body.targets or now > body.not_after or body.jid in agent.seen:
            self.refused += 1
            return
        agent.seen.add(body.jid)
        # ReturnBody's fields in its order, packed without building the models (the master
        # validates them as it would a real agent's).
        raw = _packb({"jid": body.jid, "agent_id": agent.agent_id, "fun": body.fun, "success": True, "retcode": 0,
                      "data": True if body.fun == "test.ping" else None, "error": None, "started_at": now,
                      "finished_at": time.time()})
        frame = _packb({"body": raw, "sig": agent.signer.sign(raw), "kind": "return"})
        agent.spool[body.jid] = frame
        agent.sock.send(frame, zmq.NOBLOCK)
        self.jobs_answered += 1

    def close(self) -> None:
        self.epoll.close()
        for a in self.agents:
            a.sock.close(0)

    # ---- event flood --------------------------------------------------------------------------
    def flood(self, total: int, senders: int, timeout: float, window: int = 200) -> float:
        """Send ``total`` events from the first ``senders`` agents, at most ``window`` unacked
        per agent (a real agent's spool resends; ZeroMQ's queue must not drop). Seconds
        until every event is acked."""
        agents = self.agents[:senders]
        per = {a.agent_id: total // senders + (1 if i < total % senders else 0) for i, a in enumerate(agents)}
        next_seq = {a.agent_id: 1 for a in agents}
        sent_at: dict[tuple[str, int], float] = {}
        t0 = time.perf_counter()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            busy = False
            for a in agents:
                while len(a.events) < window and next_seq[a.agent_id] <= per[a.agent_id]:
                    seq = next_seq[a.agent_id]
                    body = EventBody(agent_id=a.agent_id, seq=seq, tag="pacemaker/resource/monitor", at=time.time(),
                                     data={"kind": "resource", "node": a.agent_id, "rsc": f"rsc{seq % 7}",
                                           "task": "monitor", "rc": 0, "crm_node_sequence": seq})
                    a.events[seq] = pack(sign_event(body, a.keys))
                    next_seq[a.agent_id] += 1
                    try:
                        a.sock.send(a.events[seq], zmq.NOBLOCK)
                        sent_at[(a.agent_id, seq)] = time.monotonic()
                    except zmq.Again:
                        pass
                busy = busy or bool(a.events) or next_seq[a.agent_id] <= per[a.agent_id]
            if not busy:
                return time.perf_counter() - t0
            self.serve_once(5)
            now = time.monotonic()
            for a in agents:  # the spool's resend
                for seq, frame in a.events.items():
                    if now - sent_at.get((a.agent_id, seq), 0) > 2.0:
                        try:
                            a.sock.send(frame, zmq.NOBLOCK)
                            sent_at[(a.agent_id, seq)] = now
                        except zmq.Again:
                            break
        return time.perf_counter() - t0


# ---- one size -----------------------------------------------------------------------------------


@dataclass
class FloodResult:
    events: int
    senders: int
    seconds: float
    events_per_second: float
    stored: int
    lost: int
    duplicates_stored: int
    master_cpu_per_1000: float
    reactions_recorded: int


def flood_reactions(master_dir: Path) -> None:
    """Every flood event matches; debounced per node, so one reaction per sender runs."""
    (master_dir / "reactor.d").mkdir(exist_ok=True)
    (master_dir / "reactor.d" / "flood.yaml").write_text(yaml.safe_dump({"reactions": [
        {"name": "flood-match", "match": {"tag": "pacemaker/resource/*", "rc": 0}, "debounce": 3600,
         "key": "{node}", "command": ["/bin/true"]}]}))


def run_flood(d, conn, total: int, agents: int) -> FloodResult:
    """The flood runs in the first swarm process (``conn`` is its pipe)."""
    import sqlite3

    senders = min(100, agents)
    cpu0 = tree_cpu_seconds(d.master.pid)
    conn.send(("flood", total, senders))
    seconds = _expect(conn, "the end of its event flood", max(120, total / 100) + 30, d.master)
    cpu1 = tree_cpu_seconds(d.master.pid)
    db = d.master_dir / "jobs.sqlite"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        stored, distinct = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT agent_id || ':' || seq) FROM node_events WHERE tag LIKE 'pacemaker/%'"
        ).fetchone()
        reactions = conn.execute("SELECT COUNT(*) FROM reactions").fetchone()[0]
    return FloodResult(total, senders, seconds, total / seconds if seconds else 0.0, stored, total - distinct,
                       stored - distinct, (cpu1 - cpu0) / total * 1000 if total else 0.0, reactions)


@dataclass
class SizeResult:
    agents: int
    register_seconds: float
    round_trip: Stats
    returned_min: int
    lost_total: int
    master_cpu_per_round: Stats
    swarm_cpu_per_round: Stats  # all swarm processes together: the load generator's own cost
    master_io_cpu_per_round: Stats  # of the master's: its libzmq I/O thread (CURVE, TCP)
    master_memory: Memory
    swarm_rss_mib: float
    flood: FloodResult | None = None
    load: str = ""  # the machine's 1-minute load average before → after (other users share the cores)


# Simulated agents per swarm process: two descriptors each (socket mailbox, TCP connection).
PER_PROCESS = 4000


def _swarm_process(endpoint: str, bootstrap: str, keys: list[KeySet], first: int, conn, register_timeout: float,
                   enrol: str) -> None:
    """One slice of the swarm in its own process: register, then answer jobs until told to stop."""
    ctx = zmq.Context()
    ctx.set(zmq.MAX_SOCKETS, len(keys) + 64)
    swarm = None
    try:
        swarm = Swarm(ctx, endpoint, bootstrap, keys, "sw", first, enrol)
        swarm.wait_accepted(timeout=register_timeout)
        conn.send(("accepted", None))
        while True:
            while not conn.poll(0):
                swarm.serve_once(5)
            command = conn.recv()
            if command == "stop":
                break
            _, total, senders = command  # ("flood", total, senders): an event flood from this slice
            conn.send(("flooded", swarm.flood(total, senders, timeout=max(120, total / 100))))
        end = time.monotonic() + 2  # let the last acks arrive: what stays spooled was never stored
        while time.monotonic() < end and any(a.spool for a in swarm.agents):
            swarm.serve_once(20)
        conn.send(("done", {"answered": swarm.jobs_answered, "refused": swarm.refused,
                            "unacked": sum(len(a.spool) for a in swarm.agents),
                            "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which fails clearly
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        if swarm is not None:
            swarm.close()
        ctx.term()


def _expect(conn, what: str, timeout: float, master) -> object:
    if not conn.poll(timeout):
        raise RuntimeError(f"a swarm process did not report {what} within {timeout:g}s "
                           f"(master alive: {master.poll() is None})")
    kind, value = conn.recv()
    if kind == "error":
        raise RuntimeError(f"a swarm process failed: {value}")
    return value


def io_thread_cpu_seconds(pid: int) -> float:
    """utime + stime of the process's libzmq I/O threads (CURVE, TCP): py-spy does not see them."""
    ticks, total = os.sysconf("SC_CLK_TCK"), 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:
            continue
        name, rest = stat.split("(", 1)[1].rsplit(")", 1)
        if name.startswith("ZMQbg/IO"):
            fields = rest.split()
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def _profiler(pid: int, out: Path | None):
    """py-spy sampling the master during the counted rounds (``--profile``), or None."""
    if out is None:
        return None
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        sys.exit("swarm: --profile needs py-spy (.venv/bin/pip install py-spy)")
    import subprocess

    return subprocess.Popen([spy, "record", "--pid", str(pid), "--rate", "200", "--format", "raw", "--nonblocking",
                             "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_size(base: Path, procs: Procs, n: int, rounds: int, keys: list[KeySet], events: int = 0,
             profile: Path | None = None) -> SizeResult:
    import multiprocessing

    d = SalineDeployment(base / f"swarm-{n}", procs)
    flood_reactions(d.master_dir)
    d.start_master()
    assert d.master is not None
    register_timeout = max(60, n * 0.02)
    load0 = os.getloadavg()[0]
    mp = multiprocessing.get_context("fork")
    children = []
    try:
        t0 = time.perf_counter()
        for first in range(0, n, PER_PROCESS):
            parent, child = mp.Pipe()
            p = mp.Process(target=_swarm_process, daemon=True,
                           args=(f"tcp://127.0.0.1:{d.port}", f"tcp://127.0.0.1:{d.bport}",
                                 keys[first:min(n, first + PER_PROCESS)], first, child, register_timeout,
                                 f"tcp://127.0.0.1:{d.eport}"))
            p.start()
            children.append((p, parent))
        for _, conn in children:
            _expect(conn, "its agents accepted", register_timeout + 30, d.master)
        register = time.perf_counter() - t0
        samples, cpu, swarm_cpu, io_cpu, returned_counts, lost = [], [], [], [], [], 0
        spy = None
        for r in range(rounds + 1):  # the first round warms up and is not counted
            cpu0 = tree_cpu_seconds(d.master.pid)
            io0 = io_thread_cpu_seconds(d.master.pid)
            swarm0 = sum(tree_cpu_seconds(p.pid) for p, _ in children)
            t0 = time.perf_counter()
            try:
                reply = d.client.request(_run_request(n), timeout=ROUND_LIMIT)
            except Exception as exc:  # noqa: BLE001
                raise RuntimeError(f"round {r}: the master did not answer test.ping to {n} agents within "
                                   f"{ROUND_LIMIT:g}s ({exc}; master alive: {d.master.poll() is None})") from None
            dt = time.perf_counter() - t0
            cpu1 = tree_cpu_seconds(d.master.pid)
            io1 = io_thread_cpu_seconds(d.master.pid)
            swarm1 = sum(tree_cpu_seconds(p.pid) for p, _ in children)
            if not reply.ok:
                raise RuntimeError(f"swarm test.ping failed: {reply.error}")
            returned = sum(1 for x in reply.data["returns"] if x["status"] == "returned" and x["data"] is True)
            time.sleep(0.5)
            if r == 0:
                spy = _profiler(d.master.pid, profile)
                continue
            samples.append(dt)
            cpu.append(cpu1 - cpu0)
            swarm_cpu.append(swarm1 - swarm0)
            io_cpu.append(io1 - io0)
            returned_counts.append(returned)
            lost += n - returned
        if spy is not None:
            spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
            spy.wait(30)
            print(f"master profile (py-spy raw, counted rounds): {profile}", file=sys.stderr)
        flood = run_flood(d, children[0][1], events, min(n, PER_PROCESS)) if events else None
        mem = tree_memory(d.master.pid)
        stats = []
        for _, conn in children:
            conn.send("stop")
            stats.append(_expect(conn, "its totals", 30, d.master))
        lost += sum(s["unacked"] for s in stats)
        swarm_rss = max(s["rss_mib"] for s in stats)
        return SizeResult(n, register, Stats.of(samples), min(returned_counts), lost, Stats.of(cpu), Stats.of(swarm_cpu),
                          Stats.of(io_cpu), mem, swarm_rss, flood, load=f"{load0:.1f} → {os.getloadavg()[0]:.1f}")
    finally:
        for p, _ in children:
            if p.is_alive():
                p.kill()
            p.join(5)
        procs.stop(d.master)


# Agents → the round-trip target (issue 7 for 1,000; issue 11 item 14 for 10,000).
TARGETS = {1000: 1.5, 10000: 5.0}

# A round that takes longer than this is a failure, never a hang.
ROUND_LIMIT = 120.0


def _run_request(n: int):
    from saline.protocol.control import RunRequest

    return RunRequest(target="sw*", fun="test.ping", timeout=60)


# ---- main ---------------------------------------------------------------------------------------


def render(results: list[SizeResult], date: str) -> str:
    rows = [[str(r.agents), fmt_stats(r.round_trip), f"{r.lost_total}", f"{r.master_cpu_per_round.median:.2f} s "
             f"({r.master_io_cpu_per_round.median:.2f} s)", f"{r.swarm_cpu_per_round.median:.2f} s", f"{r.master_memory.rss_mib:.0f}", f"{r.register_seconds:.1f} s",
             f"{r.round_trip.n}", r.load]
            for r in results]
    lines = [
        f"# saline agent swarm — {date}", "",
        f"Machine: {machine_line()}. One saline-master process; the agents simulated in processes of up to "
        f"{PER_PROCESS:,} (own keys, id and CURVE DEALER socket each; signatures verified and made as a real agent "
        "does, the fan-out's root signature once per process).", "",
        markdown_table(["agents", "test.ping to all, all returns stored (median, min – max)", "returns lost",
                        "master CPU per round (libzmq I/O thread)", "swarm CPU per round", "master RSS MiB",
                        "register all (hello → accepted)", "rounds", "load average"], rows),
    ]
    floods = [r for r in results if r.flood]
    if floods:
        lines += ["", "Event flood (signed events, acked after they are stored; a reaction file matching every event):", "",
                  markdown_table(["agents", "senders", "events", "events/s stored", "lost", "stored twice",
                                  "master CPU per 1,000 events", "reactions run"],
                                 [[str(r.agents), str(r.flood.senders), str(r.flood.events),
                                   f"{r.flood.events_per_second:.0f}", str(r.flood.lost), str(r.flood.duplicates_stored),
                                   f"{r.flood.master_cpu_per_1000:.2f} s", str(r.flood.reactions_recorded)]
                                  for r in floods])]
        for r in floods:
            met = r.flood.events_per_second >= 1000 and r.flood.lost == 0
            lines += ["", f"Target: 1,000 events/s stored with 0 lost ({r.agents} agents): "
                          f"{'met' if met else '**missed**'} ({r.flood.events_per_second:.0f}/s, lost {r.flood.lost})"]
    for r in results:
        limit = TARGETS.get(r.agents)
        if limit is not None:
            met = r.round_trip.median < limit and r.lost_total == 0
            lines += ["", f"Target: {r.agents:,} agents answer test.ping in < {limit:g} s with 0 lost: "
                          f"{'met' if met else '**missed**'} ({fmt_stats(r.round_trip)}, lost {r.lost_total})"]
    return "\n".join(lines)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agents", default="100,1000", help="comma list of swarm sizes (default 100,1000)")
    ap.add_argument("--rounds", type=int, default=5, help="counted test.ping rounds per size (default 5)")
    ap.add_argument("--events", type=int, default=0, help="event flood: this many events per size (0: none)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of the Markdown table")
    ap.add_argument("--profile", type=Path, help="py-spy the master during the counted rounds into this file "
                    "(raw collapsed stacks; one size only)")
    args = ap.parse_args(argv)
    sizes = [int(x) for x in args.agents.split(",") if x.strip()]
    if not sizes or min(sizes) < 1 or args.rounds < 1:
        ap.error("sizes and rounds must be positive")
    # One socket per agent in this process and one connection each in the master.
    # Two descriptors per simulated agent in its swarm process (PER_PROCESS agents each), one
    # per agent in the master.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = max(max(sizes), 2 * min(max(sizes), PER_PROCESS)) + 256
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, need)), hard))
    have = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if have < need:
        sys.exit(f"swarm: {max(sizes)} agents need about {need} open files per process; the limit is {have} "
                 f"(raise it with ulimit -n)")

    signal.signal(signal.SIGTERM, _interrupt)
    date = time.strftime("%Y-%m-%d %H:%M")
    procs = Procs()
    tmp = Path(tempfile.mkdtemp(prefix="saline-swarm-"))
    results: list[SizeResult] = []
    try:
        keys = swarm_keys(tmp / "keys.pickle", max(sizes))
        for n in sizes:
            results.append(run_size(tmp, procs, n, args.rounds, keys, args.events, args.profile))
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    markdown = render(results, date)
    data = {"date": date, "machine": machine_line(), "sizes": [asdict(r) for r in results]}
    md, js = write_results("swarm", markdown, data)
    print(json.dumps(data, indent=2, default=str) if args.json else markdown)
    print(f"\nwritten: {md} {js}", file=sys.stderr)
    return 1 if any(r.lost_total or (r.flood and r.flood.lost) for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
