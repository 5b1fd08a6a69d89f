#!/usr/bin/env python3
"""saline next to Salt on the same machine, in one run, interleaved (A, B, A, B ...).

    python bench/compare_salt.py [--reps-scale 1.0] [--agents 10] [--no-salt] [--json]

Starts a saline master + agents and a salt-master + salt-minions on 127.0.0.1 under a
temp dir (auto-accept, for the benchmark only), measures the same work on both and
prints a Markdown table of medians (min – max) with the ratio Salt/saline; writes it
and a JSON file to bench/results/. ``SALINE_BENCH_SALT=0`` or ``--no-salt`` skips Salt.
Every process it starts is stopped by its process group, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    Memory, Procs, Stats, file_states_sls, fmt_seconds, fmt_stats, machine_line, markdown_table, tree_memory,
    write_results,
)
from floor import signed_round_trip_floor  # noqa: E402
from saline_side import SalineDeployment  # noqa: E402

STATE_COUNT = 100


@dataclass
class Item:
    key: str
    title: str
    saline: Stats | None = None
    salt: Stats | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.saline and self.salt and self.saline.median > 0:
            return self.salt.median / self.saline.median
        return None


@dataclass
class Report:
    date: str
    machine: str
    saline_version: str
    salt_version: str | None
    agents: int
    items: list[Item] = field(default_factory=list)
    floor: Stats | None = None
    memory: dict[str, Memory] = field(default_factory=dict)
    targets: list[dict[str, Any]] = field(default_factory=list)


class Bench:
    def __init__(self, base: Path, procs: Procs, scale: float, agents: int, salt_venv: Path | None):
        self.base, self.procs, self.scale, self.n_agents = base, procs, scale, agents
        self.saline = SalineDeployment(base / "saline", procs)
        self.salt = None
        if salt_venv is not None:
            from salt_side import SaltDeployment

            self.salt = SaltDeployment(base / "salt", procs, salt_venv)

    def reps(self, n: int) -> int:
        return max(2, round(n * self.scale))

    def interleave(self, reps: int, a: Callable[[], float], b: Callable[[], float] | None) -> tuple[Stats, Stats | None]:
        xs, ys = [], []
        for _ in range(reps):
            xs.append(a())
            if b is not None:
                ys.append(b())
        return Stats.of(xs), (Stats.of(ys) if ys else None)

    # ---- setup -------------------------------------------------------------------------------
    def start(self) -> None:
        self.saline.start_master()
        self.saline.start_agent("a01")
        (self.saline.states / "bench.sls").write_text(file_states_sls(STATE_COUNT, ""))
        if self.salt:
            self.salt.start_master()
            self.salt.start_minion("m01")
            self.salt.start_worker()
            (self.salt.file_root / "bench.sls").write_text(file_states_sls(STATE_COUNT, str(self.salt.target_root("m01"))))
        self.saline.wait_up(["a01"])
        if self.salt:
            self.salt.wait_up(["m01"])

    # ---- work items ---------------------------------------------------------------------------
    def api_round_trip(self) -> Item:
        def saline() -> float:
            dt, ok = self.saline.ping("a01", 1)
            assert ok, "saline test.ping failed"
            return dt

        def salt() -> float:
            assert self.salt
            dt, ok = self.salt.ping("m01", 1)
            assert ok, "salt test.ping failed"
            return dt

        saline(), self.salt and salt()  # warm both once
        a, b = self.interleave(self.reps(50), saline, salt if self.salt else None)
        return Item("api_round_trip", "1. job round trip, 1 agent, Python API (test.ping)", a, b)

    def cli_round_trip(self) -> Item:
        a, b = self.interleave(self.reps(10), lambda: self.saline.cli_ping("a01"),
                               (lambda: self.salt.cli_ping("m01")) if self.salt else None)
        return Item("cli_round_trip", "2. job round trip, 1 agent, CLI (`saline run a01 test.ping` vs `salt m01 test.ping`)", a, b)

    def applies(self) -> list[Item]:
        def saline(test: bool, want_changed: int) -> float:
            dt, s = self.saline.apply("a01", ["bench"], test)
            check("saline", s, test, want_changed)
            return dt

        def salt(test: bool, want_changed: int) -> float:
            assert self.salt
            dt, s = self.salt.apply("m01", "bench", test)
            check("salt", s, test, want_changed)
            return dt

        first_a = Stats.of([saline(False, STATE_COUNT)])
        first_b = Stats.of([salt(False, STATE_COUNT)]) if self.salt else None
        conv_a, conv_b = self.interleave(self.reps(10), lambda: saline(False, 0),
                                         (lambda: salt(False, 0)) if self.salt else None)
        test_a, test_b = self.interleave(self.reps(10), lambda: saline(True, 0),
                                         (lambda: salt(True, 0)) if self.salt else None)
        return [
            Item("apply_first", f"4a. first apply of {STATE_COUNT} file.managed (all change), 1 agent", first_a, first_b),
            Item("apply_converged", f"4b. converged apply of {STATE_COUNT} file.managed, 1 agent", conv_a, conv_b),
            Item("apply_test", f"5. test=True of the same {STATE_COUNT} states (converged)", test_a, test_b),
        ]

    def start_to_first_job(self) -> Item:
        """Restart the (accepted) agent; time from process start to its first good test.ping."""
        def saline() -> float:
            self.saline.stop_agent("a01")
            t0 = time.time()
            self.saline.start_agent("a01")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if self.saline.ping("a01", 1, timeout=1)[1]:
                    return time.time() - t0
                time.sleep(0.02)
            raise TimeoutError("saline agent did not answer within 60 s of its start")

        def salt() -> float:
            assert self.salt
            self.salt.stop_minion("m01")
            t0 = time.time()
            self.salt.start_minion("m01")
            done = self.salt.wait_first_ping("m01")
            if done is None:
                raise TimeoutError("salt-minion did not answer within 120 s of its start")
            return done - t0

        a, b = self.interleave(self.reps(3), saline, salt if self.salt else None)
        return Item("start_to_first_job", "7. agent process start → first successful job (restart, key accepted)", a, b,
                    note="Salt polled with test.ping timeout=1 s; saline with a 1 s job timeout")

    def fan_out(self) -> Item:
        n = self.n_agents
        ids = [f"a{i:02d}" for i in range(2, n + 1)]
        mids = [f"m{i:02d}" for i in range(2, n + 1)]
        for aid in ids:
            self.saline.start_agent(aid)
        if self.salt:
            for mid in mids:
                self.salt.start_minion(mid)
        self.saline.wait_up(["a01", *ids])
        if self.salt:
            self.salt.wait_up(["m01", *mids], timeout=300)

        def saline() -> float:
            dt, ok = self.saline.ping("*", n)
            assert ok, "saline fan-out: not every agent answered"
            return dt

        def salt() -> float:
            assert self.salt
            dt, ok = self.salt.ping("*", n)
            assert ok, "salt fan-out: not every minion answered"
            return dt

        saline(), self.salt and salt()
        a, b = self.interleave(self.reps(20), saline, salt if self.salt else None)
        return Item("fan_out", f"3. fan-out test.ping to {n} agent processes", a, b)

    def idle_memory(self) -> dict[str, Memory]:
        """After the runs: the agents that only answered test.ping, and the one that also
        ran the 100-state applies (a01 / m01), each summed over its processes."""
        time.sleep(3)
        out: dict[str, Memory] = {}
        out["saline_agent"] = average([tree_memory(p.pid) for a, p in self.saline.agents.items() if a != "a01"]
                                      or [tree_memory(self.saline.agents["a01"].pid)])
        out["saline_agent_after_applies"] = tree_memory(self.saline.agents["a01"].pid)
        assert self.saline.master is not None
        out["saline_master"] = tree_memory(self.saline.master.pid)
        if self.salt:
            out["salt_minion"] = average([tree_memory(p.pid) for m, p in self.salt.minions.items() if m != "m01"]
                                         or [tree_memory(self.salt.minions["m01"].pid)])
            out["salt_minion_after_applies"] = tree_memory(self.salt.minions["m01"].pid)
            assert self.salt.master is not None
            out["salt_master"] = tree_memory(self.salt.master.pid)
        return out


def check(tool: str, summary: dict[str, Any], test: bool, want_changed: int) -> None:
    if summary["states"] != STATE_COUNT or summary["failed"]:
        raise RuntimeError(f"{tool} apply: {summary}")
    changed = summary["would_change"] if test else summary["changed"]
    if changed != want_changed:
        raise RuntimeError(f"{tool} apply (test={test}): expected {want_changed} changes, got {summary}")


def average(mems: list[Memory]) -> Memory:
    n = max(1, len(mems))
    return Memory(sum(m.rss_mib for m in mems) / n, sum(m.pss_mib for m in mems) / n,
                  round(sum(m.processes for m in mems) / n))


# ---- targets and output ------------------------------------------------------------------------


def judge(report: Report) -> None:
    items = {i.key: i for i in report.items}
    targets: list[dict[str, Any]] = []

    def add(name: str, value: str, met: bool | None) -> None:
        targets.append({"target": name, "measured": value, "met": met})

    api = items.get("api_round_trip")
    if api:
        r = api.ratio
        add("API round trip ≥ 20× faster than Salt", f"{r:.1f}×" if r else "–", (r >= 20) if r else None)
        if report.floor and api.saline:
            f = api.saline.median / report.floor.median
            add("API round trip within 5× of the signed CURVE floor",
                f"{f:.1f}× ({fmt_seconds(api.saline.median)} vs {fmt_seconds(report.floor.median)})", f <= 5)
    cli = items.get("cli_round_trip")
    if cli:
        r = cli.ratio
        add("CLI round trip ≥ 4× faster", f"{r:.1f}×" if r else "–", (r >= 4) if r else None)
    conv = items.get("apply_converged")
    if conv:
        r = conv.ratio
        add(f"{STATE_COUNT}-state converged apply ≥ 10× faster", f"{r:.1f}×" if r else "–", (r >= 10) if r else None)
    agent = report.memory.get("saline_agent")
    if agent:
        minion = report.memory.get("salt_minion")
        rel = f", {agent.rss_mib / minion.rss_mib:.2f}× a salt-minion" if minion else ""
        add("agent idle RSS ≤ 48 MiB", f"{agent.rss_mib:.1f} MiB{rel}", agent.rss_mib <= 48)
    report.targets = targets


def render(report: Report) -> str:
    lines = [
        f"# saline vs Salt — {report.date}",
        "",
        f"Machine: {report.machine}. saline {report.saline_version}, "
        f"Salt {report.salt_version or 'not run'}. Medians (min – max); ratio = Salt median / saline median.",
        "",
    ]
    rows = []
    for it in report.items:
        ratio = f"{it.ratio:.1f}×" if it.ratio else "–"
        rows.append([it.title, fmt_stats(it.saline), fmt_stats(it.salt), ratio, str(it.saline.n if it.saline else 0)])
    lines.append(markdown_table(["work", "saline", "Salt", "Salt/saline", "reps"], rows))
    if report.floor:
        lines += ["", f"Signed CURVE round-trip floor (one process, no master/agent): {fmt_stats(report.floor)}"]
    if report.memory:
        lines += ["", "6. Idle memory after the runs (sum over each daemon's processes; agent/minion = mean over "
                      "those that only ran test.ping; 'after applies' = the one that ran the state items):", ""]
        mrows = [[k.replace("_", " "), f"{m.rss_mib:.1f}", f"{m.pss_mib:.1f}", str(m.processes)]
                 for k, m in report.memory.items()]
        lines.append(markdown_table(["daemon", "RSS MiB", "PSS MiB", "processes"], mrows))
    if report.targets:
        lines += ["", "Targets:", ""]
        trows = [[t["target"], t["measured"], {True: "met", False: "**missed**", None: "–"}[t["met"]]]
                 for t in report.targets]
        lines.append(markdown_table(["target", "measured", ""], trows))
    notes = [f"- {it.title}: {it.note}" for it in report.items if it.note]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)


# ---- main ------------------------------------------------------------------------------------------


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def salt_enabled(no_salt: bool) -> bool:
    return not no_salt and os.environ.get("SALINE_BENCH_SALT", "1") != "0"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps-scale", type=float, default=1.0, help="multiply every repetition count (min 2)")
    ap.add_argument("--agents", type=int, default=10, help="agents/minions for the fan-out item (default 10)")
    ap.add_argument("--no-salt", action="store_true", help="measure saline only (also SALINE_BENCH_SALT=0)")
    ap.add_argument("--salt-venv", type=Path, default=None, help="venv with Salt (installed there if missing)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (configs, logs) for a look afterwards")
    ap.add_argument("--json", action="store_true", help="print the JSON report instead of the Markdown table")
    args = ap.parse_args(argv)
    if args.agents < 1:
        ap.error("--agents must be at least 1")

    from saline.protocol import __version__

    salt_venv, salt_version = None, None
    if salt_enabled(args.no_salt):
        from salt_side import default_venv, ensure_salt

        salt_venv = args.salt_venv or default_venv()
        salt_version = ensure_salt(salt_venv)

    # SIGTERM ends the run through the same finally as Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupt)
    procs = Procs()
    report = Report(time.strftime("%Y-%m-%d %H:%M"), machine_line(), __version__, salt_version, args.agents)
    tmp = tempfile.mkdtemp(prefix="saline-bench-")
    try:
        report.floor = signed_round_trip_floor(max(50, round(300 * args.reps_scale)))
        bench = Bench(Path(tmp), procs, args.reps_scale, args.agents, salt_venv)
        bench.start()
        report.items.append(bench.api_round_trip())
        report.items.append(bench.cli_round_trip())
        report.items.append(bench.start_to_first_job())
        report.items.extend(bench.applies())
        report.items.append(bench.fan_out())
        report.memory = bench.idle_memory()
    finally:
        procs.stop_all()
        if args.keep:
            print(f"bench: kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    judge(report)
    markdown = render(report)
    data = asdict(report)
    for d, it in zip(data["items"], report.items):
        d["ratio"] = it.ratio
    md_path, js_path = write_results("compare_salt", markdown, data)
    if args.json:
        print(json.dumps(data, indent=2, default=str))
    else:
        print(markdown)
    print(f"\nwritten: {md_path} {js_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
