"""``saline lab demo``: the main job, end to end, on one machine.

1. a real two-node Corosync + Pacemaker cluster in namespaces (the lab);
2. a saline-master on the host and a saline-agent *inside* each node, connected over
   ZeroMQ ipc sockets in the lab's shared directory (CURVE-encrypted, keys pinned);
3. the operator flow: keys pending → accepted, agents up, test.ping and facts.items;
4. a highstate through master → agents: dry run, apply, re-apply with no changes —
   the seed's cluster options and resource stack (with stand-ins where this kernel
   lacks DRBD/device-mapper) land in the live CIB, and Pacemaker starts them;
5. the main job: a rolling maintenance of both nodes (``saline maintenance plan`` and
   ``run``: gates, drain, a state apply as the work, a lab reboot, rejoin, resync wait,
   back in) while a watcher polls ``crm_mon``, then a summary per node (steps, time,
   longest resource gap);
6. failover hooks: the node running the container is killed; the container's start on
   the peer reaches the master as an event and the reactor sends gratuitous ARP for its
   address from there (seen on the dead node's bridge);
7. everything torn down again (unless --keep).

Every step runs the real ``saline`` CLI and prints the command first.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import yaml

from saline.agent.config import MAINTENANCE_FUNCTIONS, agent_config_in
from saline.master.config import master_config_in

from . import failover_events
from .lab import Lab
from .watch import AvailabilityWatcher

DEMO_STATES = Path(__file__).with_name("demo-states")
# The demo's top-level resources (deploy/lab/demo-states/cluster.sls).
WATCHED = ["ms_drbd_r1", "grp_lxc1"]
FAILOVER_RSC = "lxc_ct1"  # the stand-in container: its start after a failover triggers the reaction
BIN = Path(sys.executable).parent


def _exe(name: str) -> str:
    local = BIN / name
    return str(local) if local.exists() else (shutil.which(name) or name)


class Demo:
    def __init__(self, lab: Lab):
        self.lab = lab
        # Inside the lab's own state dir: created after `lab up`, removed by `lab down`,
        # so the demo never deletes a directory it did not make.
        self.work = Path(lab.state_dir) / "demo"
        self.sock = self.work / "master.sock"
        self.master: subprocess.Popen | None = None
        self.agent_pids: dict[str, int] = {}

    # ---- output -----------------------------------------------------------------------
    @staticmethod
    def step(title: str) -> None:
        click.secho(f"\n=== {title}", fg="cyan", bold=True)

    def saline(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        click.secho("$ saline " + " ".join(args), fg="yellow")
        r = subprocess.run([_exe("saline"), "--socket", str(self.sock), *args], text=True, capture_output=True)
        click.echo(r.stdout.rstrip())
        if r.stderr.strip():
            click.echo(r.stderr.rstrip(), err=True)
        if check and r.returncode != 0:
            raise click.ClickException(f"`saline {' '.join(args)}` exited {r.returncode}")
        return r

    # ---- processes -----------------------------------------------------------------------
    def start_master(self) -> None:
        shared = self.lab.shared_dir
        cfg = master_config_in(self.work, bind=f"ipc://{shared}/master.sock",
                               bootstrap_bind=f"ipc://{shared}/bootstrap.sock", enrol_bind=f"ipc://{shared}/enrol.sock",
                               control_socket=str(self.sock),
                               state_roots=[str(DEMO_STATES)])
        (self.work / "master.yaml").write_text(yaml.safe_dump(cfg))
        (self.work / "reactor.d").mkdir(exist_ok=True)
        (self.work / "reactor.d" / "failover.yaml").write_text(yaml.safe_dump(failover_events.reactions(
            self.lab, FAILOVER_RSC)))
        self.master = subprocess.Popen([_exe("saline-master"), "--config", str(self.work / "master.yaml")],
                                       start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while not self.sock.exists():
            if time.monotonic() > deadline or self.master.poll() is not None:
                raise click.ClickException(f"saline-master did not start; see {self.work / 'master.log'}")
            time.sleep(0.05)
        click.echo(f"saline-master running (pid {self.master.pid}), agents reach it at ipc://{shared}/master.sock")

    def start_agents(self) -> None:
        shared = self.lab.shared_dir
        for node in self.lab.nodes:
            home = self.lab.node_shared_dir(node) / "agent"
            shutil.rmtree(home, ignore_errors=True)
            # File states land in a per-node root: the lab's nodes share the host's /etc,
            # and the demo must never write the host's files.
            (home / "root" / "etc").mkdir(parents=True)
            (home / "agent.yaml").write_text(yaml.safe_dump(agent_config_in(
                home, node, f"ipc://{shared}/master.sock", f"ipc://{shared}/bootstrap.sock",
                master_enrol=f"ipc://{shared}/enrol.sock",
                state_root=str(home / "root"), heartbeat_interval=1.0,
                functions=["test.*", "facts.*", "state.*", "net.garp", *MAINTENANCE_FUNCTIONS],
                reboot_command=self.lab.reboot_command(node), **failover_events.AGENT_ALERT_SETTINGS)))
            self.agent_pids[node] = self.lab.start_agent(node, home / "agent.yaml")
            click.echo(f"saline-agent started inside {node} (pid {self.agent_pids[node]})")

    def wait_agents(self, state: str) -> None:
        import json

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            r = subprocess.run([_exe("saline"), "--socket", str(self.sock), "--json", "agents"], text=True,
                               capture_output=True)
            if r.returncode == 0 and sorted(a["id"] for a in json.loads(r.stdout) if a["state"] == state) == list(self.lab.nodes):
                return
            time.sleep(0.3)
        raise click.ClickException(f"agents did not become {state} within 30s")

    def stop(self) -> None:
        for node, pid in self.agent_pids.items():
            self.lab.stop_agent(node, pid)
        if self.master is not None and self.master.poll() is None:
            self.master.send_signal(signal.SIGTERM)
            try:
                self.master.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.master.pid, signal.SIGKILL)
        for node in self.lab.nodes:
            shutil.rmtree(self.lab.node_shared_dir(node) / "agent", ignore_errors=True)

    # ---- the story ----------------------------------------------------------------------------
    def connect_agents(self) -> None:
        """Master on the host, an agent in each node, keys accepted (after ``lab.up()``)."""
        self.work.mkdir(mode=0o700)
        (self.work / "pillar").mkdir()
        self.start_master()
        self.start_agents()
        self.wait_agents("pending")
        self.saline("keys", "list")
        self.saline("keys", "finger")
        self.saline("keys", "accept", "node*", "--yes")
        self.wait_agents("up")
        self.saline("agents")

    def run(self) -> None:
        self.step("1/7 cluster lab: two nodes, Corosync 3 + Pacemaker 2 in namespaces")
        took = self.lab.up()
        click.echo(f"lab up in {took:.1f}s")
        click.echo(self.lab.exec("node1", ["crm_mon", "-1"]).stdout.rstrip())

        self.step("2/7 master on the host, an agent inside each node")
        self.connect_agents()

        self.step("3/7 remote execution: signed jobs, signed returns")
        self.saline("run", "*", "test.ping")
        self._facts_summary()

        self.step("4/7 the seed's configuration through the master: dry run, apply, re-apply (no changes)")
        self.saline("apply", "*", "--test")
        self.saline("apply", "*")
        self.saline("apply", "*")
        click.echo(self.lab.exec("node1", ["crm_resource", "--wait"], timeout=120).stdout.rstrip())
        click.secho("$ saline lab exec node1 crm_mon -1", fg="yellow")
        click.echo(self.lab.exec("node1", ["crm_mon", "-1"]).stdout.rstrip())

        self.step("5/7 the main job: rolling maintenance, one node at a time, the service never down")
        self.saline("maintenance", "plan", "--work", "state:maintained", "--reboot", "always")
        with AvailabilityWatcher(self.lab, WATCHED) as watcher:
            self.saline("maintenance", "run", "--work", "state:maintained", "--reboot", "always")
        click.secho("$ saline lab exec node1 crm_mon -1", fg="yellow")
        click.echo(self.lab.exec("node1", ["crm_mon", "-1"]).stdout.rstrip())

        self.step("6/7 summary")
        self._maintenance_summary(watcher)

        self.step("7/7 failover hooks: a node dies, its container starts on the peer, the reactor announces it")
        self.failover_step()

    def failover_step(self) -> None:
        """Kill the node running the container; its start on the peer reaches the master as
        an event, and the reaction (gratuitous ARP for the container's address) runs there."""
        import json

        def events() -> list[dict]:
            r = subprocess.run([_exe("saline"), "--socket", str(self.sock), "--json", "events", "--limit", "500"],
                               text=True, capture_output=True, check=True)
            return json.loads(r.stdout)

        click.secho(f"$ saline lab kill <the node running {FAILOVER_RSC}>", fg="yellow")
        got = failover_events.failover(self.lab, events, FAILOVER_RSC)
        click.echo(f"killed {got['killed']}; {FAILOVER_RSC}'s start event at the master {got['kill_to_event']:.1f}s "
                   f"later; reaction started {got['reaction_latency'] * 1000:.0f} ms after the agent got the alert; "
                   f"{got['garps']} gratuitous ARP packets for {failover_events.garp_address(self.lab)} seen on the "
                   f"dead node's LAN")
        self.saline("events", "--tag", "pacemaker/resource/start", "--limit", "3")
        self.lab.start(got["killed"])
        self.agent_pids[got["killed"]] = self.lab.start_agent(
            got["killed"], self.lab.node_shared_dir(got["killed"]) / "agent" / "agent.yaml")
        self.wait_agents("up")
        click.echo(f"{got['killed']} and its agent are back")

    def _maintenance_summary(self, watcher: AvailabilityWatcher) -> None:
        import json

        r = subprocess.run([_exe("saline"), "--socket", str(self.sock), "--json", "maintenance", "status"],
                           text=True, capture_output=True)
        run = json.loads(r.stdout)["run"]
        click.echo(f"maintenance run {run['id']}: {run['status']}")
        for node in run["spec"]["nodes"]:
            steps = [s for s in run["steps"] if s["node"] == node and s.get("finished")]
            if not steps:
                continue
            start, end = steps[0]["started"], steps[-1]["finished"]
            rid, gap = watcher.gaps.longest_between(start, end)
            parts = ", ".join(f"{s['step']} {s['finished'] - s['started']:.1f}s" for s in steps if s["status"] != "skipped")
            click.echo(f"{node}: {end - start:.1f}s — {parts}")
            click.echo(f"{node}: longest resource gap {gap:.1f}s" + (f" ({rid}, during its own move)" if rid else " (none)"))
        click.echo(f"watcher: {watcher.gaps.samples} crm_mon samples; longest gap per resource: "
                   + ", ".join(f"{k} {v:.1f}s" for k, v in watcher.gaps.longest.items()))
        if run["status"] != "done":
            raise click.ClickException(f"the maintenance run ended {run['status']}: {run.get('error')}")

    def _facts_summary(self) -> None:
        import json

        click.secho("$ saline run '*' facts.items --json   (summarised)", fg="yellow")
        r = subprocess.run([_exe("saline"), "--socket", str(self.sock), "--json", "run", "*", "facts.items"],
                           text=True, capture_output=True)
        job = json.loads(r.stdout)
        for ret in job["returns"]:
            f = ret["data"] or {}
            click.echo(f"{ret['agent_id']}: hostname={f.get('hostname')} os={f.get('os_pretty')} "
                       f"kernel={f.get('kernelrelease')} interfaces={','.join(sorted(f.get('interfaces', {})))}")
        if r.returncode != 0:
            raise click.ClickException("facts.items failed")


@click.command("demo")
@click.option("--keep", is_flag=True, help="leave the lab, master and agents running afterwards")
@click.pass_context
def demo(ctx: click.Context, keep: bool) -> None:
    """The main job end to end: cluster lab, master, agents inside the nodes, keys, jobs, highstate, rolling maintenance."""
    if os.geteuid() != 0:
        raise click.ClickException("the demo needs root (it creates network and mount namespaces)")
    lab: Lab = ctx.find_object(Lab)
    d = Demo(lab)
    try:
        d.run()
        click.secho("\ndemo finished: every step above ran for real", fg="green", bold=True)
    finally:
        if keep:
            click.echo(f"kept running: `saline --socket {d.sock} agents`, `saline lab down` to stop")
        else:
            d.stop()
            lab.down()
            click.echo("lab, master and agents stopped and removed")
