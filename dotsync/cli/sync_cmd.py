"""`dotsync integration sync`, `dotsync dotmailer export` and `dotsync sync`: the cron and manual runs."""

from __future__ import annotations

import click

from dotsync.cli.command import Call, body
from dotsync.cli.context import AppContext
from dotsync.cli.options import integration_option
from dotsync.progress import Progress, no_progress
from dotsync.services import sync as svc
from dotsync.services.sync import CONNECTORS


def _environment(app: AppContext, progress: Progress, *, alerts: bool = True) -> svc.SyncEnvironment:
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


def import_address_books(app: AppContext, integration_name: str) -> svc.BooksImported:
    """Run the address_book connector for one integration (after `integration create`)."""
    # Nothing to alert about yet, and no progress to show.
    return svc.import_address_books(_environment(app, no_progress, alerts=False), integration_name)


def _show(call: Call, report: svc.SyncReport[svc.SyncDetails]) -> None:
    """The report (JSON: each integration's run with its counts), then the command's exit for it."""
    from dotsync.cli.render import render_report

    call.show(report.outcomes, lambda _outcomes: render_report(report))
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
@body(json=True, progress=True)
def integration_sync(
    call: Call, integration_name: str | None, connectors: tuple[str, ...], force: bool
) -> None:
    """Import from Dotmailer: books, data fields, campaigns, contacts, opt-outs, activity, summaries.

    Runs for every active integration (or --integration). Cron runs it every 4 minutes. A failing connector
    is recorded and the others still run; the exit code is then 1.
    """
    report = call.run(
        svc.integration_sync,
        _environment(call.app, call.progress),
        integration=integration_name,
        connectors=list(connectors),
        force=force,
    )
    _show(call, report)


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
@body(json=True, progress=True)
def export(call: Call, integration_name: str | None, dry_run: bool, confirm: tuple[str, ...]) -> None:
    """Export connected lists to their address books (settle uploads, remove, sync state, prepare, upload).

    Runs for every active integration (or --integration); each connected book in turn, so one stuck book
    never blocks another. Cron runs it every 4 minutes.

    Dotmailer applies a removal minutes after accepting it: the contact stays pending until a later run sees it
    gone from the book (a removal not applied is sent again, three times at most; `status` shows the rest).
    """
    options = svc.ExportOptions(dry_run=dry_run, confirm_mass_change=set(confirm))
    report = call.run(
        svc.dotmailer_export,
        _environment(call.app, call.progress),
        integration=integration_name,
        options=options,
    )
    _show(call, report)


@click.command("sync")
@click.argument("list_name", metavar="[LIST]", required=False)
@integration_option
@_dry_run
@_confirm
@body(json=True, progress=True)
def sync(
    call: Call, list_name: str | None, integration_name: str | None, dry_run: bool, confirm: tuple[str, ...]
) -> None:
    """Import, then export: everything, or only LIST's address book. For running by hand."""
    options = svc.ExportOptions(dry_run=dry_run, confirm_mass_change=set(confirm))
    report = call.run(
        svc.full_sync,
        _environment(call.app, call.progress),
        list_name=list_name,
        integration=integration_name,
        options=options,
    )
    _show(call, report)


COMMANDS = [dotmailer, sync]
