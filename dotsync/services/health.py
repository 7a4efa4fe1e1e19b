"""Health of the sync: the problems an operator must act on, for ``status --check`` and for alerts.

A problem has a stable ``key`` (integration, book, kind), so alerts can announce it once when it appears and
once when it clears, however many runs see it in between. Inactive integrations are never checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session, aliased

from dotsync.db.models import (
    AddressBook,
    ContactExport,
    ImportStatus,
    Integration,
    Run,
    RunKind,
    RunOutcome,
)
from dotsync.errors import EXIT_FAILURE, DotsyncError

DEFAULT_MAX_AGE_MINUTES = 30
UPLOAD_STUCK_AFTER = timedelta(hours=2)


class UnhealthyError(DotsyncError):
    """``status --check`` found problems (exit 1); the problems themselves are printed on stdout."""

    exit_code = EXIT_FAILURE


class ProblemKind(StrEnum):
    NO_RECENT_IMPORT = "no_recent_import"
    NO_RECENT_EXPORT = "no_recent_export"
    CREDENTIALS_REFUSED = "credentials_refused"
    BUDGET_EXHAUSTED = "budget_exhausted"
    BOOK_MISSING = "book_missing"
    EXPORT_FAILED = "export_failed"
    MASS_CHANGE_HELD = "mass_change_held"
    UPLOAD_STUCK = "upload_stuck"
    UPLOAD_UNKNOWN = "upload_unknown"
    REMOVALS_NOT_APPLIED = "removals_not_applied"


# What must succeed every --max-age: the run kinds that count as an import / an export (``sync`` does both; a dry
# run neither), and the problem when none did.
_DUTIES = (
    ("import", (RunKind.IMPORT, RunKind.SYNC), ProblemKind.NO_RECENT_IMPORT),
    ("export", (RunKind.EXPORT, RunKind.SYNC), ProblemKind.NO_RECENT_EXPORT),
)


@dataclass(frozen=True)
class Problem:
    """One thing that is wrong now. ``key`` identifies it across runs; ``message`` is the line people read."""

    key: str
    kind: ProblemKind
    integration: str
    book: str | None
    message: str
    since: datetime | None
    run_id: int | None

    @property
    def line(self) -> str:
        where = self.integration if self.book is None else f"{self.integration} / {self.book}"
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": str(self.kind),
            "integration": self.integration,
            "book": self.book,
            "problem": self.message,
            "since": self.since,
            "run_id": self.run_id,
        }


@dataclass(frozen=True)
class HealthReport:
    integrations: int
    books: int
    problems: list[Problem]

    @property
    def healthy(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "integrations": self.integrations,
            "connected_books": self.books,
            "problems": [p.as_dict() for p in self.problems],
        }


def check_health(
    session: Session, now: datetime, *, max_age: timedelta, integration_id: int | None = None
) -> HealthReport:
    """Every problem of every active integration (or of one), in a stable order."""
    query = select(Integration).where(Integration.is_active).order_by(Integration.name)
    if integration_id is not None:
        query = query.where(Integration.id == integration_id)
    problems: list[Problem] = []
    integrations = books = 0
    for integration in session.scalars(query):
        integrations += 1
        problems += _run_problems(session, integration, now, max_age)
        connected = session.scalars(
            select(AddressBook)
            .where(AddressBook.integration_id == integration.id, AddressBook.marketing_list_id.is_not(None))
            .order_by(AddressBook.name)
        ).all()
        books += len(connected)
        for book in connected:
            problems += _book_problems(session, integration, book, now)
    return HealthReport(integrations=integrations, books=books, problems=problems)


def _latest_run(
    session: Session, integration_id: int, *kinds: RunKind, outcome: RunOutcome | None = None
) -> Run | None:
    query = select(Run).where(Run.integration_id == integration_id, Run.kind.in_(kinds))
    query = query.where(Run.outcome == outcome) if outcome else query.where(Run.outcome != RunOutcome.SKIPPED)
    return session.scalar(query.order_by(Run.started_at.desc(), Run.id.desc()).limit(1))


def _run_problems(
    session: Session, integration: Integration, now: datetime, max_age: timedelta
) -> list[Problem]:
    found: list[Problem] = []

    def problem(kind: ProblemKind, message: str, since: datetime | None, run: Run | None) -> None:
        found.append(
            Problem(
                key=f"{integration.id}:{kind}",
                kind=kind,
                integration=integration.name,
                book=None,
                message=message,
                since=since,
                run_id=run.id if run else None,
            )
        )

    for what, kinds, kind in _DUTIES:
        success = _latest_run(session, integration.id, *kinds, outcome=RunOutcome.SUCCESS)
        since = (success.finished_at or success.started_at) if success else integration.created_at
        if now - since > max_age:
            latest = _latest_run(session, integration.id, *kinds)
            last = f"last at {since:%Y-%m-%d %H:%M} UTC" if success else "never"
            problem(kind, f"no successful {what} for {_minutes(now - since)} ({last})", since, latest)
    latest = _latest_run(session, integration.id, RunKind.IMPORT, RunKind.EXPORT, RunKind.SYNC)
    if (
        latest is not None
        and latest.outcome == RunOutcome.FAILED
        and (latest.counts or {}).get("credentials_refused")
    ):
        problem(
            ProblemKind.CREDENTIALS_REFUSED,
            f"Dotmailer refused the credentials in the last run: {latest.error}",
            latest.started_at,
            latest,
        )
    # The import and the export alternate: look at the latest of each, so one's success never hides the other.
    stopped = [
        run
        for run in (_latest_run(session, integration.id, *kinds) for _what, kinds, _kind in _DUTIES)
        if run is not None and run.outcome == RunOutcome.STOPPED
    ]
    if stopped:
        run = max(stopped, key=lambda r: (r.started_at, r.id))
        problem(
            ProblemKind.BUDGET_EXHAUSTED,
            f"the last {run.kind} stopped early, out of API calls for now: {run.error}",
            run.started_at,
            run,
        )
    return found


def _book_problems(
    session: Session, integration: Integration, book: AddressBook, now: datetime
) -> list[Problem]:
    found: list[Problem] = []
    latest = _latest_run(session, integration.id, RunKind.EXPORT, RunKind.SYNC)

    def problem(kind: ProblemKind, message: str, since: datetime | None) -> None:
        found.append(
            Problem(
                key=f"{integration.id}:book:{book.origin_id}:{kind}",
                kind=kind,
                integration=integration.name,
                book=book.name,
                message=message,
                since=since,
                run_id=latest.id if latest else None,
            )
        )

    if book.missing_since is not None:
        problem(
            ProblemKind.BOOK_MISSING, "the address book no longer exists in Dotmailer", book.missing_since
        )
    if book.guard_held_reason:
        problem(ProblemKind.MASS_CHANGE_HELD, book.guard_held_reason, book.updated_at)
    elif book.sync_error and book.missing_since is None:
        problem(ProblemKind.EXPORT_FAILED, f"the last export failed: {book.sync_error}", book.updated_at)
    if book.removal_note:
        problem(ProblemKind.REMOVALS_NOT_APPLIED, book.removal_note, book.updated_at)
    stuck = session.execute(
        select(ContactExport.import_id, ContactExport.created_at)
        .where(
            ContactExport.address_book_id == book.id,
            ContactExport.status == ImportStatus.NOT_FINISHED,
            ContactExport.created_at < now - UPLOAD_STUCK_AFTER,
        )
        .order_by(ContactExport.created_at)
    ).all()
    if stuck:
        problem(
            ProblemKind.UPLOAD_STUCK,
            f"{len(stuck)} upload(s) unfinished for over two hours: {', '.join(r.import_id for r in stuck)}",
            stuck[0].created_at,
        )
    later = aliased(ContactExport)
    unknown = session.execute(
        select(ContactExport.import_id, ContactExport.updated_at)
        .where(
            ContactExport.address_book_id == book.id,
            ContactExport.status == ImportStatus.UNKNOWN,
            # An upload that ended Unknown stays a problem until a later upload of the book finished.
            ~exists().where(
                and_(
                    later.address_book_id == book.id,
                    later.status == ImportStatus.FINISHED,
                    later.created_at > ContactExport.created_at,
                )
            ),
        )
        .order_by(ContactExport.created_at)
    ).all()
    if unknown:
        problem(
            ProblemKind.UPLOAD_UNKNOWN,
            f"{len(unknown)} upload(s) ended Unknown (Dotmailer never said how they ended): "
            + ", ".join(r.import_id for r in unknown),
            unknown[0].updated_at,
        )
    return found


def _minutes(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} minutes"
    hours = minutes // 60
    return f"{hours} hours" if hours < 48 else f"{hours // 24} days"
