"""Export (dotsync -> Dotmailer): keep each connected list in its address book (SPEC §5).

Per connected book, one after another, so a stuck book never blocks the others:

0. settle earlier uploads (poll, faults, watchdog) and read the book's contacts back so new contacts get their
   Dotmailer ids (after a big upload, once, when it is visible whole); while an upload is still running, the
   book's other steps wait;
1-3. plan locally (refresh a query list, sync opt-outs back into the list, schedule changed rows, find the
   contacts to remove) and check the mass-change guard; a dry run stops here and rolls the plan back;
1. remove, in batches (pending until a check no longer finds the contact in the book; 1b, before the next
   plan, confirms or sends again: see pending_removals.py); 4. upload the scheduled rows as CSV files.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from dotsync import logcontext
from dotsync.db.lookups import connected_books
from dotsync.db.models import AddressBook, MarketingList, StepOutcome
from dotsync.dotmailer.errors import ApiUsageExceededError, AuthenticationError, BudgetExhaustedError
from dotsync.errors import DotsyncError
from dotsync.sync import runs
from dotsync.sync.context import SyncContext
from dotsync.sync.export.guard import check_guard
from dotsync.sync.export.options import ExportOptions
from dotsync.sync.export.pending_removals import check_pending_removals
from dotsync.sync.export.plan import Plan, applied, plan_book
from dotsync.sync.export.remove import remove_contacts
from dotsync.sync.export.settle import settle_book
from dotsync.sync.export.upload import upload_scheduled
from dotsync.sync.importer.contact import read_back_after_settle
from dotsync.sync.orchestrator import BodyResult

log = logging.getLogger("dotsync.sync.export")

__all__ = ["BookExport", "ExportOptions", "ExportStatus", "run_export"]


class ExportStatus(StrEnum):
    """How one book's export ended (``status`` in the run's counts)."""

    OK = "ok"
    DRY_RUN = "dry_run"
    WAITING = "waiting"  # an upload is still being processed by Dotmailer: the rest waits for the next run
    SKIPPED = "skipped"  # an earlier book stopped the run early
    STOPPED = "stopped_early"  # out of API calls for now
    FAILED = "failed"
    HELD = "held"  # the mass-change guard held it

    @property
    def step_outcome(self) -> StepOutcome:
        """The book's step in the run history: a dry run or a wait did what it could, so it succeeded."""
        if self in (ExportStatus.OK, ExportStatus.DRY_RUN, ExportStatus.WAITING):
            return StepOutcome.SUCCESS
        return StepOutcome(self.value)

    @property
    def failed(self) -> bool:
        """The run fails with it."""
        return self in (ExportStatus.FAILED, ExportStatus.HELD)


@dataclass
class BookExport:
    book: str
    list_name: str | None
    status: ExportStatus = ExportStatus.OK
    added: int = 0
    updated: int = 0
    removed: int = 0
    rejected: int = 0
    unsubscribed: int = 0
    uploads: int = 0
    rows_uploaded: int = 0
    file_sizes: list[int] = field(default_factory=list)
    pending_imports: int = 0
    removals_confirmed: int = 0
    removals_resent: int = 0
    error: str | None = None
    plan: Plan | None = None  # a dry run's

    def counts(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "list": self.list_name,
            "status": self.status,
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "rejected": self.rejected,
            "unsubscribed": self.unsubscribed,
            "uploads": self.uploads,
            "rows_uploaded": self.rows_uploaded,
            "pending_imports": self.pending_imports,
        }
        if self.removals_confirmed or self.removals_resent:
            data["removals_confirmed"] = self.removals_confirmed
            data["removals_resent"] = self.removals_resent
        if self.error:
            data["error"] = self.error
        if self.plan is not None:
            data["plan"] = self.plan.as_dict()
        return data


def run_export(ctx: SyncContext, run_id: int, options: ExportOptions) -> BodyResult[list[BookExport]]:
    """Export every connected book (or ``options.book_ids``); ``details`` are the books' outcomes, in order."""
    with ctx.sessions() as session:
        books = connected_books(session, ctx.integration_id, with_missing=True, ids=options.book_ids)
        for book in books:
            session.expunge(book)
        list_names = {
            b.id: session.scalar(select(MarketingList.name).where(MarketingList.id == b.marketing_list_id))
            for b in books
        }
    books_done: list[BookExport] = []
    result = BodyResult(details=books_done)
    exports: dict[str, dict[str, Any]] = {}
    for book in books:
        outcome = BookExport(book=book.name, list_name=list_names[book.id])
        started = ctx.clock()
        calls_before = ctx.calls_made
        try:
            if result.stopped_early:
                outcome.status = ExportStatus.SKIPPED
                outcome.error = result.stopped_early
            else:
                with logcontext.bind(book=book.name):
                    _export_book(ctx, book, outcome, options)
        except (BudgetExhaustedError, ApiUsageExceededError) as exc:
            outcome.status = ExportStatus.STOPPED
            outcome.error = str(exc)
            result.stopped_early = str(exc)
            ctx.note(str(exc))
        except AuthenticationError:
            raise
        except DotsyncError as exc:
            outcome.status = ExportStatus.FAILED
            outcome.error = str(exc)
            _record_book_error(ctx, book.id, str(exc))
        except Exception as exc:  # one book's bug must not stop the others
            log.exception("export of book %r failed unexpectedly", book.name)
            outcome.status = ExportStatus.FAILED
            outcome.error = f"unexpected {type(exc).__name__}: {exc}"
        if outcome.status.failed:
            result.failures.append(f"book {book.name!r}: {outcome.error}")
        exports[book.name] = outcome.counts()
        books_done.append(outcome)
        runs.record_step(
            ctx.sessions,
            run_id,
            "export",
            scope=book.name,
            started_at=started,
            outcome=outcome.status.step_outcome,
            counts=outcome.counts(),
            api_calls=ctx.calls_made - calls_before,
            error=outcome.error,
            finished_at=ctx.clock(),
        )
    result.counts = {"export": exports}
    return result


def _export_book(ctx: SyncContext, book: AddressBook, outcome: BookExport, options: ExportOptions) -> None:
    if book.missing_since is not None:
        outcome.status = ExportStatus.FAILED
        outcome.error = (
            f"address book {book.name!r} no longer exists in Dotmailer (missing since {book.missing_since:%Y-%m-%d}); "
            "disconnect the list or connect it to another book"
        )
        return
    # Step 0: settle earlier uploads. A dry run only looks (it must not change anything).
    if not options.dry_run:
        settled = settle_book(ctx, book.id)
        outcome.rejected += settled.rejected_rows + settled.faults
        outcome.pending_imports = settled.pending
        # Read the book's contacts so new contacts get their Dotmailer ids (the contact importer's read: at once
        # after a small upload; a big one is read once, later, when Dotmailer shows it whole).
        read_back_after_settle(ctx, book.id, settled.finished_rows)
        # Step 1b: removals sent earlier are confirmed (then forgotten) or sent again (nothing when none).
        removals = check_pending_removals(ctx, book)
        outcome.removals_confirmed, outcome.removals_resent = removals.confirmed, removals.resent
        if settled.pending:
            outcome.status = ExportStatus.WAITING
            outcome.error = f"{settled.pending} earlier upload(s) still being processed by Dotmailer"
            return
    # Steps 1-3 planned in one transaction; committed unless this is a dry run or the guard holds.
    plan, held = _plan(ctx, book, options)
    if options.dry_run:
        outcome.status = ExportStatus.DRY_RUN
        outcome.plan = plan
        outcome.added, outcome.updated, outcome.removed = plan.added, plan.updated, len(plan.removals)
        outcome.unsubscribed = plan.state_changes
        return
    if held is not None:
        _hold(ctx, book.id, held)
        outcome.status = ExportStatus.HELD
        outcome.error = held
        return
    outcome.added, outcome.updated, outcome.unsubscribed = plan.added, plan.updated, plan.state_changes
    # Step 1: remove; step 4: upload. Then the book's plan position moves past what this plan covered.
    try:
        outcome.removed = remove_contacts(ctx, book, plan.removals)
        uploaded = upload_scheduled(ctx, book, plan.formatter, plan.outbox)
    finally:
        plan.outbox.close()
    outcome.uploads, outcome.rows_uploaded, outcome.file_sizes = (
        uploaded.uploads,
        uploaded.rows,
        uploaded.file_sizes,
    )
    if uploaded.waiting:
        outcome.status = ExportStatus.WAITING
        outcome.error = uploaded.waiting
    with ctx.sessions.begin() as s:
        applied(s.connection(), plan)
        target = s.get(AddressBook, book.id)
        if target is not None and (uploaded.uploads or outcome.removed):
            target.last_exported_at = ctx.now


def _plan(ctx: SyncContext, book: AddressBook, options: ExportOptions) -> tuple[Plan, str | None]:
    """Steps 1-3 in one transaction, and why the guard holds them (None: it does not). The plan is committed
    unless this is a dry run or the guard holds; then it is rolled back and its outbox discarded."""
    with ctx.sessions() as session:
        live_book = session.get(AddressBook, book.id)
        marketing_list = (
            session.get(MarketingList, live_book.marketing_list_id)
            if live_book is not None and live_book.marketing_list_id is not None
            else None
        )
        if live_book is None or marketing_list is None:
            raise DotsyncError(f"address book {book.name!r} is no longer connected to a list")
        plan = plan_book(ctx, session, live_book, marketing_list, dry_run=options.dry_run)
        confirmed = marketing_list.name in options.confirm_mass_change
        held = (
            None
            if options.dry_run
            else check_guard(live_book, plan, list_name=marketing_list.name, confirmed=confirmed)
        )
        if options.dry_run or held is not None:
            session.rollback()
            plan.outbox.close()
            return plan, held
        live_book.guard_held_reason = None
        live_book.sync_error = None
        live_book.sync_error_import_id = None
        session.commit()
    return plan, None


def _hold(ctx: SyncContext, book_id: int, reason: str) -> None:
    with ctx.sessions.begin() as session:
        book = session.get(AddressBook, book_id)
        if book is not None:
            book.guard_held_reason = reason
            book.sync_error = reason
            book.sync_error_import_id = None


def _record_book_error(ctx: SyncContext, book_id: int, message: str) -> None:
    with ctx.sessions.begin() as session:
        book = session.get(AddressBook, book_id)
        if book is not None:
            book.sync_error = message
            book.sync_error_import_id = None
