"""Salt 3008 in its own venv, a salt-master and salt-minions under a temp dir, and a
warm LocalClient (``salt_worker.py``) to drive them.

Installing: ``pip install salt==3008.5`` fails on this registry because Salt's
requirements pin a newer certifi than the registry serves. So the venv gets Salt's own
requirement files (base.txt + zeromq.txt from the sdist) with that one pin relaxed, and
then ``salt==3008.5`` with ``--no-deps``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from common import Procs, free_port, wait_for

SALT_VERSION = "3008.5"
HERE = Path(__file__).resolve().parent


def default_venv() -> Path:
    env = os.environ.get("SALINE_BENCH_SALT_VENV")
    if env:
        return Path(env)
    if os.access("/var/cache", os.W_OK):
        return Path("/var/cache/saline-bench/salt-venv")
    return Path.home() / ".cache" / "saline-bench" / "salt-venv"


def installed_version(venv: Path) -> str | None:
    py = venv / "bin" / "python"
    if not py.exists():
        return None
    r = subprocess.run([str(py), "-c", "import salt.version; print(salt.version.__version__)"],
                       capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def ensure_salt(venv: Path) -> str:
    """Install Salt into ``venv`` unless it is there; returns the installed version."""
    have = installed_version(venv)
    if have:
        return have
    print(f"bench: installing Salt {SALT_VERSION} into {venv} (once; a few minutes)", file=sys.stderr)
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "-q"]
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([*pip, "download", "--no-deps", "--no-binary", ":all:", "-d", tmp, f"salt=={SALT_VERSION}"],
                       check=True)
        sdist = next(Path(tmp).glob("salt-*.tar.gz"))
        reqs = Path(tmp) / "requirements.txt"
        reqs.write_text(relaxed_requirements(sdist))
        subprocess.run([*pip, "install", "-r", str(reqs)], check=True)
    subprocess.run([*pip, "install", "--no-deps", f"salt=={SALT_VERSION}"], check=True)
    have = installed_version(venv)
    if not have:
        raise RuntimeError(f"Salt did not install into {venv}")
    return have


def relaxed_requirements(sdist: Path) -> str:
    """Salt's base + zeromq requirements with the certifi floor dropped."""
    with tarfile.open(sdist) as tar:
        top = tar.getnames()[0].split("/")[0]
        texts = []
        for name in ("base.txt", "zeromq.txt"):
            member = tar.extractfile(f"{top}/requirements/{name}")
            assert member is not None
            texts.append(member.read().decode())
    return re.sub(r"(?m)^certifi[^;\n]*", "certifi", "\n".join(texts))


class SaltDeployment:
    def __init__(self, base: Path, procs: Procs, venv: Path):
        self.base, self.procs, self.venv = base, procs, venv
        self.bin = venv / "bin"
        self.pub_port, self.ret_port = free_port(), free_port()
        self.conf_dir = base / "master-conf"
        self.conf_dir.mkdir(parents=True)
        self.file_root = base / "states"
        self.file_root.mkdir()
        (base / "pillar").mkdir()
        master = {
            "id": "bench-master",
            "interface": "127.0.0.1",
            "publish_port": self.pub_port,
            "ret_port": self.ret_port,
            "user": "root",
            "root_dir": str(base / "master-root"),
            "auto_accept": True,  # the benchmark only
            "file_roots": {"base": [str(self.file_root)]},
            "pillar_roots": {"base": [str(base / "pillar")]},
            "log_level": "warning",
            "log_level_logfile": "warning",
        }
        (self.conf_dir / "master").write_text(yaml.safe_dump(master))
        self.master: subprocess.Popen | None = None
        self.minions: dict[str, subprocess.Popen] = {}
        self.worker: subprocess.Popen | None = None

    def target_root(self, minion_id: str) -> Path:
        return self.base / minion_id / "target"

    def _env(self) -> dict[str, str]:
        return {**os.environ, "PATH": f"{self.bin}:{os.environ.get('PATH', '')}"}

    # ---- processes --------------------------------------------------------------------
    def start_master(self) -> None:
        self.master = self.procs.start([str(self.bin / "salt-master"), "-c", str(self.conf_dir)],
                                       self.base / "master.stdout.log", env=self._env())
        sock_dir = self.base / "master-root" / "var" / "run" / "salt" / "master"
        wait_for(lambda: (sock_dir / "master_event_pub.ipc").exists() or (sock_dir / "master_event_pull.ipc").exists(),
                 120, "salt-master event socket", 0.2)

    def start_minion(self, minion_id: str) -> subprocess.Popen:
        conf = self.base / minion_id / "conf"
        if not (conf / "minion").exists():
            conf.mkdir(parents=True)
            self.target_root(minion_id).mkdir(parents=True)
            minion = {
                "id": minion_id,
                "master": "127.0.0.1",
                "master_port": self.ret_port,
                "publish_port": self.pub_port,
                "user": "root",
                "root_dir": str(self.base / minion_id / "root"),
                "log_level": "warning",
                "log_level_logfile": "warning",
            }
            (conf / "minion").write_text(yaml.safe_dump(minion))
        p = self.procs.start([str(self.bin / "salt-minion"), "-c", str(conf)],
                             self.base / minion_id / "stdout.log", env=self._env())
        self.minions[minion_id] = p
        return p

    def stop_minion(self, minion_id: str) -> None:
        self.procs.stop(self.minions.pop(minion_id))

    def start_worker(self) -> None:
        self.worker = subprocess.Popen(
            [str(self.bin / "python"), str(HERE / "salt_worker.py"), str(self.conf_dir / "master")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(self.base / "worker.stderr", "ab"),
            text=True, start_new_session=True, env=self._env(),
        )
        self.procs.started.append(self.worker)
        ready = self._read()
        if not ready.get("ready"):
            raise RuntimeError(f"salt worker did not start: {ready}")

    def _read(self) -> dict[str, Any]:
        assert self.worker is not None and self.worker.stdout is not None
        line = self.worker.stdout.readline()
        if not line:
            tail = (self.base / "worker.stderr").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"salt worker exited:\n{tail}")
        return json.loads(line)

    def ask(self, **cmd: Any) -> dict[str, Any]:
        assert self.worker is not None and self.worker.stdin is not None
        self.worker.stdin.write(json.dumps(cmd) + "\n")
        self.worker.stdin.flush()
        return self._read()

    def wait_up(self, minion_ids: list[str], timeout: float = 120) -> None:
        """Until every minion answers test.ping (keys auto-accepted, connected)."""
        wait_for(lambda: self.ask(op="ping", tgt=minion_ids, tgt_type="list", expect=len(minion_ids))["ok"],
                 timeout, f"salt minions {minion_ids} to answer", 0.5)

    # ---- work ---------------------------------------------------------------------------
    def ping(self, tgt: str, expect: int) -> tuple[float, bool]:
        r = self.ask(op="ping", tgt=tgt, expect=expect)
        return r["seconds"], bool(r["ok"])

    def apply(self, tgt: str, sls: str, test: bool) -> tuple[float, dict[str, Any]]:
        r = self.ask(op="apply", tgt=tgt, sls=sls, test=test)
        if "error" in r:
            raise RuntimeError(f"salt state.apply: {r['error']}")
        return r.pop("seconds"), r

    def wait_first_ping(self, minion_id: str, timeout: float = 120) -> float | None:
        r = self.ask(op="wait_ping", tgt=minion_id, deadline=time.time() + timeout)
        return r["answered_at"]

    def cli_ping(self, tgt: str) -> float:
        argv = [str(self.bin / "salt"), "-c", str(self.conf_dir), tgt, "test.ping"]
        t0 = time.perf_counter()
        r = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=self._env())
        dt = time.perf_counter() - t0
        if r.returncode != 0 or "True" not in r.stdout:
            raise RuntimeError(f"salt CLI failed (rc {r.returncode}): {r.stdout} {r.stderr}")
        return dt
