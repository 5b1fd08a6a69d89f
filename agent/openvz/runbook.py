"""The migration, in the seed's order; each step is recorded when it succeeded.

    check        du of the private area vs the LV size (refuse if it does not fit)
    create       lxc.present without a template: lvcreate + mkfs, lxc-create -t none, ve.conf
                 translated (memory, swap, cpu, hostname, 32-bit → lxc.arch), the seed's base
                 config, fixed MAC on br0
    copy_live    rsync -aHAX --numeric-ids --modify-window=-1 while the source still runs
    stop_source  vzctl stop CTID
    copy_final   the same with --delete
    source_autostart_off   vzctl set CTID --onboot no --save
    guest_fixes  /etc/inittab consoles, venet0 → eth0
    test_start   lxc-start, wait until RUNNING, stop again (Pacemaker takes it from there)

A re-run skips the recorded steps and resumes at the failed one. Nothing is ever copied
onto a target container that has started (recorded before the first start, and checked
live with lxc-info), nor onto a container this migration did not create.
"""

from __future__ import annotations

import fcntl
import threading
from pathlib import Path
from typing import Literal

from saline.states.engine.apply import apply_one
from saline.states.engine.base import StateContext
from saline.states.engine.runner import Runner
from saline.states.system import lxc as lxcsys
from saline.states.system import veconf
from saline.states.system.lvm import human, parse_size

from .args import MigrateArgs
from .guest import inittab_fixed, interfaces_fixed, is_sysvinit
from .progress import ProgressFile

STEPS = ["check", "create", "copy_live", "stop_source", "copy_final", "source_autostart_off", "guest_fixes", "test_start"]
# --modify-window=-1: compare mtimes to the nanosecond. With the default (whole seconds) a
# file rewritten at the same size within the second of the live pass looks unchanged, and
# the final pass would leave the old content in the container.
RSYNC = ["rsync", "-aHAX", "--numeric-ids", "--modify-window=-1"]
FS_OVERHEAD = 0.9  # ext4 metadata + 5 % reserved blocks: the data must fit in 90 % of the LV
# The seed's example configuration, in LXC 3+ keys (cap.drop as its "tmpfs inside" advice).
BASE_CONFIG = {"lxc.tty.max": "4", "lxc.pty.max": "1024", "lxc.autodev": "1", "lxc.mount.auto": "proc:mixed sys:ro cgroup:mixed"}
BASE_CAP_DROP = ["sys_module", "mac_admin", "mac_override", "sys_time"]


class StepFailed(Exception):
    pass


class Migration:
    def __init__(self, args: MigrateArgs, runner: Runner, state_dir: Path, cancel: threading.Event | None = None):
        self.args = args
        self.runner = runner
        self.cancel = cancel or threading.Event()
        self.lock_path = state_dir / "openvz" / f"{args.name}.lock"
        self.progress = ProgressFile(state_dir / "openvz", args.name, args.identity())
        self.mounted = False
        self.notes: dict[str, str] = {}

    # ---- helpers -------------------------------------------------------------------------

    def on_source(self, argv: list[str]) -> list[str]:
        host = self.args.source_host
        return ["ssh", "-o", "BatchMode=yes", host, "--", *argv] if host else argv

    def source_path(self, path: str) -> str:
        """A path on the source: as is over ssh, mapped under the runner's root when local."""
        return path if self.args.source_host else str(self.runner.path(path))

    def here(self, path: str) -> str:
        return str(self.runner.path(path))

    def run(self, argv: list[str], what: str, timeout: float = 300) -> str:
        result = self.runner.run(argv, timeout=timeout)
        if result.rc != 0:
            raise StepFailed(f"{what}: {result.describe()}")
        return result.stdout

    def state(self, name: str, args: dict) -> str:
        res = apply_one(f"openvz.migrate {name}", name, args, StateContext(runner=self.runner))
        if res.result is not True:
            raise StepFailed(f"{name}: {res.comment}")
        return res.comment

    def container_state(self) -> str:
        return lxcsys.state(self.runner, self.args.lxcpath, self.args.name)

    def rootfs(self) -> str:
        """Where the guest's files go: the mounted LV (staging dir) or the rootfs directory."""
        if self.args.backing == "dir":
            return f"{self.args.lxcpath}/{self.args.name}/rootfs"
        if not self.mounted:
            self.runner.path(self.args.staging).mkdir(parents=True, exist_ok=True)
            self.run(["mount", f"/dev/{self.args.vg}/{self.args.name}", self.here(self.args.staging)], "mount the new LV")
            self.mounted = True
        return self.args.staging

    def release(self) -> None:
        if self.mounted:
            self.run(["umount", self.here(self.args.staging)], "unmount the new LV")
            self.mounted = False

    def guard_copy(self) -> None:
        """Never copy over a container that has started on the target."""
        if self.progress.state.target_started:
            raise StepFailed(f"container {self.args.name} was started on this node already: copying over it is refused "
                             "(it may hold new data); to migrate again, destroy it and remove the progress record")
        current = self.container_state()
        if current not in ("STOPPED", "absent"):
            raise StepFailed(f"container {self.args.name} is {current} on this node: copying over it is refused")

    # ---- the steps ------------------------------------------------------------------------

    def check(self) -> str:
        if self.progress.fresh and self.container_state() != "absent":
            raise StepFailed(f"container {self.args.name} already exists in {self.args.lxcpath} and is not from this migration")
        out = self.run(self.on_source(["du", "-s", "-x", "--block-size=1", self.source_path(self.args.private_dir)]), "measure the private area")
        used = int(out.split()[0])
        self.translation()  # a ve.conf that cannot be read or translated stops here, before anything is made
        if self.args.size is not None:
            room = int(parse_size(self.args.size) * FS_OVERHEAD)
            if used > room:
                raise StepFailed(f"the private area holds {human(used)} ({used} bytes), more than fits in a {self.args.size} "
                                 f"volume ({human(room)} usable): choose a larger size")
            return f"{used} bytes used, {room} usable in {self.args.size}"
        return f"{used} bytes used"

    def translation(self) -> dict:
        """lxc.present arguments from ve.conf; what was not translated goes into the notes
        (every run reports them, also when the create step was done before)."""
        try:
            ve = veconf.parse(self.run(self.on_source(["cat", self.source_path(self.args.veconf_path)]), "read ve.conf"))
        except veconf.VeConfError as exc:
            raise StepFailed(str(exc)) from None
        translated, notes, untranslated = veconf.translate(ve)
        self.notes.update(notes)
        if untranslated:
            self.notes["not translated"] = ", ".join(untranslated)
        return translated

    def create(self) -> str:
        translated = self.translation()
        present = {"name": self.args.name, "lxcpath": self.args.lxcpath, "backing": self.args.backing, "link": self.args.link,
                   "cap_drop": BASE_CAP_DROP, **translated, "config": {**BASE_CONFIG, **translated.get("config", {})}}
        if self.args.backing == "lvm":
            present.update(vgname=self.args.vg, size=self.args.size)
        return self.state("lxc.present", present)

    def copy(self, final: bool) -> str:
        self.guard_copy()
        host = self.args.source_host
        source = f"{host}:{self.args.private_dir}/" if host else f"{self.source_path(self.args.private_dir)}/"
        argv = [*RSYNC, *(["--delete"] if final else []), *(["-e", "ssh -o BatchMode=yes"] if host else []),
                source, self.here(self.rootfs()) + "/"]
        self.run(argv, "copy the private area", timeout=24 * 3600)
        return " ".join(argv)

    def stop_source(self) -> str:
        return self.run(self.on_source([self.args.vzctl, "stop", str(self.args.ctid)]), "stop the OpenVZ container").strip()

    def source_autostart_off(self) -> str:
        argv = [self.args.vzctl, "set", str(self.args.ctid), "--onboot", "no", "--save"]
        return self.run(self.on_source(argv), "disable the OpenVZ container's autostart").strip()

    def guest_fixes(self) -> str:
        root = self.runner.path(self.rootfs())
        done = []
        inittab = root / "etc/inittab"
        if inittab.exists() and is_sysvinit(inittab.read_text(errors="replace")):
            text, added = inittab_fixed(inittab.read_text(errors="replace"))
            if added:
                inittab.write_text(text)
                done.append(f"/etc/inittab: added {len(added)} console lines")
        else:
            done.append("/etc/inittab: not a sysvinit inittab, left alone")
        interfaces = root / "etc/network/interfaces"
        if interfaces.exists():
            text, count = interfaces_fixed(interfaces.read_text(errors="replace"))
            if count:
                interfaces.write_text(text)
                done.append(f"/etc/network/interfaces: venet0 → eth0 ({count}x)")
        return "; ".join(done) or "nothing to fix"

    def test_start(self) -> str:
        self.release()
        self.progress.mark_started()
        lifecycle = {"name": self.args.name, "lxcpath": self.args.lxcpath}
        self.state("lxc.running", lifecycle)
        if self.args.keep_running:
            return "started; left running"
        self.state("lxc.stopped", lifecycle)
        return "started, then stopped again (ready for its Pacemaker resource)"

    # ---- the run --------------------------------------------------------------------------

    def steps(self) -> dict:
        return {"check": self.check, "create": self.create, "copy_live": lambda: self.copy(final=False),
                "stop_source": self.stop_source, "copy_final": lambda: self.copy(final=True),
                "source_autostart_off": self.source_autostart_off, "guest_fixes": self.guest_fixes,
                "test_start": self.test_start}

    def run_all(self) -> tuple[bool, list[dict], str]:
        """(finished, one report per step, the failure or ""). One migration per target at a
        time: a job that timed out may still be copying when the operator runs it again."""
        self.lock_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.lock_path, "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                failure = f"another openvz.migrate of {self.args.name} is running on this node: wait for it to end"
                return False, [{"step": "lock", "status": "failed", "detail": failure}], f"lock: {failure}"
            return self._run_all()

    def _run_all(self) -> tuple[bool, list[dict], str]:
        report: list[dict] = []
        funcs = self.steps()
        if not self.progress.fresh and "copy_final" not in self.progress.state.done:
            # Resuming with copies still to make: refuse before anything (even stopping
            # the source) if the target has started meanwhile.
            try:
                self.guard_copy()
            except StepFailed as exc:
                report.append({"step": "resume", "status": "failed", "detail": str(exc)})
                return False, report, f"resume: {exc}"
        if "create" in self.progress.state.done:
            try:
                self.translation()
            except StepFailed:
                pass  # only the notes are missing; the steps that need ve.conf are done
        try:
            for step in STEPS:
                if step in self.progress.state.done:
                    report.append({"step": step, "status": "done before"})
                    continue
                if self.cancel.is_set():
                    report.append({"step": step, "status": "not run", "detail": "the job was stopped"})
                    return False, report, f"{step}: not run, the job was stopped (timeout or saline jobs kill)"
                try:
                    detail = funcs[step]()
                except StepFailed as exc:
                    report.append({"step": step, "status": "failed", "detail": str(exc)})
                    return False, report, f"{step}: {exc}"
                self.progress.mark(step)
                report.append({"step": step, "status": "done", "detail": detail})
        finally:
            try:
                self.release()
            except StepFailed as exc:
                report.append({"step": "unmount", "status": "failed", "detail": str(exc)})
        return True, report, ""
