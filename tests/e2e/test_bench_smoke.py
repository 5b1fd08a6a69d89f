"""The benchmarks run end to end with tiny counts (Salt skipped), so they cannot rot.

No timing is asserted: these machines swing 2-3x between runs; bench/README.md has figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

BENCH = Path(__file__).resolve().parents[2] / "bench"


def run_bench(script: str, args: list[str], results: Path) -> dict:
    env = {**os.environ, "SALINE_BENCH_SALT": "0", "SALINE_BENCH_RESULTS": str(results)}
    r = subprocess.run([sys.executable, str(BENCH / script), *args, "--json"],
                       capture_output=True, text=True, timeout=240, env=env)
    assert r.returncode == 0, f"{script} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    assert list(results.glob("*.md")) and list(results.glob("*.json"))
    return json.loads(r.stdout)


def test_compare_salt_runs_with_tiny_counts(tmp_path):
    data = run_bench("compare_salt.py", ["--reps-scale", "0.04", "--agents", "3"], tmp_path)
    keys = {it["key"] for it in data["items"]}
    assert keys == {"api_round_trip", "cli_round_trip", "apply_first", "apply_converged", "apply_test",
                    "start_to_first_job", "fan_out"}
    assert all(it["saline"]["n"] >= 1 and it["salt"] is None for it in data["items"])
    assert data["memory"]["saline_agent"]["rss_mib"] > 0
    assert data["floor"]["median"] > 0


def test_swarm_runs_with_tiny_counts(tmp_path):
    data = run_bench("swarm.py", ["--agents", "5", "--rounds", "2", "--events", "60"], tmp_path)
    (size,) = data["sizes"]
    assert size["agents"] == 5 and size["lost_total"] == 0 and size["returned_min"] == 5
    flood = size["flood"]
    assert flood["events"] == 60 and flood["stored"] == 60 and flood["lost"] == 0 and flood["duplicates_stored"] == 0


def test_soak_runs_briefly(tmp_path):
    data = run_bench("soak.py", ["--minutes", "0.2"], tmp_path)
    assert data["lost"] == 0 and data["jobs"] >= 1
    assert all(data["sent"][k] > 0 for k in ("big", "junk", "pending", "bootstrap")), data["sent"]
