"""`dotsync integration sync`, `dotsync dotmailer export` and `dotsync sync`: the cron and manual runs."""

from __future__ import annotations

from typing import Any

import click

from dotsync.cli.context import AppContext
from dotsync.cli.options import integration_option, json_option
from dotsync.console import ProgressReporter, print_json, progress_enabled
from dotsync.services import sync as svc
from dotsync.services.sync import CONNECTORS, SyncOutcome, SyncReport


def _environment(app: AppContext, progress: ProgressReporter, *, alerts: bool = True) -> svc.SyncEnvironment:
    from dotsync.cli.alerts_cmd import alerts_after_run

    # A malformed webhook stops here, before any run (exit 3).
    after_run = alerts_after_run(app) if alerts else None
    return svc.SyncEnvironment(
        engine=app.engine(),
        sessions=app.sessions(),
        box=app.box(),
        make_client=app.client_for,
        now=app.clock,
        progress=progress,
        safety_margin=app.settings.api_safety_margin,
        retention_days=app.settings.run_retention_days,
        after_run=after_run,
    )


def import_address_books(app: AppContext, integration_name: str) -> tuple[int, str | None]:
    """Run the address_book connector for one integration (after `integration create`): (books, error)."""
    from dotsync.console import ProgressReporter

    report = svc.integration_sync(
        _environment(app, ProgressReporter(False), alerts=False),  # nothing to alert about yet
        integration=integration_name,
        connectors=["address_book"],
        force=False,
    )
    (outcome,) = report.outcomes
    if outcome.outcome != SyncOutcome.SUCCESS:
        return 0, outcome.error or outcome.outcome
    step = (outcome.result.counts if outcome.result else {}).get("import", {}).get("address_book", {})
    return int(step.get("seen", 0)), None


def _report_json(report: SyncReport) -> list[dict[str, Any]]:
    return [
        {
            "integration": o.integration,
            "outcome": o.outcome,
            "run_id": o.run_id,
            "api_calls": o.api_calls,
            "error": o.error,
            "notes": o.notes,
            "counts": o.result.counts if o.result else {},
        }
        for o in report.outcomes
    ]


def _render(report: SyncReport, as_json: bool) -> None:
    if as_json:
        print_json(_report_json(report))
    else:
        from dotsync.cli.render import render_report

        render_report(report)
    report.raise_for_outcome()


@click.command("sync")
@integration_option
@click.option(
    "--connector",
    "connectors",
    multiple=True,
    type=click.Choice(CONNECTORS),
    help="Run only this connector (repeatable). Default: all, in order.",
)
@click.option("--force", is_flag=True, help="Refresh data fields even if they were read less than a day ago.")
@json_option
@click.pass_obj
def integration_sync(
    app: AppContext, integration_name: str | None, connectors: tuple[str, ...], force: bool, as_json: bool
) -> None:
    """Import from Dotmailer: books, data fields, campaigns, contacts, opt-outs, activity, summaries.

    Runs for every active integration (or --integration). Cron runs it every 4 minutes. A failing connector
    is recorded and the others still run; the exit code is then 1.
    """
    progress = ProgressReporter(progress_enabled(app.verbosity))
    with progress.running():
        report = svc.integration_sync(
            _environment(app, progress),
            integration=integration_name,
            connectors=list(connectors),
            force=force,
        )
    _render(report, as_json)


@click.group("dotmailer")
def dotmailer() -> None:
    """Commands that push to Dotmailer."""


_dry_run = click.option(
    "--dry-run",
    is_flag=True,
    help="Show what the export would do (adds, updates, removals, state changes) without changing anything.",
)
_confirm = click.option(
    "--confirm-mass-change",
    "confirm",
    multiple=True,
    metavar="LIST",
    help="Let a held mass change of LIST through, once (repeatable).",
)


@dotmailer.command("export")
@integration_option
@_dry_run
@_confirm
@json_option
@click.pass_obj
def export(
    app: AppContext, integration_name: str | None, dry_run: bool, confirm: tuple[str, ...], as_json: bool
) -> None:
    """Export connected lists to their address books (settle uploads, remove, sync state, prepare, upload).

    Runs for every active integration (or --integration); each connected book in turn, so one stuck book
    never blocks another. Cron runs it every 4 minutes.

    Dotmailer applies a removal minutes after accepting it: the contact stays pending until a later run sees it
    gone from the book (a removal not applied is sent again, three times at most; `status` shows the rest).
    """
    progress = ProgressReporter(progress_enabled(app.verbosity))
    options = svc.ExportOptions(dry_run=dry_run, confirm_mass_change=set(confirm))
    with progress.running():
        report = svc.dotmailer_export(
            _environment(app, progress), integration=integration_name, options=options
        )
    _render(report, as_json)


@click.command("sync")
@click.argument("list_name", metavar="[LIST]", required=False)
@integration_option
@_dry_run
@_confirm
@json_option
@click.pass_obj
def sync(
    app: AppContext,
    list_name: str | None,
    integration_name: str | None,
    dry_run: bool,
    confirm: tuple[str, ...],
    as_json: bool,
) -> None:
    """Import, then export: everything, or only LIST's address book. For running by hand."""
    progress = ProgressReporter(progress_enabled(app.verbosity))
    options = svc.ExportOptions(dry_run=dry_run, confirm_mass_change=set(confirm))
    with progress.running():
        report = svc.full_sync(
            _environment(app, progress), list_name=list_name, integration=integration_name, options=options
        )
    _render(report, as_json)


COMMANDS = [dotmailer, sync]
