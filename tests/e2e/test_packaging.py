"""`pip install .` and `pip install -e .` both work in a fresh venv, under the one `saline` namespace."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MODULES = ["saline.master.cli", "saline.agent.daemon", "saline.agent.openvz.runbook", "saline.protocol.messages", "saline.states.engine.run",
           "saline.states.compile.compiler", "saline.states.system.cib",
           "saline.states.modules", "saline.lab.lab", "saline.master.events.reactor", "saline.master.schedule",
           "saline.master.maintenance.service"]


@pytest.mark.parametrize("editable", [False, True], ids=["regular", "editable"])
def test_pip_install_in_fresh_venv(tmp_path, editable):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    target = ["-e", str(REPO)] if editable else [str(REPO)]
    # --no-deps: the point is our packaging (namespace mapping, package data, scripts);
    # dependencies come from PyPI like any other package's.
    r = subprocess.run([py, "-m", "pip", "install", "-q", "--no-deps", *target],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    probe = ("import importlib.util, saline.lab, pathlib;"
             f"print([importlib.util.find_spec(m) is not None for m in {MODULES!r}]);"
             "print(pathlib.Path(saline.lab.__file__).resolve().parent);"
             "print((pathlib.Path(saline.lab.__file__).parent / 'demo-states' / 'top.sls').is_file())")
    out = subprocess.run([py, "-c", probe], capture_output=True, text=True, cwd=tmp_path, check=True).stdout.split("\n")
    assert out[0] == str([True] * len(MODULES))
    lab_dir = Path(out[1])
    if editable:
        assert lab_dir == REPO / "deploy" / "lab"
    else:
        assert lab_dir.is_relative_to(venv)
    assert out[2] == "True"
    for script in ("saline", "saline-master", "saline-agent"):
        assert (venv / "bin" / script).exists()
    # No generic top-level import names leak out of the repository layout.
    for generic in ("master", "agent", "protocol", "states"):
        assert subprocess.run([py, "-c", f"import {generic}"], capture_output=True, cwd=tmp_path).returncode != 0
