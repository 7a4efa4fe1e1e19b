"""Human rendering of sync reports: a one-screen summary per integration (stdout)."""

from __future__ import annotations

from dotsync.console import print_table, stdout
from dotsync.services.sync import BookExport, Plan, SyncDetails, SyncOutcome, SyncReport

_EXPORT_COLUMNS = ("added", "updated", "removed", "rejected", "unsubscribed", "uploads")
_OUTCOME_MARKUP = {SyncOutcome.SUCCESS: "[green]ok[/]", SyncOutcome.LOCKED: "[yellow]skipped (locked)[/]"}


def render_report(report: SyncReport[SyncDetails]) -> None:
    for outcome in report.outcomes:
        status = _OUTCOME_MARKUP.get(outcome.outcome, f"[red]{outcome.outcome}[/]")
        stdout.print(f"[bold]{report.kind}[/] {outcome.integration}: {status}, {outcome.api_calls} API calls")
        details = outcome.details or SyncDetails()
        if details.connectors is not None:
            rows = [
                [step.name, step.outcome, ", ".join(f"{k}={v}" for k, v in step.counts.items() if v) or "-"]
                for step in details.connectors
            ]
            print_table("Import", ["connector", "outcome", "counts"], rows)
        books = details.books
        planned = [book for book in books if book.plan is not None]
        if planned:
            for book in planned:
                assert book.plan is not None
                _render_plan(book, book.plan)
        elif books:
            rows = [[b.book, *(getattr(b, c) for c in _EXPORT_COLUMNS), b.status] for b in books]
            print_table("Export", ["book", *_EXPORT_COLUMNS, "status"], rows)
            for book in books:
                if book.error:
                    stdout.print(f"[yellow]{book.book}:[/] {book.error}")
        for note in outcome.notes:
            stdout.print(f"[yellow]note:[/] {note}")
        books_said_it = any(book.error for book in books)
        # A locked run's "who holds it since when" is the command's one error line (stderr), not repeated here.
        if (
            outcome.error
            and outcome.outcome not in (SyncOutcome.SUCCESS, SyncOutcome.LOCKED)
            and not books_said_it
        ):
            stdout.print(f"[red]error:[/] {outcome.error}")


def _render_plan(book: BookExport, plan: Plan) -> None:
    rows = [
        [label, count, ", ".join(plan.samples.get(sample, ())) or "-"]
        for label, count, sample in (
            ("add", plan.added, "add"),
            ("update", plan.updated, "update"),
            ("remove from book", len(plan.removals), "remove"),
            ("member -> unsubscribed", plan.state_changes, "state_change"),
        )
    ]
    print_table(
        f"Dry run: {book.book} (list {book.list_name}) — nothing was changed",
        ["would", "rows", "sample"],
        rows,
    )
    if plan.reasons:
        stdout.print("Not exported: " + ", ".join(f"{n} {state}" for state, n in plan.reasons.items()))
    if plan.bad_values:
        stdout.print(
            f"[yellow]{plan.bad_values} field values could not be formatted for their data field type[/]"
        )
