"""Running the same SLS through Salt 3008.5 (``salt-call --local``) and through saline.

Salt is the one bench/ installs (``bench/salt_side.py``; ``SALINE_SALT_VENV`` or
``/var/cache/saline-bench/salt-venv``). Each side gets its own output directory; the SLS
text names it as ``{out}``, and results and file trees are compared with that directory
replaced by ``OUT``.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SALT_VERSION = "3008.5"


def salt_venv() -> Path:
    env = os.environ.get("SALINE_SALT_VENV") or os.environ.get("SALINE_BENCH_SALT_VENV")
    if env:
        return Path(env)
    system = Path("/var/cache/saline-bench/salt-venv")
    return system if system.exists() else Path.home() / ".cache" / "saline-bench" / "salt-venv"


def salt_missing() -> str | None:
    """Why the parity suite cannot run, or None."""
    call = salt_venv() / "bin" / "salt-call"
    if not call.exists():
        return (f"Salt {SALT_VERSION} is not installed at {salt_venv()} (install it with "
                f"python -c 'import sys; sys.path.insert(0, \"bench\"); import salt_side; "
                f"salt_side.ensure_salt(salt_side.default_venv())', or set SALINE_SALT_VENV)")
    if os.geteuid() != 0:
        return "the parity suite compares file owners and runs as root, as Salt's states do"
    return None


@dataclass
class Side:
    """One tool's run of a case: its output directory and state tree."""

    name: str  # "salt" or "saline"
    base: Path

    @property
    def out(self) -> Path:
        return self.base / "out"

    @property
    def states(self) -> Path:
        return self.base / "states"

    def write(self, sls: str, pillar: dict[str, Any], files: dict[str, str]) -> None:
        for d in (self.out, self.states, self.base / "pillar"):
            d.mkdir(parents=True, exist_ok=True)
        (self.states / "case.sls").write_text(textwrap.dedent(sls).replace("{out}", str(self.out)))
        for rel, text in files.items():
            (self.states / rel).parent.mkdir(parents=True, exist_ok=True)
            (self.states / rel).write_text(textwrap.dedent(text).replace("{out}", str(self.out)))
        (self.base / "pillar" / "top.sls").write_text("base:\n  '*':\n    - data\n")
        (self.base / "pillar" / "data.sls").write_text(yaml.safe_dump(pillar))

    def normal(self, keyed: Any) -> Any:
        """Results with this side's output directory replaced by OUT."""
        return json.loads(json.dumps(keyed).replace(str(self.out), "OUT"))


class Salt(Side):
    @property
    def backups(self) -> Path:
        return self.base / "salt-root" / "var" / "cache" / "salt" / "minion" / "file_backup"

    def apply(self, test: bool = False) -> dict[str, Any]:
        return self.call("state.apply", "case", f"test={test}")

    def call(self, *argv: str) -> Any:
        """``salt-call --local --out json ARGV…``: the ``local`` return, this side's directory as OUT."""
        conf = self.base / "conf"
        conf.mkdir(exist_ok=True)
        (conf / "minion").write_text(yaml.safe_dump({
            "id": "node1", "file_client": "local", "root_dir": str(self.base / "salt-root"),
            "file_roots": {"base": [str(self.states)], "dev": [str(self.states)]}, "pillar_roots": {"base": [str(self.base / "pillar")]},
            "grains_cache": True, "grains_cache_expiration": 3600, "enable_fqdns_grains": False,
            "log_level": "quiet", "state_output_diff": False,
        }))
        proc = subprocess.run(
            [str(salt_venv() / "bin" / "salt-call"), "-c", str(conf), "--local", "--out", "json", "--retcode-passthrough",
             *argv],
            capture_output=True, text=True, timeout=120,
        )
        try:
            return self.normal(json.loads(proc.stdout)["local"])
        except (ValueError, KeyError):
            raise AssertionError(f"salt-call gave no return (rc={proc.returncode}): {proc.stdout}{proc.stderr}") from None


class Saline(Side):
    @property
    def backups(self) -> Path:
        """backup: minion's directory (Salt's is cachedir/file_backup under its root_dir)."""
        return self.base / "file_backup"

    def apply(self, test: bool = False) -> dict[str, Any]:
        argv = [sys.executable, "-m", "saline.states.call", "--out", "salt-json", "--id", "node1",
                "--backup-dir", str(self.backups),
                "--pillar-root", str(self.base / "pillar"), *(["--test"] if test else []), str(self.states), "case"]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        try:
            return self.normal(json.loads(proc.stdout)["local"])
        except (ValueError, KeyError):
            raise AssertionError(f"saline call gave no state return (rc={proc.returncode}): {proc.stdout}{proc.stderr}") from None


def tree(root: Path) -> dict[str, tuple]:
    """Every path under ``root``: kind, mode, owner, and the bytes of files or a link's target."""
    out: dict[str, tuple] = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            body: Any = os.readlink(path)
        elif stat.S_ISREG(st.st_mode):
            body = path.read_bytes()
        else:
            body = None
        out[str(path.relative_to(root))] = (stat.S_IFMT(st.st_mode), oct(stat.S_IMODE(st.st_mode)), st.st_uid, st.st_gid, body)
    return out


def outcome(keyed: dict[str, Any]) -> dict[str, tuple]:
    """What must be the same on both sides, per state: result, whether it changed, its place in
    the run order (Salt's __run_num__ skips a number after a state whose watch fired, as it
    counts the mod_watch call; the order is what a reader of the numbers gets from them)."""
    order = sorted(keyed, key=lambda key: keyed[key]["__run_num__"])
    return {key: (s["result"], bool(s["changes"]), order.index(key)) for key, s in keyed.items()}
