"""The sync commands as services: ``integration sync`` (import), ``dotmailer export`` and ``sync`` (both).

The CLI reaches the sync engine only through this module (``.importlinter``): it takes what it passes in and
renders from here too (``CONNECTORS``, ``ExportOptions``, ``AfterRun``, ``SyncOutcome`` and the types of a
report, imported below). A command's :class:`SyncReport` carries, per integration, :class:`SyncDetails`: the
import's connectors and the export's books, typed, for the summary a person reads; ``--json`` prints the run's
counts as the run history keeps them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from dotsync.db.lookups import connected_book, get_list
from dotsync.db.models import Integration, RunKind
from dotsync.errors import BadInputError
from dotsync.progress import Progress, no_progress
from dotsync.secret import SecretBox
from dotsync.services.integrations import get_integration
from dotsync.sync import runs
from dotsync.sync.context import SyncContext
from dotsync.sync.export import BookExport, ExportStatus
from dotsync.sync.export.options import ExportOptions
from dotsync.sync.export.plan import Plan
from dotsync.sync.importer import CONNECTORS, StepResult, run_import
from dotsync.sync.orchestrator import (
    AfterRun,
    BodyResult,
    ClientFactory,
    IntegrationOutcome,
    SyncOutcome,
    SyncReport,
    run_per_integration,
)

__all__ = [
    "CONNECTORS",
    "AfterRun",
    "BookExport",
    "ExportOptions",
    "ExportStatus",
    "IntegrationOutcome",
    "Plan",
    "StepResult",
    "SyncDetails",
    "SyncEnvironment",
    "SyncOutcome",
    "SyncReport",
    "dotmailer_export",
    "full_sync",
    "import_address_books",
    "integration_sync",
]


@dataclass
class SyncDetails:
    """What one integration's run did, typed: the import's connectors (None: no import ran) and the export's
    books, in the order they ran."""

    connectors: list[StepResult] | None = None
    books: list[BookExport] = field(default_factory=list)


@dataclass(frozen=True)
class BooksImported:
    """``integration create``'s first import of the address books: how many, or why it failed."""

    books: int
    error: str | None


@dataclass
class SyncEnvironment:
    """Collaborators every sync service needs, built by the CLI."""

    engine: Engine
    sessions: sessionmaker[Session]
    box: SecretBox
    make_client: ClientFactory
    now: Callable[[], datetime]
    progress: Progress = no_progress
    safety_margin: int = 50
    retention_days: int = 90
    # Called after each integration's run, under its lock: the alert check (services/alerts.py).
    after_run: AfterRun | None = None


def _integration_ids(session: Session, name: str | None) -> list[int]:
    if name is not None:
        return [get_integration(session, name).id]
    return list(session.scalars(select(Integration.id).where(Integration.is_active).order_by(Integration.id)))


def _import_body(connectors: list[str] | None) -> Callable[[SyncContext, int], BodyResult[SyncDetails]]:
    def body(ctx: SyncContext, run_id: int) -> BodyResult[SyncDetails]:
        result = run_import(ctx, run_id, connectors)
        return BodyResult(
            counts={"import": result.counts()},
            failures=[f"connector {s.name} failed: {s.error}" for s in result.failed],
            stopped_early=result.stopped_early,
            details=SyncDetails(connectors=result.steps),
        )

    return body


def _export_body(options: ExportOptions) -> Callable[[SyncContext, int], BodyResult[SyncDetails]]:
    def body(ctx: SyncContext, run_id: int) -> BodyResult[SyncDetails]:
        from dotsync.sync.export import run_export

        exported = run_export(ctx, run_id, options)
        return BodyResult(
            counts=exported.counts,
            failures=exported.failures,
            stopped_early=exported.stopped_early,
            details=SyncDetails(books=exported.details or []),
        )

    return body


def integration_sync(
    env: SyncEnvironment, *, integration: str | None, connectors: list[str] | None, force: bool
) -> SyncReport[SyncDetails]:
    """The import (Dotmailer -> dotsync) for one or every active integration."""
    unknown = [c for c in connectors or [] if c not in CONNECTORS]
    if unknown:
        raise BadInputError(
            f"unknown connector(s): {', '.join(unknown)}; choose from {', '.join(CONNECTORS)}"
        )
    with env.sessions() as session:
        ids = _integration_ids(session, integration)
    return _run(env, ids, RunKind.IMPORT, _import_body(connectors or None), force=force, record=True)


def dotmailer_export(
    env: SyncEnvironment, *, integration: str | None, options: ExportOptions
) -> SyncReport[SyncDetails]:
    """The export (dotsync -> Dotmailer) for one or every active integration."""
    with env.sessions() as session:
        ids = _integration_ids(session, integration)
        _check_confirmations(session, options.confirm_mass_change)
    kind = RunKind.EXPORT_DRY_RUN if options.dry_run else RunKind.EXPORT
    return _run(env, ids, kind, _export_body(options), record=not options.dry_run)


def full_sync(
    env: SyncEnvironment, *, list_name: str | None, integration: str | None, options: ExportOptions
) -> SyncReport[SyncDetails]:
    """Import then export under one lock; with a list, only that list's book is exported."""
    with env.sessions() as session:
        _check_confirmations(session, options.confirm_mass_change)
        if list_name is not None:
            book = connected_book(session, get_list(session, list_name))
            ids = [book.integration_id]
            options.book_ids = {book.id}
        else:
            ids = _integration_ids(session, integration)

    def body(ctx: SyncContext, run_id: int) -> BodyResult[SyncDetails]:
        imported = _import_body(None)(ctx, run_id)
        if imported.stopped_early:
            return imported
        exported = _export_body(options)(ctx, run_id)
        return BodyResult(
            counts={**imported.counts, **exported.counts},
            failures=imported.failures + exported.failures,
            stopped_early=exported.stopped_early,
            details=SyncDetails(
                connectors=imported.details.connectors if imported.details else None,
                books=exported.details.books if exported.details else [],
            ),
        )

    return _run(env, ids, RunKind.SYNC, body, record=not options.dry_run)


def _run(
    env: SyncEnvironment,
    ids: list[int],
    kind: RunKind,
    body: Callable[[SyncContext, int], BodyResult[SyncDetails]],
    *,
    record: bool,
    force: bool = False,
) -> SyncReport[SyncDetails]:
    """One run of ``body`` per integration, under each one's lock. A recorded run (``record``: not a dry run) also
    tells ``after_run`` (alerts) and prunes the history."""
    report = run_per_integration(
        engine=env.engine,
        sessions=env.sessions,
        integration_ids=ids,
        kind=kind,
        make_client=env.make_client,
        body=body,
        now=env.now,
        box=env.box,
        progress=env.progress,
        force=force,
        safety_margin=env.safety_margin,
        after_run=env.after_run if record else None,
    )
    if record:
        runs.prune_history(env.sessions, env.now(), env.retention_days)
    return report


def import_address_books(env: SyncEnvironment, integration: str) -> BooksImported:
    """The ``address_book`` connector for one integration, at once (after ``integration create``)."""
    report = integration_sync(env, integration=integration, connectors=["address_book"], force=False)
    (outcome,) = report.outcomes
    if outcome.outcome != SyncOutcome.SUCCESS:
        return BooksImported(0, outcome.error or outcome.outcome)
    steps = outcome.details.connectors if outcome.details and outcome.details.connectors else []
    return BooksImported(sum(step.counts.get("seen", 0) for step in steps), None)


def _check_confirmations(session: Session, list_names: set[str]) -> None:
    for name in list_names:
        connected_book(session, get_list(session, name))
