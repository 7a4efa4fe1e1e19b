"""Human rendering of sync reports: a one-screen summary per integration (stdout)."""

from __future__ import annotations

from typing import Any

from dotsync.console import print_table, stdout
from dotsync.services.sync import SyncOutcome, SyncReport

_EXPORT_COLUMNS = ("added", "updated", "removed", "rejected", "unsubscribed", "uploads")


def render_report(report: SyncReport) -> None:
    for outcome in report.outcomes:
        status = {SyncOutcome.SUCCESS: "[green]ok[/]", SyncOutcome.LOCKED: "[yellow]skipped (locked)[/]"}.get(
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
        exports = counts.get("export", {})
        plans = {book: data["plan"] for book, data in exports.items() if data.get("plan") is not None}
        if plans:
            for book, plan in plans.items():
                _render_plan(book, exports[book].get("list"), plan)
        elif exports:
            rows = [
                [book, *(data.get(c, 0) for c in _EXPORT_COLUMNS), data.get("status", "-")]
                for book, data in exports.items()
            ]
            print_table("Export", ["book", *_EXPORT_COLUMNS, "status"], rows)
            for book, data in exports.items():
                if data.get("error"):
                    stdout.print(f"[yellow]{book}:[/] {data['error']}")
        for note in outcome.notes:
            stdout.print(f"[yellow]note:[/] {note}")
        books_said_it = any(data.get("error") for data in exports.values())
        # A locked run's "who holds it since when" is the command's one error line (stderr), not repeated here.
        if (
            outcome.error
            and outcome.outcome not in (SyncOutcome.SUCCESS, SyncOutcome.LOCKED)
            and not books_said_it
        ):
            stdout.print(f"[red]error:[/] {outcome.error}")


def _render_plan(book: str, list_name: str | None, plan: dict[str, Any]) -> None:
    samples = plan.get("samples", {})
    rows = [
        [label, plan.get(key, 0), ", ".join(samples.get(sample, [])) or "-"]
        for label, key, sample in (
            ("add", "add", "add"),
            ("update", "update", "update"),
            ("remove from book", "remove", "remove"),
            ("member -> unsubscribed", "state_changes", "state_change"),
        )
    ]
    print_table(
        f"Dry run: {book} (list {list_name}) — nothing was changed", ["would", "rows", "sample"], rows
    )
    skipped = plan.get("skipped_reasons") or {}
    if skipped:
        stdout.print("Not exported: " + ", ".join(f"{n} {state}" for state, n in skipped.items()))
    if plan.get("bad_values"):
        stdout.print(
            f"[yellow]{plan['bad_values']} field values could not be formatted for their data field type[/]"
        )
