"""The commands the READMEs give work as written (issue 12, item 15)."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.real

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_example_tree_dry_run_compiles_as_written(tmp_path):
    text = (REPO / "deploy/examples/ha-cluster/README.md").read_text()
    line = next(l.strip() for l in text.splitlines() if l.strip().startswith("saline call --test"))
    argv = shlex.split(line)
    # As written, plus a private root so the dry run reads nothing of this machine's /etc.
    r = subprocess.run([str(BIN / "saline"), *argv[1:3], "--root", str(tmp_path), *argv[3:]], cwd=REPO,
                       capture_output=True, text=True, timeout=120)
    assert "compile failed" not in r.stderr and "no states in the top file match" not in r.stderr, r.stderr
    assert "Total states run:" in r.stdout and r.returncode in (0, 2)


def test_bench_commands_use_the_virtualenv():
    text = (REPO / "bench/README.md").read_text()
    commands = re.findall(r"^(\S*python\S*) bench/\S+\.py", text, flags=re.M)
    assert commands and set(commands) == {".venv/bin/python"}
