"""The benchmark harness runs end to end on a tiny list and writes a result file of the expected shape.

Not a timed test: it only checks that ``python -m bench`` works and what its result file holds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(
    bool(os.environ.get("DOTSYNC_TEST_POSTGRES_URL")),
    reason="the harness always benchmarks SQLite; it runs once, in the SQLite pass",
)
def test_bench_runs_on_200_members(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["--members", "200", "--books", "2", "--campaigns", "3", "--no-docs", "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]
    result = json.loads((out / "results.json").read_text())
    assert (result["members"], result["database"], result["books"], result["campaigns"]) == (
        200,
        "sqlite",
        2,
        3,
    )
    phases = result["phases"]
    for name in ("first_export", "floor", "settle", "incremental", "unchanged"):
        assert {"wall_s", "cpu_s", "process_peak_rss_mb"} <= phases[name].keys(), name
    assert phases["first_export"]["rows_uploaded"] == 200
    assert phases["floor"]["same_bytes"] is True
    assert phases["incremental"]["rows_uploaded"] == phases["incremental"]["changed_members"] == 2
    assert phases["unchanged"]["rows_uploaded"] == 0
    assert set(result["budgets"]) >= {"first_export_peak_rss_mb", "unchanged_api_calls"}
    assert result["budgets"]["unchanged_api_calls"]["limit"] == 5 + 3 * 2
    assert (out / "results.md").read_text().startswith("### sqlite, 200 members")
    assert not (out / "work").exists()
