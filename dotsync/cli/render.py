"""Human rendering of sync reports: a one-screen summary per integration (stdout)."""

from __future__ import annotations

from typing import Any

from dotsync.console import print_table, stdout
from dotsync.sync.orchestrator import SyncReport

_EXPORT_COLUMNS = ("added", "updated", "removed", "rejected", "unsubscribed", "uploads")


def render_report(report: SyncReport) -> None:
    for outcome in report.outcomes:
        status = {"success": "[green]ok[/]", "locked": "[yellow]skipped (locked)[/]"}.get(
            outcome.outcome, f"[red]{outcome.outcome}[/]"
        )
        stdout.print(f"[bold]{report.kind}[/] {outcome.integration}: {status}, {outcome.api_calls} API calls")
        counts: dict[str, Any] = outcome.result.counts if outcome.result else {}
        if "import" in counts:
            rows = [
                [
                    name,
                    step.get("outcome"),
                    ", ".join(f"{k}={v}" for k, v in step.items() if k != "outcome" and v) or "-",
                ]
                for name, step in counts["import"].items()
            ]
            print_table("Import", ["connector", "outcome", "counts"], rows)
        if "export" in counts:
            rows = [
                [book, *(data.get(c, 0) for c in _EXPORT_COLUMNS), data.get("status", "-")]
                for book, data in counts["export"].items()
            ]
            print_table("Export", ["book", *_EXPORT_COLUMNS, "status"], rows)
        for note in outcome.notes:
            stdout.print(f"[yellow]note:[/] {note}")
        if outcome.error and outcome.outcome != "success":
            stdout.print(f"[red]error:[/] {outcome.error}")
