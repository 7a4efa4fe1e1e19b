"""Import (Dotmailer -> dotsync): opt-outs, per connected book and account-wide.

1. Per connected book, ``GET address-books/{id}/contacts/unsubscribed-since/{date}`` since the book's own
   unsubscribe watermark ``last_unsubscribe_import_at`` (not the contact watermark), or since 1971 (the
   whole history) the first time.
2. Account-wide, ``GET contacts/suppressed-since/{date}`` since its own watermark (connector ``suppressed``),
   the whole history on the very first sync too.

Each opt-out sets the book membership's status (= the reason), ``unsubscribed_at`` and
``unsubscribe_reason``, creating the contact and the membership if dotsync did not know them. An account
suppression applies to every membership of that contact in this integration and to the contact's own status.
The connected list's member with that email is put in state ``unsubscribed`` with the reason and the date it
happened, unless it is already unsubscribed or removed (the earlier reason is kept). Watermarks move only
when the whole connector succeeds, so an unsubscribe is never lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from dotsync.db.bulk import batched, upsert
from dotsync.db.lookups import connected_books
from dotsync.db.models import AddressBook, MarketingList
from dotsync.dotmailer.models import ApiContactSuppression
from dotsync.lists.changes import pending_change
from dotsync.lists.email import email_key
from dotsync.sync.context import SyncContext
from dotsync.sync.importer.common import (
    BATCH,
    BOOK_CONTACTS,
    FULL_HISTORY_SINCE,
    ContactRecord,
    member_ids,
    read_started,
    resolve_contacts,
    since_with_overlap,
    unique_by,
    unsubscribe_members,
)
from dotsync.sync.watermarks import read_watermark, write_watermark

SUPPRESSED = "suppressed"  # the Watermark connector name of the account-level feed


class OptOut:
    """One opt-out as dotsync stores it."""

    __slots__ = ("email", "email_type", "opt_in_type", "origin_id", "reason", "when")

    def __init__(self, api: ApiContactSuppression, now: datetime) -> None:
        self.email = email_key(api.email)
        self.origin_id = api.contact_id
        self.reason = api.reason or "Unsubscribed"
        self.when = api.date_removed or now
        self.opt_in_type = api.suppressed_contact.opt_in_type
        self.email_type = api.suppressed_contact.email_type


def latest_by_email(rows: Iterable[ApiContactSuppression], now: datetime) -> dict[str, OptOut]:
    found: dict[str, OptOut] = {}
    for api in rows:
        out = OptOut(api, now)
        if out.email and (out.email not in found or found[out.email].when <= out.when):
            found[out.email] = out
    return found


def member_reason(out: OptOut, *, account: bool) -> str:
    where = "Suppressed in Dotmailer" if account else "Unsubscribed in Dotmailer"
    return f"{where} ({out.reason}) on {out.when:%Y-%m-%d %H:%M} UTC"


def _book_contact_rows(
    book_id: int,
    outs: dict[str, OptOut],
    ids: dict[str, int],
    members: dict[str, int],
    now: datetime,
    stamp: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    linked: list[dict[str, Any]] = []
    unlinked: list[dict[str, Any]] = []
    for email, contact_id in ids.items():
        if email not in outs:
            continue
        out = outs[email]
        row = {
            "address_book_id": book_id,
            "contact_id": contact_id,
            "status": out.reason,
            "unsubscribed_at": out.when,
            "unsubscribe_reason": out.reason,
            "list_member_id": members.get(email),
            "added_by_dotsync": False,
            "scheduled": False,
            "change_seq": stamp,  # the next export plan looks at this row (dotsync.lists.changes)
            "created_at": now,
            "updated_at": now,
        }
        (linked if email in members else unlinked).append(row)
    return linked, unlinked


_OPT_OUT_COLUMNS = ["status", "unsubscribed_at", "unsubscribe_reason", "change_seq", "updated_at"]


def _upsert_book_contacts(
    session: Session, linked: list[dict[str, Any]], unlinked: list[dict[str, Any]]
) -> None:
    conn = session.connection()
    key = ["address_book_id", "contact_id"]
    upsert(conn, BOOK_CONTACTS, unique_by(linked, key), key=key, update=[*_OPT_OUT_COLUMNS, "list_member_id"])
    upsert(conn, BOOK_CONTACTS, unique_by(unlinked, key), key=key, update=_OPT_OUT_COLUMNS)


def save_book_unsubscribes(
    session: Session,
    integration_id: int,
    book: AddressBook,
    rows: Iterable[ApiContactSuppression],
    now: datetime,
) -> tuple[int, int]:
    """Store one batch of a book's unsubscribes; returns (opt-outs stored, members unsubscribed)."""
    outs = latest_by_email(rows, now)
    if not outs:
        return 0, 0
    conn = session.connection()
    records = [
        ContactRecord(
            email=o.email,
            origin_id=o.origin_id,
            new_values={"opt_in_type": o.opt_in_type, "email_type": o.email_type},
        )
        for o in outs.values()
    ]
    ids = resolve_contacts(conn, integration_id, records, now)
    members: dict[str, int] = {}
    if book.marketing_list_id is not None:
        members = {e: found[0][1] for e, found in member_ids(conn, [book.marketing_list_id], ids).items()}
    stamp = pending_change(conn, book.marketing_list_id)
    _upsert_book_contacts(session, *_book_contact_rows(book.id, outs, ids, members, now, stamp))
    changed = 0
    if book.marketing_list_id is not None:
        changed = unsubscribe_members(
            conn,
            book.marketing_list_id,
            {e: (member_reason(outs[e], account=False), outs[e].when) for e in members},
            now,
        )
    return len(ids), changed


def save_suppressions(
    session: Session,
    integration_id: int,
    books: list[AddressBook],
    rows: Iterable[ApiContactSuppression],
    now: datetime,
) -> tuple[int, int]:
    """Store one batch of account suppressions; returns (suppressions stored, members unsubscribed)."""
    outs = latest_by_email(rows, now)
    if not outs:
        return 0, 0
    conn = session.connection()
    records = [
        ContactRecord(
            email=o.email,
            origin_id=o.origin_id,
            values={"status": o.reason, "unsubscribed_at": o.when},
            new_values={"opt_in_type": o.opt_in_type, "email_type": o.email_type},
        )
        for o in outs.values()
    ]
    ids = resolve_contacts(conn, integration_id, records, now)
    if not ids:
        return 0, 0
    # Every membership of these contacts, in any book of the integration.
    conn.execute(
        update(BOOK_CONTACTS)
        .where(BOOK_CONTACTS.c.contact_id == bindparam("k_contact"))
        .values(
            status=bindparam("v_status"),
            unsubscribed_at=bindparam("v_when"),
            unsubscribe_reason=bindparam("v_status"),
            change_seq=_pending_change_of_book(),
            updated_at=now,
        ),
        [{"k_contact": cid, "v_status": outs[e].reason, "v_when": outs[e].when} for e, cid in ids.items()],
    )
    # Connected lists: record the opt-out in each book whose list has the email, and opt the member out.
    changed = 0
    lists = {book.marketing_list_id: book for book in books if book.marketing_list_id is not None}
    found = member_ids(conn, lists, ids)
    for list_id, book in lists.items():
        members = {e: mid for e, pairs in found.items() for lid, mid in pairs if lid == list_id}
        if not members:
            continue
        stamp = pending_change(conn, list_id)
        linked, _ = _book_contact_rows(book.id, outs, {e: ids[e] for e in members}, members, now, stamp)
        _upsert_book_contacts(session, linked, [])
        changed += unsubscribe_members(
            conn, list_id, {e: (member_reason(outs[e], account=True), outs[e].when) for e in members}, now
        )
    return len(ids), changed


def _pending_change_of_book() -> Any:
    """SQL for :func:`~dotsync.lists.changes.pending_change` of the row's own book (0 when not connected)."""
    books = cast(Table, AddressBook.__table__)
    lists = cast(Table, MarketingList.__table__)
    return func.coalesce(
        select(lists.c.change_seq + 1)
        .select_from(books.join(lists, lists.c.id == books.c.marketing_list_id))
        .where(books.c.id == BOOK_CONTACTS.c.address_book_id)
        .scalar_subquery(),
        0,
    )


def run(ctx: SyncContext, session: Session) -> dict[str, int]:
    books = connected_books(session, ctx.integration_id)
    counts = {"books": len(books), "unsubscribed": 0, "suppressed": 0, "members_unsubscribed": 0}
    # Watermarks on Dotmailer's clock (see the contact connector): our clock's skew cannot skip an opt-out.
    for book in books:
        since = since_with_overlap(book.last_unsubscribe_import_at) or FULL_HISTORY_SINCE
        started, rows = read_started(
            ctx, ctx.client.iter_address_book_unsubscribed_since(book.origin_id, since)
        )
        for batch in batched(rows, BATCH):
            stored, changed = save_book_unsubscribes(session, ctx.integration_id, book, batch, ctx.now)
            counts["unsubscribed"] += stored
            counts["members_unsubscribed"] += changed
        book.last_unsubscribe_import_at = started
    since = read_watermark(session, ctx.integration_id, SUPPRESSED) or FULL_HISTORY_SINCE
    started, rows = read_started(ctx, ctx.client.iter_suppressed_since(since))
    for batch in batched(rows, BATCH):
        stored, changed = save_suppressions(session, ctx.integration_id, books, batch, ctx.now)
        counts["suppressed"] += stored
        counts["members_unsubscribed"] += changed
    write_watermark(session, ctx.integration_id, SUPPRESSED, started)
    return counts
