"""Operations views: ``dotsync status`` (health per integration and book) and ``dotsync runs`` (history)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from dotsync.db.models import (
    AddressBook,
    AddressBookContact,
    ContactExport,
    ImportStatus,
    Integration,
    ListMember,
    MarketingList,
    Run,
    RunKind,
    RunOutcome,
    RunStep,
)
from dotsync.services.integrations import get_integration
from dotsync.sync.runs import killed_run_ids

STUCK_AFTER = timedelta(hours=2)


@dataclass(frozen=True)
class RateLimitView:
    """Dotmailer's rate-limit scheme as last seen (tiered per minute, or hourly), the last limit hit, and until
    when no call is made (after a 429 whose reset was further away than a run may wait)."""

    scheme: str | None
    last_hit: str | None
    last_hit_at: datetime | None
    resume_at: datetime | None


@dataclass(frozen=True)
class RunBrief:
    """A run, in a line."""

    id: int
    kind: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str  # a RunOutcome; "killed" for a run whose process died
    api_calls: int
    error: str | None


@dataclass(frozen=True)
class BookStatus:
    """A connected book's export state."""

    book: str
    book_id: int
    list: str | None
    sync_status: str | None
    error: str | None
    held: str | None
    missing_since: datetime | None
    last_exported_at: datetime | None
    pending_imports: int
    stuck_imports: Sequence[str]  # (not list[...]: the field `list` above hides the type here)
    pending_removals: int
    removal_note: str | None
    members: dict[str, int]  # per state, the states that have members


@dataclass(frozen=True)
class IntegrationStatus:
    """``status``: one integration's health."""

    integration: str
    active: bool
    api_calls_last_hour: int
    rate_limit: RateLimitView
    last_runs: dict[str, RunBrief]  # the last import, export and sync run, by kind, those there are
    books: list[BookStatus]
    problems: list[str]


@dataclass(frozen=True)
class StepView:
    """One connector or book export of a run."""

    name: str
    scope: str | None
    outcome: str
    counts: dict[str, Any]
    api_calls: int
    error: str | None


@dataclass(frozen=True)
class RunView(RunBrief):
    """``runs``: a run with its integration, where it ran, its counts (with its notes) and its steps."""

    integration: str | None
    host: str | None
    pid: int | None
    counts: dict[str, Any]
    steps: list[StepView]


def status_view(session: Session, now: datetime) -> list[IntegrationStatus]:
    views = []
    for integration in session.scalars(select(Integration).order_by(Integration.name)):
        last_runs = {}
        for kind in (RunKind.IMPORT, RunKind.EXPORT, RunKind.SYNC):
            run = session.scalar(
                select(Run)
                .where(Run.integration_id == integration.id, Run.kind == kind)
                .order_by(Run.started_at.desc(), Run.id.desc())
                .limit(1)
            )
            if run is not None:
                last_runs[kind.value] = _run_brief(run, killed=_killed(session, [run]))
        calls = session.scalar(
            select(func.coalesce(func.sum(Run.api_calls), 0)).where(
                Run.integration_id == integration.id, Run.started_at >= now - timedelta(hours=1)
            )
        )
        views.append(
            IntegrationStatus(
                integration=integration.name,
                active=integration.is_active,
                api_calls_last_hour=int(calls or 0),
                rate_limit=_rate_limit_view(integration, now),
                last_runs=last_runs,
                books=[_book_view(session, book, now) for book in _connected(session, integration.id)],
                problems=_problems(session, integration.id, now),
            )
        )
    return views


def _rate_limit_view(integration: Integration, now: datetime) -> RateLimitView:
    until = integration.rate_limited_until
    return RateLimitView(
        scheme=integration.rate_limit_scheme,
        last_hit=integration.rate_limit_hit,
        last_hit_at=integration.rate_limit_hit_at,
        resume_at=until if until is not None and until > now else None,
    )


def _connected(session: Session, integration_id: int) -> list[AddressBook]:
    return list(
        session.scalars(
            select(AddressBook)
            .where(AddressBook.integration_id == integration_id, AddressBook.marketing_list_id.is_not(None))
            .order_by(AddressBook.name)
        )
    )


def _book_view(session: Session, book: AddressBook, now: datetime) -> BookStatus:
    marketing_list = session.get(MarketingList, book.marketing_list_id)
    pending = session.execute(
        select(ContactExport.import_id, ContactExport.created_at).where(
            ContactExport.address_book_id == book.id, ContactExport.status == ImportStatus.NOT_FINISHED
        )
    ).all()
    states = dict(
        session.execute(
            select(ListMember.state, func.count())
            .where(ListMember.list_id == book.marketing_list_id)
            .group_by(ListMember.state)
        ).all()
    )
    stuck = [p.import_id for p in pending if p.created_at < now - STUCK_AFTER]
    # Removals sent but not yet confirmed gone from the book (Dotmailer applies them asynchronously).
    pending_removals = session.scalar(
        select(func.count())
        .select_from(AddressBookContact)
        .where(
            AddressBookContact.address_book_id == book.id,
            AddressBookContact.removal_requested_at.is_not(None),
        )
    )
    return BookStatus(
        book=book.name,
        book_id=book.origin_id,
        list=marketing_list.name if marketing_list else None,
        sync_status=book.sync_status,
        error=book.sync_error,
        held=book.guard_held_reason,
        missing_since=book.missing_since,
        last_exported_at=book.last_exported_at,
        pending_imports=len(pending),
        stuck_imports=stuck,
        pending_removals=int(pending_removals or 0),
        removal_note=book.removal_note,
        members={state: int(n) for state, n in states.items()},
    )


def _problems(session: Session, integration_id: int, now: datetime) -> list[str]:
    problems = []
    for book in _connected(session, integration_id):
        if book.missing_since:
            problems.append(
                f"book {book.name!r} was deleted in Dotmailer (since {book.missing_since:%Y-%m-%d %H:%M})"
            )
        if book.guard_held_reason:
            problems.append(f"book {book.name!r}: {book.guard_held_reason}")
        elif book.sync_error:
            problems.append(f"book {book.name!r}: {book.sync_error}")
        if book.removal_note:
            problems.append(f"book {book.name!r}: {book.removal_note}")
    running = session.scalars(
        select(Run).where(
            Run.integration_id == integration_id,
            Run.outcome == RunOutcome.RUNNING,
            Run.started_at < now - STUCK_AFTER,
        )
    ).all()
    killed = _killed(session, running)
    for run in running:
        if run.id in killed:
            continue  # its process died: shown as "killed" in the history, the next runs take over
        problems.append(
            f"run {run.id} ({run.kind}) started {run.started_at:%Y-%m-%d %H:%M} is still running (stuck?)"
        )
    return problems


def _killed(session: Session, candidates: Sequence[Run]) -> set[int]:
    bind = session.get_bind()
    assert isinstance(bind, Engine)
    return killed_run_ids(session, bind, candidates)


def _run_brief(run: Run, killed: Collection[int] = ()) -> RunBrief:
    return RunBrief(**_brief(run, killed))


def _brief(run: Run, killed: Collection[int]) -> dict[str, Any]:
    return {
        "id": run.id,
        "kind": run.kind,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "outcome": RunOutcome.KILLED if run.id in killed else run.outcome,
        "api_calls": run.api_calls,
        "error": run.error,
    }


def runs_view(session: Session, *, integration: str | None, limit: int) -> list[RunView]:
    query = select(Run, Integration.name).outerjoin(Integration, Integration.id == Run.integration_id)
    if integration is not None:
        get_integration(session, integration)  # an unknown name is bad input (exit 2), not an empty history
        query = query.where(Integration.name == integration)
    rows = session.execute(query.order_by(Run.started_at.desc(), Run.id.desc()).limit(limit)).all()
    killed = _killed(session, [run for run, _name in rows])
    views = []
    for run, name in rows:
        steps = session.scalars(select(RunStep).where(RunStep.run_id == run.id).order_by(RunStep.id)).all()
        views.append(
            RunView(
                **_brief(run, killed),
                integration=name,
                host=run.host,
                pid=run.pid,
                counts=run.counts,  # with the run's notes (e.g. rows skipped, reports gone)
                steps=[StepView(s.name, s.scope, s.outcome, s.counts, s.api_calls, s.error) for s in steps],
            )
        )
    return views
