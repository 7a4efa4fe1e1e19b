"""Export step 1b (dotsync -> Dotmailer): confirm a book's pending removals, and send again those not applied.

``contacts/delete`` answers 202 and the contacts leave the book "some minutes" later (reference §15); no status
endpoint for the deletion job is known. So a removed book row stays, marked pending (``removal_requested_at``),
until dotsync sees the contact is no longer listed in the book; only then is the row forgotten and its member
stamped, so a member re-added to the list meanwhile is planned again and uploaded (never while the removal is
pending: the late deletion would take it out again).

The modified-since read does not list contacts that left a book, so confirming is a question of its own, asked
only when the book has pending rows (an unchanged cycle with nothing pending makes no call here):

- a pending row is *due* for a check once ``CONFIRM_AFTER`` has passed since it was sent, then again at growing
  intervals (the time it had already waited, at most ``MAX_RECHECK``), and at ``RESEND_AFTER``;
- the due rows are checked with ``GET contacts/{id}/address-books``, one call each, at most ``MAX_CHECKS`` per
  book and run; when more rows are due than the book has pages, one read of the book's listing (ids only)
  answers them all for less;
- a row still listed ``RESEND_AFTER`` after its removal was sent is sent again, at most ``MAX_ATTEMPTS`` sends in
  all; after that it stays pending, is checked hourly, and the book's ``removal_note`` says so (``status``).

Times are Dotmailer's clock (the ``Date`` of its answers), like the removal's own delay.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, and_, delete, func, select, update

from dotsync.db.bulk import batched
from dotsync.db.models import ACTIVE_CONTACT_STATUSES, AddressBook, AddressBookContact, Contact, ListMember
from dotsync.dotmailer.errors import ApiNotFoundError
from dotsync.lists.changes import pending_change
from dotsync.sync.context import SyncContext
from dotsync.sync.export.remove import REMOVE_BATCH, send_removal

log = logging.getLogger("dotsync.sync.export")

CONFIRM_AFTER = timedelta(minutes=1)
RESEND_AFTER = timedelta(minutes=30)
MAX_RECHECK = timedelta(hours=1)
MAX_ATTEMPTS = 3
MAX_CHECKS = 100
# Contacts per page of a book's listing (the client's page size).
LISTING_PAGE = 1000


@dataclass
class PendingRemovals:
    """What the check of one book's pending removals did (all zero when nothing was pending)."""

    pending: int = 0  # still pending afterwards
    confirmed: int = 0
    resent: int = 0
    stuck: int = 0  # still listed after every attempt


@dataclass
class _Row:
    id: int
    origin_id: int
    member_id: int | None
    requested_at: datetime
    checked_at: datetime | None
    attempts: int
    status: str | None


def pending_condition(book_id: int) -> Any:
    """The book's pending rows, as the partial index ``ix_abc_book_removal`` is written."""
    return and_(
        AddressBookContact.address_book_id == book_id, AddressBookContact.removal_requested_at.is_not(None)
    )


def has_pending(conn: Connection, book_id: int) -> bool:
    return (
        conn.execute(select(AddressBookContact.id).where(pending_condition(book_id)).limit(1)).first()
        is not None
    )


def is_due(row: _Row, now: datetime) -> bool:
    """Whether a pending row should be asked about now (see the module docstring)."""
    if now - row.requested_at < CONFIRM_AFTER:
        return False
    if row.checked_at is None:
        return True
    resend_at = row.requested_at + RESEND_AFTER
    if row.attempts < MAX_ATTEMPTS and row.checked_at < resend_at <= now:
        return True
    waited = max(CONFIRM_AFTER, row.checked_at - row.requested_at)
    return now - row.checked_at >= min(waited, MAX_RECHECK)


def is_stuck(row: _Row) -> bool:
    """Sent ``MAX_ATTEMPTS`` times and still listed ``RESEND_AFTER`` after the last send."""
    return (
        row.attempts >= MAX_ATTEMPTS
        and row.checked_at is not None
        and row.checked_at - row.requested_at >= RESEND_AFTER
    )


def check_pending_removals(ctx: SyncContext, book: AddressBook) -> PendingRemovals:
    """Confirm, send again or leave pending the book's pending removals (nothing, and no call, when none)."""
    outcome = PendingRemovals()
    with ctx.sessions() as session:
        conn = session.connection()
        if not has_pending(conn, book.id):
            if book.removal_note is not None:
                _write_note(ctx, book, None)
            return outcome
        rows = [
            _Row(r[0], int(r[1] or 0), r[2], cast(datetime, r[3]), r[4], int(r[5] or 0), r[6])
            for r in conn.execute(
                select(
                    AddressBookContact.id,
                    Contact.origin_id,
                    AddressBookContact.list_member_id,
                    AddressBookContact.removal_requested_at,
                    AddressBookContact.removal_checked_at,
                    AddressBookContact.removal_attempts,
                    AddressBookContact.status,
                )
                .join(Contact, Contact.id == AddressBookContact.contact_id)
                .where(pending_condition(book.id))
            )
        ]
    now = ctx.server_now()
    # Never checked first, then the longest unchecked: with MAX_CHECKS a run takes the oldest questions.
    due = sorted(
        (r for r in rows if r.origin_id and is_due(r, now)),
        key=lambda r: (r.checked_at is not None, r.checked_at or r.requested_at, r.id),
    )
    listed: dict[int, bool] = {}  # row id -> still listed in the book
    try:
        if due:
            pages = math.ceil(_book_size(ctx, book) / LISTING_PAGE) + 1
            if len(due) > pages:
                listed = _read_listing(ctx, book, due)
            else:
                _check_each(ctx, book, due[:MAX_CHECKS], listed)
    finally:
        # Whatever was learnt is kept, also when the budget or an error stopped the checks half-way.
        confirmed = [r for r in due if listed.get(r.id) is False]
        still = [r for r in due if listed.get(r.id) is True]
        _record(ctx, book, confirmed, still, now)
    outcome.confirmed = len(confirmed)
    checked_now = {r.id for r in still}
    for r in still:
        r.checked_at = now
    resend = [r for r in still if r.attempts < MAX_ATTEMPTS and now - r.requested_at >= RESEND_AFTER]
    for batch in batched(resend, REMOVE_BATCH):
        send_removal(ctx, book, [(r.id, r.origin_id) for r in batch])
        outcome.resent += len(batch)
    if resend:
        log.info("book %r: %d removal(s) not applied yet were sent again", book.name, len(resend))
    resent = {r.id for r in resend}
    gone = {r.id for r in confirmed}
    remaining = [r for r in rows if r.id not in gone and r.id not in resent]
    outcome.pending = len(remaining) + len(resent)
    outcome.stuck = sum(1 for r in remaining if is_stuck(r))
    note = (
        f"{outcome.stuck} removal(s) still listed by Dotmailer after {MAX_ATTEMPTS} attempts; left pending "
        "(checked hourly; members re-added to the list wait for them)"
        if outcome.stuck
        else None
    )
    if note != book.removal_note:
        _write_note(ctx, book, note)
    if outcome.confirmed or checked_now:
        log.info(
            "book %r: %d removal(s) confirmed, %d still listed",
            book.name,
            outcome.confirmed,
            len(checked_now),
        )
    return outcome


def _book_size(ctx: SyncContext, book: AddressBook) -> int:
    """Contacts in the book, for the cost of reading its listing: the larger of Dotmailer's count (as of the last
    import of books; may be stale) and the rows dotsync keeps for it."""
    with ctx.sessions() as session:
        kept = session.scalar(
            select(func.count())
            .select_from(AddressBookContact)
            .where(AddressBookContact.address_book_id == book.id)
        )
    return max(int(book.contact_count or 0), int(kept or 0))


def _check_each(ctx: SyncContext, book: AddressBook, rows: Sequence[_Row], listed: dict[int, bool]) -> None:
    """One ``GET contacts/{id}/address-books`` per row, answers into ``listed`` (kept if a later call fails): is
    the book still among the contact's books? A contact gone from the account (404) is not in the book."""
    for row in rows:
        try:
            books = ctx.client.iter_contact_address_books(row.origin_id)
            listed[row.id] = any(found.id == book.origin_id for found in books)
        except ApiNotFoundError:
            listed[row.id] = False


def _read_listing(ctx: SyncContext, book: AddressBook, rows: Sequence[_Row]) -> dict[int, bool]:
    """One read of the book's listing (ids only): every row whose contact it does not list is confirmed."""
    wanted = {r.origin_id: r.id for r in rows}
    seen: set[int] = set()
    for contact in ctx.client.iter_address_book_contacts(book.origin_id, with_full_data=False):
        if contact.id in wanted:
            seen.add(wanted[contact.id])
    return {row_id: row_id in seen for row_id in wanted.values()}


def _record(
    ctx: SyncContext, book: AddressBook, confirmed: Sequence[_Row], still: Sequence[_Row], now: datetime
) -> None:
    """Forget the confirmed rows and stamp their members (so a member re-added meanwhile is planned and
    uploaded); note when the others were last seen listed. One transaction.

    A confirmed row whose contact opted out of the book meanwhile is kept, no longer pending, as the record of
    that opt-out: forgetting it would let a re-added member be uploaded to a book it unsubscribed from."""
    if not confirmed and not still:
        return
    with ctx.sessions.begin() as session:
        conn = session.connection()
        if confirmed:
            stamp = pending_change(conn, book.marketing_list_id)
            members = [r.member_id for r in confirmed if r.member_id is not None]
            for chunk in batched(members, 1000):
                conn.execute(
                    update(ListMember)
                    .where(ListMember.id.in_(chunk), ListMember.list_id == book.marketing_list_id)
                    .values(change_seq=stamp)
                )
            opted_out = [r.id for r in confirmed if r.status not in (None, *ACTIVE_CONTACT_STATUSES)]
            active = [r.id for r in confirmed if r.id not in opted_out]
            for chunk in batched(active, 1000):
                conn.execute(
                    delete(AddressBookContact).where(
                        AddressBookContact.id.in_(chunk), AddressBookContact.removal_requested_at.is_not(None)
                    )
                )
            for chunk in batched(opted_out, 1000):
                conn.execute(
                    update(AddressBookContact)
                    .where(AddressBookContact.id.in_(chunk))
                    .values(removal_requested_at=None, removal_checked_at=None, updated_at=ctx.now)
                )
        for chunk in batched([r.id for r in still], 1000):
            conn.execute(
                update(AddressBookContact)
                .where(AddressBookContact.id.in_(chunk))
                .values(removal_checked_at=now)
            )


def _write_note(ctx: SyncContext, book: AddressBook, note: str | None) -> None:
    with ctx.sessions.begin() as session:
        target = session.get(AddressBook, book.id)
        if target is not None:
            target.removal_note = note
    book.removal_note = note
