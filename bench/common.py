"""Shared pieces of the benchmarks: processes we start (and always stop), timing
statistics, memory of a process tree, the 100-state SLS, Markdown tables.

Every process is started in its own session (its own process group) and stopped by
that group's id, so nothing is left behind on Ctrl-C or an exception.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, TypeVar

BIN = Path(sys.executable).parent
RESULTS = Path(os.environ.get("SALINE_BENCH_RESULTS") or Path(__file__).resolve().parent / "results")
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.05) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")


# ---- processes ----------------------------------------------------------------------


class Procs:
    """Every process the benchmark starts. ``stop_all`` ends each by its process group."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen] = []

    def start(self, argv: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                 start_new_session=True, env=env)
        self.started.append(p)
        return p

    def stop(self, p: subprocess.Popen, grace: float = 5.0) -> None:
        if p.poll() is None:
            _signal_group(p.pid, signal.SIGTERM)
            try:
                p.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        # The group may hold children (salt's worker processes) after the leader left.
        _signal_group(p.pid, signal.SIGKILL)
        if p.poll() is None:
            p.wait(5)
        _wait_group_gone(p.pid, 10.0)

    def stop_all(self) -> None:
        for p in reversed(self.started):
            try:
                self.stop(p, grace=3.0)
            except Exception as exc:  # keep stopping the others
                print(f"bench: could not stop pid {p.pid}: {exc}", file=sys.stderr)
        self.started.clear()


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _wait_group_gone(pgid: int, timeout: float) -> None:
    """Until no process of the group is left (salt-minion refuses to start while its
    previous instance still exists, even as a dying child)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.02)


# ---- memory and cpu -------------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (from /proc/*/stat parent ids)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


@dataclass
class Memory:
    rss_mib: float
    pss_mib: float
    processes: int


def tree_memory(pid: int) -> Memory:
    """RSS and PSS summed over a process and its descendants (smaps_rollup)."""
    rss = pss = 0
    pids = process_tree(pid)
    for p in pids:
        try:
            text = Path(f"/proc/{p}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            key, _, rest = line.partition(":")
            if key == "Rss":
                rss += int(rest.split()[0])
            elif key == "Pss":
                pss += int(rest.split()[0])
    return Memory(rss / 1024, pss / 1024, len(pids))


def tree_cpu_seconds(pid: int) -> float:
    """utime + stime of a process tree (threads included), in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


# ---- statistics and output ---------------------------------------------------------------


@dataclass
class Stats:
    n: int
    min: float
    median: float
    max: float

    @classmethod
    def of(cls, samples: Iterable[float]) -> "Stats":
        xs = sorted(samples)
        if not xs:
            raise ValueError("no samples")
        return cls(len(xs), xs[0], statistics.median(xs), xs[-1])


def fmt_seconds(s: float) -> str:
    if s < 0.01:
        return f"{s * 1000:.2f} ms"
    if s < 1:
        return f"{s * 1000:.1f} ms"
    return f"{s:.2f} s"


def fmt_stats(st: Stats | None) -> str:
    if st is None:
        return "–"
    return f"{fmt_seconds(st.median)} ({fmt_seconds(st.min)} – {fmt_seconds(st.max)})"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def write_results(name: str, markdown: str, data: dict) -> tuple[Path, Path]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    md, js = RESULTS / f"{name}-{stamp}.md", RESULTS / f"{name}-{stamp}.json"
    md.write_text(markdown + "\n")
    js.write_text(json.dumps(data, indent=2, default=_jsonable) + "\n")
    return md, js


def _jsonable(obj: object) -> object:
    if hasattr(obj, "__dataclass_fields__"):
        return asdict(obj)  # type: ignore[arg-type]
    return str(obj)


def machine_line() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), Python {sys.version.split()[0]}"


# ---- the state tree both tools apply --------------------------------------------------------


def file_states_sls(count: int, prefix: str) -> str:
    """``count`` file.managed states, Salt's SLS shape; paths under ``prefix``/bench."""
    out = []
    for i in range(count):
        out.append(
            f"{prefix}/bench/f{i:03d}.conf:\n"
            f"  file.managed:\n"
            f"    - contents: |\n"
            f"        # managed by the benchmark\n"
            f"        key{i}=value{i}\n"
            f"    - mode: \"0644\"\n"
            f"    - makedirs: True\n"
        )
    return "\n".join(out)
