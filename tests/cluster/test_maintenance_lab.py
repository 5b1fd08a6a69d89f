"""Rolling maintenance on the real two-node lab: a master on the host, an agent inside
each node, a resource stack with something running on each node, and the real
``saline maintenance`` CLI. A watcher polls ``crm_mon`` throughout the full run.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import time

import pytest
import yaml

from saline.agent.config import agent_config_in
from saline.lab.watch import AvailabilityWatcher
from saline.master.maintenance import lock
from tests.e2e.procs import Deployment, wait_for

pytestmark = pytest.mark.cluster

FUNCTIONS = ["test.*", "facts.*", "state.*", "cluster.*", "work.*", "system.reboot"]
# A promotable stand-in for DRBD with a group on its promoted side (prefers node1), and a
# service that prefers node2: resources run on each node.
STACK = """
mt-cluster-options:
  pacemaker.properties:
    - properties: {stonith-enabled: false, no-quorum-policy: ignore}
mt_drbd:
  pacemaker.primitive:
    - agent: ocf:pacemaker:Stateful
    - ops:
      - {name: monitor, interval: 9s, role: Promoted, timeout: 20s}
      - {name: monitor, interval: 11s, role: Unpromoted, timeout: 20s}
mt_ms_drbd:
  pacemaker.clone:
    - resource: mt_drbd
    - promotable: true
    - meta: {promoted-max: 1, promoted-node-max: 1, clone-max: 2, clone-node-max: 1, notify: true}
    - require: [{pacemaker: mt_drbd}]
{% for name in ['mt_fs', 'mt_ct', 'mt_svc2'] %}
{{ name }}:
  pacemaker.primitive:
    - agent: ocf:pacemaker:Dummy
    - ops: [{name: monitor, interval: 10s, timeout: 20s}]
{% endfor %}
mt_grp:
  pacemaker.group:
    - members: [mt_fs, mt_ct]
    - require: [{pacemaker: mt_ct}]
mt_grp_on_drbd:
  pacemaker.colocation:
    - resource: mt_grp
    - with_resource: mt_ms_drbd
    - with_rsc_role: Promoted
    - require: [{pacemaker: mt_grp}, {pacemaker: mt_ms_drbd}]
mt_drbd_before_grp:
  pacemaker.order:
    - first: mt_ms_drbd
    - first_action: promote
    - then: mt_grp
    - require: [{pacemaker: mt_grp_on_drbd}]
mt_grp_prefers_node1:
  pacemaker.location:
    - resource: mt_grp
    - node: node1
    - score: 100
    - require: [{pacemaker: mt_grp}]
mt_svc2_prefers_node2:
  pacemaker.location:
    - resource: mt_svc2
    - node: node2
    - score: 100
    - require: [{pacemaker: mt_svc2}]
"""
WORK = """
/etc/saline-maintained:
  file.managed:
    - contents: "maintained by saline\\n"
"""
FAILING_WORK = """
work-that-fails:
  cmd.run:
    - name: "false"
"""
RESOURCES = ["mt_ms_drbd", "mt_grp", "mt_svc2"]
CONSTRAINTS = ["mt_grp_on_drbd", "mt_drbd_before_grp", "mt_grp_prefers_node1", "mt_svc2_prefers_node2"]
PRIMITIVES = ["mt_drbd", "mt_fs", "mt_ct", "mt_svc2"]


class Site:
    def __init__(self, lab, d: Deployment):
        self.lab, self.d = lab, d
        self.agent_pids: dict[str, int] = {}
        self.data_dirs = {n: lab.node_shared_dir(n) / "data" for n in lab.nodes}

    def agent_config(self, node: str):
        return self.lab.node_shared_dir(node) / "agent" / "agent.yaml"

    def start_agent(self, node: str) -> None:
        self.agent_pids[node] = self.lab.start_agent(node, self.agent_config(node))

    def agent_pid(self, node: str) -> int | None:
        """The node's agent now (a lab reboot starts a new one)."""
        tail = ["--config", str(self.agent_config(node))]
        found = [p for p in self.lab.pids(node) if self.lab._cmdline(p)[-2:] == tail]
        if found:
            self.agent_pids[node] = found[0]
        return found[0] if found else None

    def maint(self, *args: str, timeout: float = 240):
        return self.d.cli("maintenance", *args, timeout=timeout)

    def maint_json(self, *args: str, timeout: float = 240):
        return self.d.cli_json("maintenance", *args, timeout=timeout)

    def crm(self, node: str, *argv: str, timeout: float = 60):
        return self.lab.exec(node, list(argv), timeout=timeout)

    def cib(self) -> str:
        return self.crm("node1", "cibadmin", "--query").stdout

    def constraint_ids(self) -> list[str]:
        import xml.etree.ElementTree as ET

        out = self.crm("node1", "cibadmin", "--query", "--scope", "constraints").stdout
        return [el.get("id") for el in ET.fromstring(out)]

    def view(self):
        from saline.states.system.crm_mon import parse_crm_mon

        return parse_crm_mon(self.crm("node1", "crm_mon", "-1", "--output-as=xml").stdout)

    def reset(self) -> None:
        """Whatever a test left: no run, no lock, both nodes out of standby, no failures, no cli-*."""
        for _ in range(3):
            rc, st = self.maint_json("status")
            run = st.get("run") if rc == 0 else None
            if not run or run["status"] in ("done", "aborted", "failed") and not st.get("lock"):
                break
            self.maint("abort")
            time.sleep(0.5)
        for node in self.lab.nodes:
            if self.agent_pid(node) is None:
                self.start_agent(node)
            self.crm(node, "crm_attribute", "--node", node, "--name", "standby", "--update", "off",
                     "--lifetime", "forever")
        self.crm("node1", "crm_resource", "--cleanup")
        for cid in self.constraint_ids():
            if cid.startswith("cli-"):
                self.crm("node1", "cibadmin", "--delete", "--xml-text", f'<rsc_location id="{cid}"/>')
        self.crm("node1", "crm_resource", "--wait", "--timeout=60s", timeout=90)
        for node in self.lab.nodes:
            self.d.wait_agent_state(node, "up", timeout=30)


@pytest.fixture(scope="module")
def site(lab, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("maint")
    shared = lab.shared_dir
    d = Deployment(tmp, bind=f"ipc://{shared}/maint-master.sock", bootstrap_bind=f"ipc://{shared}/maint-boot.sock",
                   enrol_bind=f"ipc://{shared}/maint-enrol.sock")
    (tmp / "states").mkdir()
    (tmp / "states" / "mt.sls").write_text(STACK)
    (tmp / "states" / "mt_work.sls").write_text(WORK)
    (tmp / "states" / "mt_fail.sls").write_text(FAILING_WORK)
    s = Site(lab, d)
    try:
        d.start_master()
        for node in lab.nodes:
            home = lab.node_shared_dir(node) / "agent"
            shutil.rmtree(home, ignore_errors=True)
            (home / "root" / "etc").mkdir(parents=True)
            s.data_dirs[node].mkdir(parents=True, exist_ok=True)
            s.agent_config(node).write_text(yaml.safe_dump(agent_config_in(
                home, node, f"ipc://{shared}/maint-master.sock", f"ipc://{shared}/maint-boot.sock",
                master_enrol=f"ipc://{shared}/maint-enrol.sock",
                heartbeat_interval=0.5, reconnect_max=1.0, functions=FUNCTIONS, state_root=str(home / "root"),
                reboot_command=lab.reboot_command(node), data_paths=[str(s.data_dirs[node])])))
            s.start_agent(node)
        d.accept(*lab.nodes)
        rc, job = d.cli_json("apply", "node1", "mt", timeout=120)
        assert rc == 0, job
        s.crm("node1", "crm_resource", "--wait", "--timeout=60s", timeout=90)
        yield s
    finally:
        try:
            s.reset()
        except Exception:  # noqa: BLE001 - teardown goes on
            pass
        for node in lab.nodes:
            pid = s.agent_pid(node)
            if pid is not None:
                lab.stop_agent(node, pid)
        d.close()
        for rid in PRIMITIVES:
            lab.exec("node1", ["crm_resource", "--resource", rid, "--set-parameter", "target-role", "--meta",
                               "--parameter-value", "Stopped"])
        lab.exec("node1", ["crm_resource", "--wait", "--timeout=60s"], timeout=90)
        for cid in CONSTRAINTS:
            lab.exec("node1", ["cibadmin", "--delete", "--scope", "constraints", "--xml-text", f'<rsc_location id="{cid}"/>'])
            for tag in ("rsc_colocation", "rsc_order"):
                lab.exec("node1", ["cibadmin", "--delete", "--scope", "constraints", "--xml-text", f'<{tag} id="{cid}"/>'])
        for rid, tag in (("mt_ms_drbd", "clone"), ("mt_grp", "group"), ("mt_svc2", "primitive")):
            lab.exec("node1", ["cibadmin", "--delete", "--scope", "resources", "--xml-text", f'<{tag} id="{rid}"/>'])
        for prop in ("stonith-enabled", "no-quorum-policy"):
            lab.exec("node1", ["crm_attribute", "--type", "crm_config", "--name", prop, "--delete"])
        for node in lab.nodes:
            shutil.rmtree(lab.node_shared_dir(node) / "agent", ignore_errors=True)
            shutil.rmtree(s.data_dirs[node], ignore_errors=True)


def _placement(site: Site) -> dict[str, list[str]]:
    v = site.view()
    return {rid: sorted({n for r in v.resources if v.top_level(r) == rid and r.active for n in r.nodes})
            for rid in RESOURCES}


def test_plan_changes_nothing_and_shows_every_gate(site):
    site.reset()
    before = site.cib()
    rc, plan = site.maint_json("plan", "--work", "state:mt_work", "--reboot", "always")
    after = site.cib()
    assert rc == 0 and plan["ok"], plan
    assert before == after  # byte-identical, epoch included
    for n in plan["nodes"]:
        names = [g["name"] for g in n["gates"]]
        assert names == ["lock_free", "agents_up", "peer_online", "no_failed_actions", "no_stray_cli_constraints",
                         "no_drbd_fence_constraints", "drbd_healthy", "md_clean", "no_unmanaged_holders",
                         "standby_simulation", "work_ready"]
        assert [s["step"] for s in n["steps"]][:3] == ["gates", "drain", "work"]
    sim = plan["nodes"][0]["gates"][-2]["evidence"]
    assert "mt_grp" in sim and "keeps running" in sim, site.crm("node1", "crm_mon", "-1").stdout


def test_rolling_maintenance_keeps_every_resource_available(site):
    site.reset()
    assert _placement(site) == {"mt_ms_drbd": ["node1", "node2"], "mt_grp": ["node1"], "mt_svc2": ["node2"]}
    with AvailabilityWatcher(site.lab, RESOURCES) as watcher:
        r = site.maint("run", "--work", "state:mt_work", "--reboot", "always", "--rejoin-timeout", "120")
        rc, st = site.maint_json("status")
    assert r.returncode == 0, r.stdout + r.stderr
    run = st["run"]
    assert run["status"] == "done" and st["lock"] is None
    done = [(s["node"], s["step"], s["status"]) for s in run["steps"]]
    assert [x[:2] for x in done] == [(n, s) for n in ("node1", "node2") for s in
                                     ("gates", "drain", "work", "reboot", "rejoin", "resync", "unstandby", "move_back",
                                      "cleanup")]
    assert all(status == "ok" for _, step, status in done if step != "move_back")
    rejoins = [s["evidence"] for s in run["steps"] if s["step"] == "rejoin"]
    reboots = [s["evidence"] for s in run["steps"] if s["step"] == "reboot"]
    assert all(rj["session"] != rb["session_before"] for rj, rb in zip(rejoins, reboots))  # really restarted
    # Every resource ran somewhere at every sample except during its own move.
    assert watcher.gaps.samples > 20
    assert max(watcher.gaps.longest.values()) < 15, watcher.gaps
    assert watcher.gaps.longest["mt_ms_drbd"] < 15
    assert not [c for c in site.constraint_ids() if c.startswith("cli-")]
    v = site.view()
    assert all(v.nodes[n].online and not v.nodes[n].standby for n in ("node1", "node2"))
    for node in site.lab.nodes:  # the work (a state apply) landed on both
        assert (site.lab.node_shared_dir(node) / "agent" / "root" / "etc" / "saline-maintained").exists()


@pytest.mark.parametrize("provoke, gate", [
    ("peer_standby", "peer_online"),
    ("cli_ban", "no_stray_cli_constraints"),
    ("failed_action", "no_failed_actions"),
    ("holder", "no_unmanaged_holders"),
    ("lock", "lock_free"),
])
def test_each_gate_stops_the_run_before_touching_the_node(site, provoke, gate):
    site.reset()
    holder = None
    if provoke == "peer_standby":
        site.crm("node1", "crm_attribute", "--node", "node2", "--name", "standby", "--update", "on", "--lifetime", "forever")
        site.crm("node1", "crm_resource", "--wait", "--timeout=60s", timeout=90)
    elif provoke == "cli_ban":
        site.crm("node1", "crm_resource", "--ban", "--resource", "mt_svc2", "--node", "node1")
    elif provoke == "failed_action":
        site.crm("node1", "crm_resource", "--fail", "--resource", "mt_ct", "--node", "node1")
        site.crm("node1", "crm_resource", "--wait", "--timeout=60s", timeout=90)
    elif provoke == "holder":
        (site.data_dirs["node1"] / "db").write_text("data")
        holder = __import__("subprocess").Popen(
            site.lab.nsenter("node1") + ["sh", "-c", f"exec 3<{site.data_dirs['node1'] / 'db'}; exec sleep 60"],
            start_new_session=True)
        wait_for(lambda: any("sleep" in " ".join(site.lab._cmdline(p)) for p in site.lab.pids("node1")), 10)
    elif provoke == "lock":
        conn = sqlite3.connect(site.d.master_dir / "jobs.sqlite", isolation_level=None)
        assert lock.acquire(conn, "20990101000000-abcdef", "drift-correction@elsewhere", 600) is None
        conn.close()
    try:
        before = _placement(site)
        r = site.maint("run", "--nodes", "node1", "--work", "cmd:true", "--reboot", "never")
        assert r.returncode != 0
        assert gate in r.stdout + r.stderr
        v = site.view()
        assert not v.nodes["node1"].standby and _placement(site) == before  # node1 untouched
        rc, st = site.maint_json("status")
        assert st["run"]["status"] == "failed" and st["run"]["safe_state"] == "nothing was changed"
        assert not st["run"]["steps"]
    finally:
        if holder is not None:
            os.killpg(holder.pid, signal.SIGKILL)
            holder.wait(5)
        if provoke == "cli_ban":
            site.crm("node1", "crm_resource", "--clear", "--resource", "mt_svc2")
        if provoke == "lock":
            conn = sqlite3.connect(site.d.master_dir / "jobs.sqlite", isolation_level=None)
            lock.release(conn, "20990101000000-abcdef")
            conn.close()


def test_failing_work_on_node1_leaves_it_in_standby_and_node2_untouched(site):
    site.reset()
    r = site.maint("run", "--work", "state:mt_fail", "--reboot", "never")
    assert r.returncode == 2, r.stdout + r.stderr
    rc, st = site.maint_json("status")
    run = st["run"]
    assert run["status"] == "failed" and run["node"] == "node1" and run["step"] == "work"
    assert "work-that-fails" in run["error"]
    assert "node1 is in standby" in run["safe_state"]
    assert {s["node"] for s in run["steps"]} == {"node1"}  # nothing moved on to node2
    v = site.view()
    assert v.nodes["node1"].standby and not v.nodes["node2"].standby
    assert all(nodes == ["node2"] for nodes in _placement(site).values())
    assert st["lock"] is not None  # a half-maintained cluster stays reserved until resume/abort
    r = site.maint("abort")
    assert r.returncode == 0 and site.maint_json("status")[1]["lock"] is None


def test_master_killed_mid_run_then_resume_completes(site):
    site.reset()
    r = site.maint("run", "--nodes", "node1", "--work", "cmd:sleep 3", "--reboot", "never", "--detach")
    assert r.returncode == 0, r.stderr

    def in_work():
        rc, st = site.maint_json("status")
        return st["run"]["step"] == "work"

    wait_for(in_work, 60, 0.2, "node1's work step")
    site.d.master.kill()
    site.d.start_master()
    rc, st = site.maint_json("status")
    assert st["run"]["status"] == "interrupted" and st["run"]["step"] == "work"
    assert st["lock"] is not None and st["lock"]["run_id"] == st["run"]["id"]
    r = site.maint("run", "--work", "cmd:true")
    assert r.returncode == 1 and "interrupted" in r.stderr  # no second run meanwhile
    for node in site.lab.nodes:
        site.d.wait_agent_state(node, "up", timeout=30)
    r = site.maint("resume")
    assert r.returncode == 0, r.stdout + r.stderr
    rc, st = site.maint_json("status")
    assert st["run"]["status"] == "done" and st["lock"] is None
    assert not site.view().nodes["node1"].standby


def test_agent_killed_during_work_fails_after_a_bounded_wait(site):
    site.reset()
    r = site.maint("run", "--nodes", "node1", "--work", "cmd:sleep 30", "--reboot", "never", "--step-timeout", "6",
                   "--detach")
    assert r.returncode == 0, r.stderr

    def in_work():
        return site.maint_json("status")[1]["run"]["step"] == "work"

    wait_for(in_work, 60, 0.2, "node1's work step")
    started = time.monotonic()
    os.kill(site.agent_pid("node1"), signal.SIGKILL)

    def ended():
        st = site.maint_json("status")[1]
        return st if st["run"]["status"] != "running" else None

    st = wait_for(ended, 40, 0.5, "the run to stop")
    waited = time.monotonic() - started
    assert 5 < waited < 30
    assert st["run"]["status"] == "failed" and st["run"]["step"] == "work"
    assert "node1" in st["run"]["error"] and ("did not return" in st["run"]["error"] or "not connected" in st["run"]["error"])
    assert "node1 is in standby" in st["run"]["safe_state"]
    assert site.view().nodes["node1"].standby


def _wait_step(site: Site, step: str) -> None:
    wait_for(lambda: site.maint_json("status")[1]["run"]["step"] == step, 60, 0.2, f"node1's {step} step")


def _wait_end(site: Site) -> dict:
    def ended():
        st = site.maint_json("status")[1]
        return st if st["run"]["status"] != "running" else None

    return wait_for(ended, 90, 0.5, "the run to stop")


def test_abort_stops_after_the_current_step_in_a_safe_state(site):
    site.reset()
    r = site.maint("run", "--work", "cmd:sleep 3", "--reboot", "never", "--detach")
    assert r.returncode == 0, r.stderr
    _wait_step(site, "work")
    r = site.maint("abort")
    assert r.returncode == 0 and "stops after the current step" in r.stdout
    st = _wait_end(site)
    run = st["run"]
    assert run["status"] == "aborted" and st["lock"] is None
    assert [(s["step"], s["status"]) for s in run["steps"]][-1] == ("work", "ok")  # the step in flight finished
    assert "node1 is in standby and its resources run on node2" in run["safe_state"]
    assert site.view().nodes["node1"].standby and not site.view().nodes["node2"].standby


def test_a_node_that_does_not_come_back_fails_the_rejoin_in_time(site):
    site.reset()
    record = site.lab.state_dir / "node1" / "agent.json"
    saved = record.read_text()
    record.unlink()  # node1 "boots" without its agent
    try:
        started = time.monotonic()
        r = site.maint("run", "--nodes", "node1", "--work", "cmd:true", "--reboot", "always", "--rejoin-timeout", "12")
        took = time.monotonic() - started
    finally:
        record.write_text(saved)
    assert r.returncode == 2, r.stdout + r.stderr
    run = site.maint_json("status")[1]["run"]
    assert run["status"] == "failed" and run["step"] == "rejoin"
    assert run["error"].endswith("node1 did not come back within 12s: its agent is not connected")
    assert took < 60
    assert site.view().nodes["node1"].standby  # it came back in standby: its resources stay on node2


def test_move_back_moves_the_nodes_resources_back_and_clears_its_constraints(site):
    site.reset()
    # Sticky: mt_svc2 would stay on node1 after node2 returns, unless the run moves it back.
    site.crm("node1", "crm_resource", "--resource", "mt_svc2", "--meta", "--set-parameter", "resource-stickiness",
             "--parameter-value", "1000")
    try:
        r = site.maint("run", "--nodes", "node2", "--work", "cmd:true", "--reboot", "never", "--move-back")
        assert r.returncode == 0, r.stdout + r.stderr
        run = site.maint_json("status")[1]["run"]
        steps = {s["step"]: s for s in run["steps"]}
        assert steps["move_back"]["status"] == "ok" and steps["move_back"]["evidence"]["moved"] == ["mt_svc2"]
        assert steps["cleanup"]["evidence"]["cleared"] == ["mt_svc2"]
        assert steps["cleanup"]["evidence"]["cli_constraints_left"] == []
        assert not [c for c in site.constraint_ids() if c.startswith("cli-")]
        assert _placement(site)["mt_svc2"] == ["node2"]
        # INFINITY stickiness beats a move (INFINITY + INFINITY is a tie): the step says so and
        # leaves no constraint behind.
        site.reset()
        site.crm("node1", "crm_resource", "--resource", "mt_svc2", "--meta", "--set-parameter", "resource-stickiness",
                 "--parameter-value", "INFINITY")
        r = site.maint("run", "--nodes", "node2", "--work", "cmd:true", "--reboot", "never", "--move-back")
        assert r.returncode == 2
        run = site.maint_json("status")[1]["run"]
        assert run["step"] == "move_back" and "mt_svc2 did not move back to node2" in run["error"]
        assert not [c for c in site.constraint_ids() if c.startswith("cli-")]
    finally:
        site.crm("node1", "crm_resource", "--resource", "mt_svc2", "--meta", "--delete-parameter", "resource-stickiness")


def test_bad_requests_are_refused_with_a_clear_error_and_nothing_changes(site):
    site.reset()
    before = site.cib()
    for args, words in [(["--work", "reboot"], "expected state:SLS[,SLS], upgrade or cmd:ARGV"),
                        (["--nodes", "node3"], "no accepted agent node3"),
                        (["--nodes", "node1,node1"], "once each"),
                        (["--work", "state:does_not_exist", "--nodes", "node1"], "work_ready")]:
        r = site.maint("run", *args, "--reboot", "never")
        assert r.returncode in (1, 2), (args, r.stdout, r.stderr)
        assert words in r.stderr, (args, r.stderr)
    # State work that does not compile is refused in the pre-flight: nothing was drained.
    run = site.maint_json("status")[1]["run"]
    assert run["status"] == "failed" and not run["steps"] and run["safe_state"] == "nothing was changed"
    assert site.cib() == before
