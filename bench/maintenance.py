"""Rolling maintenance on the lab: wall time per node split by step, the longest resource
gap, next to the floor Pacemaker itself needs for the same moves, measured in the same run.

    python bench/maintenance.py            # ~2 min: lab, master, agents, seed config, runs
    python bench/maintenance.py --runs 2 --json

The floor, per node, is what the same moves cost with Pacemaker's own tools and nothing
else: ``crm_attribute … standby on`` + ``crm_resource --wait`` and back (the moves the run
makes), and ``crm_resource --move`` of the node's group + wait, ``--clear`` + wait (what an
admin would type). The run's *overhead* is its time minus the work, the reboot and the
rejoin wait (the node's own restart, not the runner's), compared to the floor.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine_line, markdown_table, write_results  # noqa: E402

from saline.lab.demo import WATCHED, Demo, _exe  # noqa: E402
from saline.lab.lab import Lab  # noqa: E402
from saline.lab.watch import AvailabilityWatcher  # noqa: E402

STEPS = ("gates", "drain", "work", "reboot", "rejoin", "resync", "unstandby", "move_back", "cleanup")
NOT_OVERHEAD = ("work", "reboot", "rejoin")


def timed(lab: Lab, argvs: list[list[str]]) -> float:
    started = time.monotonic()
    for argv in argvs:
        r = lab.exec("node1", argv, timeout=120)
        if r.rc != 0:
            raise RuntimeError(f"{argv}: {r.stderr}")
    return time.monotonic() - started


def floor(lab: Lab, node: str, group: str, member: str) -> dict[str, float]:
    peer = next(n for n in lab.nodes if n != node)
    wait = ["crm_resource", "--wait", "--timeout=60s"]
    standby = ["crm_attribute", "--node", node, "--name", "standby", "--lifetime", "forever", "--update"]
    out = {"standby_round_trip": timed(lab, [standby + ["on"], wait, standby + ["off"], wait])}
    if node in lab.resource_location(node, member):  # the group runs here: move it away and back
        out["move_round_trip"] = timed(lab, [["crm_resource", "--move", "--resource", group, "--node", peer], wait,
                                             ["crm_resource", "--clear", "--resource", group], wait])
    return out


def maintenance_run(d: Demo, work: str) -> tuple[dict, AvailabilityWatcher]:
    with AvailabilityWatcher(d.lab, WATCHED) as watcher:
        d.saline("maintenance", "run", "--work", work, "--reboot", "always")
    r = subprocess.run([_exe("saline"), "--socket", str(d.sock), "--json", "maintenance", "status"],
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout)["run"], watcher


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=1, help="maintenance runs (each over both nodes)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--state-dir", default="/run/saline-lab-bench")
    ap.add_argument("--prefix", default="slbench")
    args = ap.parse_args()

    lab = Lab(state_dir=args.state_dir, prefix=args.prefix)
    d = Demo(lab)
    per_node: dict[str, dict[str, list[float]]] = {n: {s: [] for s in STEPS} for n in lab.nodes}
    gaps: dict[str, list[float]] = {n: [] for n in lab.nodes}
    floors: dict[str, list[dict[str, float]]] = {n: [] for n in lab.nodes}
    try:
        lab.up()
        d.connect_agents()
        d.saline("apply", "*")
        lab.exec("node1", ["crm_resource", "--wait", "--timeout=60s"], timeout=90)
        for _ in range(args.runs):
            for node in lab.nodes:
                floors[node].append(floor(lab, node, "grp_lxc1", "lxc_ct1"))
            run, watcher = maintenance_run(d, "state:maintained")
            if run["status"] != "done":
                raise RuntimeError(f"maintenance run {run['status']}: {run.get('error')}")
            for s in run["steps"]:
                per_node[s["node"]][s["step"]].append(s["finished"] - s["started"])
            for node in lab.nodes:
                mine = [s for s in run["steps"] if s["node"] == node]
                gaps[node].append(watcher.gaps.longest_between(mine[0]["started"], mine[-1]["finished"])[1])
    finally:
        d.stop()
        lab.down()

    med = statistics.median
    rows, data = [], {"machine": machine_line(), "runs": args.runs, "nodes": {}}
    for node in lab.nodes:
        steps = {s: med(v) for s, v in per_node[node].items() if v}
        total = sum(steps.values())
        overhead = total - sum(steps.get(s, 0.0) for s in NOT_OVERHEAD)
        fl = {k: med([f[k] for f in floors[node] if k in f]) for k in {k for f in floors[node] for k in f}}
        ratio = overhead / fl["standby_round_trip"]
        data["nodes"][node] = {"steps": steps, "total": total, "overhead": overhead, "floor": fl,
                               "overhead_vs_floor": ratio, "longest_gap": med(gaps[node])}
        rows.append([node] + [f"{steps.get(s, 0):.2f}" for s in STEPS] +
                    [f"{total:.1f}", f"{overhead:.1f}", f"{fl['standby_round_trip']:.1f}",
                     f"{fl['move_round_trip']:.1f}" if "move_round_trip" in fl else "–",
                     f"{ratio:.2f}×", f"{med(gaps[node]):.1f}"])
    header = ["node", *STEPS, "total s", "overhead s", "floor standby s", "floor move s", "overhead/floor",
              "longest gap s"]
    md = f"Rolling maintenance, {args.runs} run(s), medians; {machine_line()}\n\n" + markdown_table(header, rows)
    write_results("maintenance", md, data)
    print(json.dumps(data, indent=2) if args.json else md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
