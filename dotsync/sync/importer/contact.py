"""Import (Dotmailer -> dotsync): contacts of the connected books, with their data fields.

Per connected book: ``GET address-books/{id}/contacts/modified-since/{date}?withFullData=true`` since the
book's own watermark ``last_contact_import_at`` (minus the overlap), or every contact
(``GET address-books/{id}/contacts?withFullData=true``) the first time. Contacts are matched by email, then by
Dotmailer id (so an email changed in Dotmailer is followed), which is also how contacts dotsync exported get
their Dotmailer id. The book membership takes the status the book listing gives and is linked to the connected
list's member with that email. ``added_by_dotsync`` is left as it is: only the export sets it.

Pages are saved as they arrive, in batches, with batched lookups: a 100k-contact book costs a few hundred
statements, not one per contact.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dotsync.db.bulk import batched, upsert
from dotsync.db.models import AddressBook
from dotsync.dotmailer.models import ApiContact
from dotsync.sync.context import SyncContext
from dotsync.sync.importer.common import (
    BATCH,
    BOOK_CONTACTS,
    ContactRecord,
    connected_books,
    member_ids,
    normalise_email,
    resolve_contacts,
    since_with_overlap,
    unique_by,
)


def contact_record(api: ApiContact) -> ContactRecord:
    return ContactRecord(
        email=normalise_email(api.email),
        origin_id=api.id,
        values={
            "status": api.status,
            "opt_in_type": api.opt_in_type,
            "email_type": api.email_type,
            "data_fields": api.data_field_map,
        },
    )


def save_contacts(
    session: Session, integration_id: int, book: AddressBook, contacts: Iterable[ApiContact], now: datetime
) -> int:
    """Store one batch of a book's contacts; returns how many were stored."""
    records = [r for r in (contact_record(api) for api in contacts) if r.email]
    if not records:
        return 0
    conn = session.connection()
    ids = resolve_contacts(conn, integration_id, records, now)
    status = {r.email: r.values["status"] for r in records}
    members: dict[str, int] = {}
    if book.marketing_list_id is not None:
        members = {
            email: found[0][1] for email, found in member_ids(conn, [book.marketing_list_id], ids).items()
        }
    existing = {
        row.contact_id: (row.status, row.list_member_id)
        for row in conn.execute(
            select(BOOK_CONTACTS.c.contact_id, BOOK_CONTACTS.c.status, BOOK_CONTACTS.c.list_member_id).where(
                BOOK_CONTACTS.c.address_book_id == book.id, BOOK_CONTACTS.c.contact_id.in_(list(ids.values()))
            )
        )
    }
    linked: list[dict[str, Any]] = []
    unlinked: list[dict[str, Any]] = []
    for email, contact_id in ids.items():
        known = existing.get(contact_id)
        if (
            known is not None
            and known[0] == status[email]
            and (email not in members or known[1] == members[email])
        ):
            continue  # unchanged membership: no write
        row = {
            "address_book_id": book.id,
            "contact_id": contact_id,
            "status": status[email],
            "list_member_id": members.get(email),
            "added_by_dotsync": False,
            "scheduled": False,
            "created_at": now,
            "updated_at": now,
        }
        (linked if email in members else unlinked).append(row)
    key = ["address_book_id", "contact_id"]
    # A contact with no member of that email keeps any link it had (the member may be new in dotsync).
    upsert(
        conn,
        BOOK_CONTACTS,
        unique_by(linked, key),
        key=key,
        update=["status", "list_member_id", "updated_at"],
    )
    upsert(conn, BOOK_CONTACTS, unique_by(unlinked, key), key=key, update=["status", "updated_at"])
    return len(ids)


def import_book_contacts(ctx: SyncContext, session: Session, book: AddressBook) -> int:
    """Read one book's contacts modified since its watermark (all the first time) and move the watermark.

    Also used by the export after an upload finished, so contacts it created get their Dotmailer ids.
    """
    since = since_with_overlap(book.last_contact_import_at)
    stored = 0
    label = f"contacts of {book.name}"
    for batch in batched(ctx.client.iter_address_book_contacts(book.origin_id, modified_since=since), BATCH):
        stored += save_contacts(session, ctx.integration_id, book, batch, ctx.now)
        ctx.progress(label, stored)
        ctx.check_budget()
    book.last_contact_import_at = ctx.now
    return stored


def run(ctx: SyncContext, session: Session) -> dict[str, int]:
    books = connected_books(session, ctx.integration_id)
    counts = {"books": len(books), "contacts": 0}
    for book in books:
        ctx.check_budget()
        counts["contacts"] += import_book_contacts(ctx, session, book)
    return counts
