"""The benchmark harness runs end to end on a tiny list and writes a result file of the expected shape.

Not a timed test: it only checks that ``python -m bench`` works, that every figure of issue 13's table is
computed against its budget, and what its result file holds. The ratios at this size mean nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.export import update_docs

ROOT = Path(__file__).resolve().parents[2]
BUDGETS = {
    "first_export_cpu_over_raw_floor",
    "unchanged_cycle_wall_s",
    "unchanged_cycle_cpu_s",
    "unchanged_cycle_api_calls",
    "unchanged_cycle_over_tenth",
    "incremental_wall_over_first",
    "incremental_rows_equal_changes",
    "first_sync_api_calls",
    "unchanged_export_over_tenth",
    "list_create_cpu_over_csv_floor",
    "peak_rss_mb",
    "peak_rss_over_tenth",
    "help_over_import_click",
    "largest_file_bytes",
}


@pytest.mark.skipif(
    bool(os.environ.get("DOTSYNC_TEST_POSTGRES_URL")),
    reason="the harness always benchmarks SQLite; it runs once, in the SQLite pass",
)
def test_bench_runs_on_100_members(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["--members", "100", "--books", "2", "--campaigns", "2", "--no-docs", "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]  # 2: the harness failed (a crash is 1 too, so:)
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    result = json.loads((out / "results.json").read_text())
    assert (result["members"], result["reference_members"], result["database"]) == (100, 10, "sqlite")
    assert (result["books"], result["campaigns"]) == (2, 2)
    phases, reference = result["phases"], result["reference_phases"]
    for name in ("list_create", "first_export", "settle", "cycle_2", "cycle_3", "incremental", "unchanged"):
        assert {"process_wall_s", "startup_s", "wall_s", "cpu_s", "process_peak_rss_mb"} <= phases[
            name
        ].keys()
    for name in ("floor_export", "floor_csv_load"):
        assert {"wall_s", "cpu_s"} <= phases[name].keys(), name
    assert phases["floor_csv_load"]["rows"] == 100
    assert phases["first_export"]["rows_uploaded"] == 100
    assert reference["first_export"]["rows_uploaded"] == 10
    assert phases["floor_export"]["same_bytes"] is True
    assert phases["incremental"]["rows_uploaded"] == phases["incremental"]["changed_members"] == 1
    assert phases["unchanged"]["rows_uploaded"] == reference["unchanged"]["rows_uploaded"] == 0
    assert {"unchanged_2", "unchanged_3", "unchanged_3_export"} <= phases.keys() & reference.keys()
    assert set(phases["unchanged"]) >= {"api_calls", "api_calls_total"}
    assert set(result["budgets"]) == BUDGETS
    budgets = result["budgets"]
    assert budgets["unchanged_cycle_api_calls"]["limit"] == 5 + 3 * 2
    assert budgets["first_sync_api_calls"]["limit"] == pytest.approx(1.25 * 100 / 1000 + 60, abs=0.1)
    assert budgets["first_sync_api_calls"]["value"] == sum(
        phases[k]["api_calls_total"] for k in ("first_export", "settle", "cycle_2", "cycle_3")
    )
    for name, budget in budgets.items():
        assert isinstance(budget["ok"], bool), name
        assert budget["value"] is not None, name
    assert done.returncode == (0 if all(b["ok"] for b in budgets.values()) else 1)
    assert result["startup"]["help_s"] > 0
    assert result["startup"]["import_click_s"] > 0
    table = (out / "results.md").read_text()
    assert table.startswith("### sqlite, 100 members")
    assert "| help_over_import_click |" in table
    assert not (out / "work").exists()
    assert not (out / "work-reference").exists()

    # The docs keep one section per database and size: a second run of the same size replaces the first.
    docs = tmp_path / "benchmarks.md"
    update_docs(docs, result)
    update_docs(docs, {**result, "when": "later"})
    text = docs.read_text()
    assert text.count("<!-- bench:sqlite-100 -->") == 1
    assert "later" in text
