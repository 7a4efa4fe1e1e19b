"""Export step 0 (dotsync -> Dotmailer): settle earlier uploads of a book.

Every unfinished import is polled and its status stored as returned. ``Finished`` -> the faults report is read
and each listed email is put in the state its reason calls for. ``RejectedByWatchdog`` -> rows sent as
``new``/``add`` are dropped and their members marked ``removed``. Any other terminal status -> recorded on the
book, and the rows are re-queued once. 30 ``NotFinished`` polls or 10 failed polls -> ``Unknown`` (re-queued).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Connection, Table, delete, select, update
from sqlalchemy.orm import Session

from dotsync.db.bulk import batched
from dotsync.db.models import (
    AddressBook,
    AddressBookContact,
    Contact,
    ContactExport,
    ImportStatus,
    ListMember,
    MemberState,
    Operation,
)
from dotsync.dotmailer.errors import (
    ApiUsageExceededError,
    AuthenticationError,
    BudgetExhaustedError,
    DotmailerError,
    ReportGoneError,
)
from dotsync.lists.changes import pending_change
from dotsync.lists.email import email_key
from dotsync.sync.context import SyncContext
from dotsync.sync.export.faults import FaultOutcome, classify_fault, is_duplicate_fault

log = logging.getLogger("dotsync.sync.export")

MAX_NOT_FINISHED_POLLS = 30
MAX_FAILED_POLLS = 10
# A row whose upload failed this many times is not re-queued again until its member changes.
MAX_REQUEUES = 1


@dataclass
class SettleResult:
    finished_rows: int = 0  # rows of the uploads that finished (the contact read-back is timed by it)
    pending: int = 0
    rejected_rows: int = 0
    faults: int = 0


def settle_book(ctx: SyncContext, book_id: int) -> SettleResult:
    """Poll the book's open imports; each import is settled in its own transaction."""
    result = SettleResult()
    with ctx.sessions() as session:
        open_ids = list(
            session.scalars(
                select(ContactExport.id)
                .where(
                    ContactExport.address_book_id == book_id,
                    (ContactExport.status == ImportStatus.NOT_FINISHED)
                    | ((ContactExport.status == ImportStatus.FINISHED) & ~ContactExport.faults_processed),
                )
                .order_by(ContactExport.id)
            )
        )
    for export_id in open_ids:
        with ctx.sessions.begin() as session:
            _settle_one(ctx, session, export_id, result)
    return result


def _settle_one(ctx: SyncContext, session: Session, export_id: int, result: SettleResult) -> None:
    export = session.get(ContactExport, export_id)
    book = session.get(AddressBook, export.address_book_id) if export else None
    if export is None or book is None:
        return
    if export.status == ImportStatus.NOT_FINISHED:
        try:
            status = ctx.client.get_contact_import(export.import_id).status or ""
        except (AuthenticationError, BudgetExhaustedError, ApiUsageExceededError):
            raise
        except DotmailerError as exc:
            export.failed_polls += 1
            export.error = f"status poll failed: {exc}"
            if export.failed_polls >= MAX_FAILED_POLLS:
                _give_up(session, book, export, f"{MAX_FAILED_POLLS} status polls failed (last: {exc})")
            else:
                result.pending += 1
            return
        if not status:
            export.failed_polls += 1
            if export.failed_polls >= MAX_FAILED_POLLS:
                _give_up(session, book, export, "Dotmailer kept answering with no status")
            else:
                result.pending += 1
            return
        export.status = status  # stored as returned
        if status == ImportStatus.NOT_FINISHED:
            export.attempts += 1
            if export.attempts >= MAX_NOT_FINISHED_POLLS:
                _give_up(session, book, export, f"still NotFinished after {MAX_NOT_FINISHED_POLLS} polls")
            else:
                result.pending += 1
            return
    if export.status == ImportStatus.FINISHED:
        _process_faults(ctx, session, book, export, result)
    elif export.status == ImportStatus.REJECTED:
        _process_rejection(ctx, session, book, export, result)
    else:
        _terminal_error(session, book, export, f"Dotmailer ended the import with status {export.status}")


def _process_faults(
    ctx: SyncContext, session: Session, book: AddressBook, export: ContactExport, result: SettleResult
) -> None:
    try:
        faults = ctx.client.get_contact_import_faults(export.import_id)
    except ReportGoneError as exc:
        # Dotmailer keeps a faults report about a week. Settle without it: opt-outs among its rows still
        # arrive through the unsubscribed-since and suppressed-since feeds.
        _settle_without_report(ctx, book, export, str(exc))
        return
    # A "Duplicate" row means another row of the same email was imported: not a failure of that member,
    # unless the email also has a real fault in the report.
    refused = {email_key(f.email) for f in faults if not is_duplicate_fault(f.reason)}
    by_outcome: dict[FaultOutcome, list[str]] = {}
    for fault in faults:
        email = email_key(fault.email)
        if email and (email in refused or not is_duplicate_fault(fault.reason)):
            by_outcome.setdefault(classify_fault(fault.reason), []).append(email)
            result.faults += 1
    if by_outcome:
        _apply_faults(ctx, session, book, by_outcome)
    export.faults_processed = True
    export.finished_at = ctx.now
    export.error = None
    book.last_exported_at = ctx.now
    if book.sync_error_import_id is not None:  # an earlier import's failure is over; other errors stay
        book.sync_error = None
        book.sync_error_import_id = None
    book.sync_status = ImportStatus.FINISHED
    result.finished_rows += export.row_count
    log.info("import %s into book %r finished; %d rows refused", export.import_id, book.name, len(faults))


REPORT_GONE_STATUS = "Finished, faults report gone"


def _settle_without_report(ctx: SyncContext, book: AddressBook, export: ContactExport, why: str) -> None:
    message = (
        f"import {export.import_id} into book {book.name!r} finished but its faults report is no longer "
        "available; settled without it (opt-outs arrive through the unsubscribe and suppression feeds)"
    )
    export.faults_processed = True
    export.finished_at = ctx.now
    export.error = f"faults report gone: {why}"
    book.last_exported_at = ctx.now
    book.sync_status = REPORT_GONE_STATUS
    ctx.note(message)


def _process_rejection(
    ctx: SyncContext, session: Session, book: AddressBook, export: ContactExport, result: SettleResult
) -> None:
    reason = "Rejected by Dotmailer's Watchdog (data-quality check); contact Dotmailer support"
    rows = session.execute(
        select(AddressBookContact.id, Contact.email)
        .join(Contact, Contact.id == AddressBookContact.contact_id)
        .where(
            AddressBookContact.import_id == export.import_id,
            AddressBookContact.operation.in_((Operation.NEW, Operation.ADD)),
        )
    ).all()
    if rows:
        session.execute(delete(AddressBookContact).where(AddressBookContact.id.in_([r.id for r in rows])))
        if book.marketing_list_id is not None:
            emails = [email for _id, email in rows]
            conn = session.connection()
            stamp = pending_change(conn, book.marketing_list_id)
            _set_members_state(ctx, conn, book.marketing_list_id, emails, MemberState.REMOVED, reason, stamp)
    result.rejected_rows += len(rows)
    export.faults_processed = True
    export.finished_at = ctx.now
    book.sync_status = ImportStatus.REJECTED
    book.sync_error = f"import {export.import_id}: {reason}; {len(rows)} new contacts dropped"
    book.sync_error_import_id = export.import_id
    book.last_exported_at = ctx.now


def _terminal_error(session: Session, book: AddressBook, export: ContactExport, message: str) -> None:
    export.faults_processed = True
    export.error = message
    book.sync_status = export.status
    book.sync_error = f"import {export.import_id}: {message}"
    book.sync_error_import_id = export.import_id
    _requeue(session, export.import_id, book.marketing_list_id)


def _give_up(session: Session, book: AddressBook, export: ContactExport, message: str) -> None:
    export.status = ImportStatus.UNKNOWN
    _terminal_error(session, book, export, message)


def _requeue(session: Session, import_id: str, list_id: int | None) -> None:
    """Make the import's rows eligible for upload again (once): their last-sent hash is forgotten, and their
    members are stamped so the next plan schedules them."""
    if list_id is not None:
        session.execute(
            update(ListMember)
            .where(
                ListMember.id.in_(
                    select(AddressBookContact.list_member_id).where(
                        AddressBookContact.import_id == import_id,
                        AddressBookContact.export_failures < MAX_REQUEUES,
                    )
                )
            )
            .values(change_seq=pending_change(session.connection(), list_id))
        )
    base = (
        update(AddressBookContact)
        .where(AddressBookContact.import_id == import_id)
        .values(sent_hash=None, import_id=None, export_failures=AddressBookContact.export_failures + 1)
    )
    session.execute(base.where(AddressBookContact.export_failures < MAX_REQUEUES))
    # Rows that already failed once stay as sent: re-sending them would loop; their members say why.
    session.execute(
        update(AddressBookContact).where(AddressBookContact.import_id == import_id).values(import_id=None)
    )


def _apply_faults(
    ctx: SyncContext, session: Session, book: AddressBook, by_outcome: dict[FaultOutcome, list[str]]
) -> None:
    """The refused rows, one statement per outcome and batch of emails: the book row takes Dotmailer's status
    and reason and is no longer scheduled; the member (if still subscribed) takes the outcome's state. Both are
    stamped for the next plan."""
    conn = session.connection()
    stamp = pending_change(conn, book.marketing_list_id)
    book_rows = cast(Table, AddressBookContact.__table__)
    for outcome, emails in by_outcome.items():
        for batch in batched(emails, 500):
            contact_ids = select(Contact.id).where(
                Contact.integration_id == ctx.integration_id, Contact.email.in_(batch)
            )
            conn.execute(
                update(book_rows)
                .where(book_rows.c.address_book_id == book.id, book_rows.c.contact_id.in_(contact_ids))
                .values(
                    status=outcome.book_status,
                    unsubscribe_reason=outcome.reason,
                    unsubscribed_at=ctx.now,
                    scheduled=False,
                    scheduled_row=None,
                    change_seq=stamp,
                )
            )
        if book.marketing_list_id is not None:
            _set_members_state(
                ctx, conn, book.marketing_list_id, emails, outcome.member_state, outcome.reason, stamp
            )


def _set_members_state(
    ctx: SyncContext,
    conn: Connection,
    list_id: int,
    emails: list[str],
    state: MemberState,
    reason: str,
    stamp: int,
) -> None:
    """The list's members with these emails that are still subscribed take ``state``, stamped with ``stamp``
    (the caller's :func:`~dotsync.lists.changes.pending_change`, read once) for the next plan: one statement
    per batch of emails."""
    members = cast(Table, ListMember.__table__)
    for batch in batched(emails, 500):
        conn.execute(
            update(members)
            .where(
                members.c.list_id == list_id,
                members.c.email.in_(batch),
                members.c.state == MemberState.SUBSCRIBED,
            )
            .values(state=state, state_reason=reason, state_changed_at=ctx.now, change_seq=stamp)
        )
