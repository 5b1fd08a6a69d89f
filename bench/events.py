"""Failover-event-to-reaction latency on the lab.

    python bench/events.py [--failovers 5] [--json]

Brings up the lab, the demo's master and agents and its cluster configuration (with
saline's alert agent and a gratuitous-ARP reaction for the stand-in container), then
kills the node running the container N times (restarting it and its agent in between).
Per failover: kill → the start event stored at the master (Pacemaker's failover time
plus the alert's way), the reaction's start after the agent received the alert (the
part saline adds; target < 500 ms), and kill → the first gratuitous ARP seen on the
killed node's bridge. No timing is asserted anywhere; see bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine_line, markdown_table, write_results  # noqa: E402

from saline.lab import failover_events  # noqa: E402
from saline.lab.demo import FAILOVER_RSC, Demo  # noqa: E402
from saline.lab.lab import Lab  # noqa: E402


def stats(values: list[float], unit: float = 1.0, fmt: str = "{:.2f}") -> str:
    if not values:
        return "-"
    return (f"{fmt.format(statistics.median(values) * unit)} (min {fmt.format(min(values) * unit)}, "
            f"max {fmt.format(max(values) * unit)})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--failovers", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--state-dir", default="/run/saline-lab-evbench")
    ap.add_argument("--prefix", default="slevb")
    args = ap.parse_args()
    lab = Lab(state_dir=args.state_dir, prefix=args.prefix)
    d = Demo(lab)
    runs: list[dict] = []
    try:
        lab.up()
        d.connect_agents()
        d.saline("apply", "*")
        lab.exec("node1", ["crm_resource", "--wait"], timeout=120)

        def events() -> list[dict]:
            import subprocess

            from saline.lab.demo import _exe

            r = subprocess.run([_exe("saline"), "--socket", str(d.sock), "--json", "events", "--limit", "500"],
                               text=True, capture_output=True, check=True)
            return json.loads(r.stdout)

        for _ in range(args.failovers):
            got = failover_events.failover(lab, events, FAILOVER_RSC)
            runs.append({k: v for k, v in got.items() if k != "event"})
            lab.start(got["killed"])
            d.agent_pids[got["killed"]] = lab.start_agent(got["killed"],
                                                          lab.node_shared_dir(got["killed"]) / "agent" / "agent.yaml")
            d.wait_agents("up")
            # The group prefers node1: wait for any failback to finish, or the next kill can
            # hit a node the container is just leaving (its start then precedes the kill).
            lab.exec(got["killed"], ["crm_resource", "--wait"], timeout=120)
    finally:
        d.stop()
        lab.down()
    rows = [[str(len(runs)), stats([r["kill_to_event"] for r in runs]) + " s",
             stats([r["reaction_latency"] for r in runs], 1000, "{:.0f}") + " ms",
             stats([r["kill_to_garp"] for r in runs if r["kill_to_garp"] is not None]) + " s",
             str(sum(1 for r in runs if not r["garps"]))]]
    worst = max((r["reaction_latency"] for r in runs), default=float("inf"))
    markdown = "\n".join([
        "# Failover event → reaction on the lab", "", f"Machine: {machine_line()}.", "",
        markdown_table(["failovers", "kill → start event at the master (median, min, max)",
                        "agent got the alert → reaction started", "kill → first gratuitous ARP on the LAN",
                        "failovers without ARP seen"], rows), "",
        f"Target: reaction started < 500 ms after the agent receives the alert: "
        f"{'met' if worst < 0.5 else '**missed**'} (max {worst * 1000:.0f} ms)",
    ])
    data = {"machine": machine_line(), "runs": runs}
    md, js = write_results("events", markdown, data)
    print(json.dumps(data, indent=2) if args.json else markdown)
    print(f"\nwritten: {md} {js}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
