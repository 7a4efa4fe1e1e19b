"""Import (Dotmailer -> dotsync): contacts of the connected books, with their data fields.

Per connected book: ``GET address-books/{id}/contacts/modified-since/{date}?withFullData=true`` since the
book's own watermark ``last_contact_import_at`` (minus the overlap), or every contact
(``GET address-books/{id}/contacts?withFullData=true``) the first time. Contacts are matched by email, then by
Dotmailer id (so an email changed in Dotmailer is followed), which is also how contacts dotsync exported get
their Dotmailer id. The book membership takes the status the book listing gives and is linked to the connected
list's member with that email. ``added_by_dotsync`` is left as it is: only the export sets it, except for a
contact new to the book whose member an upload left unrecorded (a run killed between the upload and its
bookkeeping, see :class:`~dotsync.db.models.UploadIntent`): dotsync added it, so a removal may take it out.

The watermark is Dotmailer's clock when the read began (``Date`` headers), so our clock's skew does not matter.
A book's read waits while a big upload of it is unsettled, and after one settled until Dotmailer's clock has
passed that time plus the overlap, so a big upload is read back once (:func:`deferral`; docs/DESIGN.md,
"Reading the book back once").

Pages are saved as they arrive, in batches, with batched lookups: a 100k-contact book costs a few hundred
statements, not one per contact.
"""

from __future__ import annotations

import logging
from array import array
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, delete, func, literal_column, select
from sqlalchemy.orm import Session

from dotsync.db.bulk import batched, refresh_statistics, upsert
from dotsync.db.lookups import connected_books
from dotsync.db.models import AddressBook, ContactExport, ImportStatus, UploadIntent, Watermark
from dotsync.dotmailer.models import ApiContactRow
from dotsync.lists.changes import pending_change
from dotsync.lists.email import email_key
from dotsync.sync.context import SyncContext
from dotsync.sync.importer import two_way
from dotsync.sync.importer.common import (
    BATCH,
    BOOK_CONTACTS,
    CONTACTS,
    MEMBERS,
    ContactRecord,
    member_ids,
    read_started,
    resolve_contacts,
    since_with_overlap,
    unique_by,
)
from dotsync.sync.watermarks import OVERLAP, write_watermark

if TYPE_CHECKING:
    from dotsync.sync.importer.two_way import Incoming

log = logging.getLogger("dotsync.sync.import")


def contact_record(api: ApiContactRow) -> ContactRecord:
    return ContactRecord(
        email=email_key(api.email),
        origin_id=api.id,
        values={
            "status": api.status,
            "opt_in_type": api.opt_in_type,
            "email_type": api.email_type,
            "data_fields": api.data_fields,
        },
    )


def save_contacts(
    session: Session,
    integration_id: int,
    book: AddressBook,
    contacts: Iterable[ApiContactRow],
    now: datetime,
    incoming: Incoming | None = None,
) -> int:
    """Store one batch of a book's contacts; returns how many were stored (unchanged ones included).

    ``incoming``: the book's two-way fields and new-contact import (:mod:`.two_way`), applied to the contacts
    that are not unchanged re-reads (on a full read with either on, every contact is looked at)."""
    records = [r for r in (contact_record(api) for api in contacts) if r.email]
    if not records:
        return 0
    conn = session.connection()
    unchanged = (
        set()
        if incoming is not None and incoming.full_read
        else _unchanged(conn, integration_id, book, records)
    )
    if unchanged:
        records = [r for r in records if r.email not in unchanged]
        if not records:
            return len(unchanged)
    previous = incoming.previous(conn, integration_id, records) if incoming is not None else {}
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
    # A changed membership is stamped so the next export plan looks at it (dotsync.lists.changes).
    stamp = pending_change(conn, book.marketing_list_id)
    if incoming is not None:
        incoming.apply(conn, records, ids, members, previous, stamp, now)
    # A contact new to the book whose member a run was uploading when it died was added by dotsync.
    adopted = _uploaded_by_dotsync(
        conn, book.id, [members[e] for e, c in ids.items() if e in members and c not in existing]
    )
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
            "added_by_dotsync": members.get(email) in adopted,
            "scheduled": False,
            "change_seq": stamp,
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
        update=["status", "list_member_id", "change_seq", "updated_at"],
    )
    upsert(
        conn, BOOK_CONTACTS, unique_by(unlinked, key), key=key, update=["status", "change_seq", "updated_at"]
    )
    if incoming is not None:
        incoming.finish(conn, ids, now)
    return len(unchanged) + len(ids)


def _uploaded_by_dotsync(conn: Connection, book_id: int, member_ids: list[int]) -> set[int]:
    """Those of ``member_ids`` that an upload to the book left unrecorded (its run died between the upload and
    its bookkeeping: :class:`~dotsync.db.models.UploadIntent`). Usually there is no intent and this is one
    indexed look-up."""
    if not member_ids:
        return set()
    wanted, found = set(member_ids), set()
    for blob in conn.execute(
        select(UploadIntent.member_ids).where(UploadIntent.address_book_id == book_id)
    ).scalars():
        ids = array("q")
        ids.frombytes(blob)
        found.update(wanted.intersection(ids))
    return found


def _unchanged(
    conn: Connection, integration_id: int, book: AddressBook, records: list[ContactRecord]
) -> set[str]:
    """Emails of the batch whose contact, book membership and member link already hold what the record says.

    One query instead of the four of the general path, and no write: a re-read of an unchanged book costs
    reading. Only plain records qualify (a Dotmailer id, email and id each once in the batch); everything
    else, and every difference, takes the general path, which decides exactly as it always did.
    """
    emails = Counter(r.email for r in records)
    origins = Counter(r.origin_id for r in records)
    candidates = {
        r.email: r
        for r in records
        if r.origin_id is not None and emails[r.email] == 1 and origins[r.origin_id] == 1
    }
    if not candidates:
        return set()
    compared = sorted({name for r in candidates.values() for name in r.values})
    member = (MEMBERS.c.id if book.marketing_list_id is not None else literal_column("NULL")).label(
        "member_id"
    )
    joined = CONTACTS.join(
        BOOK_CONTACTS,
        and_(BOOK_CONTACTS.c.contact_id == CONTACTS.c.id, BOOK_CONTACTS.c.address_book_id == book.id),
    )
    if book.marketing_list_id is not None:
        joined = joined.outerjoin(
            MEMBERS, and_(MEMBERS.c.list_id == book.marketing_list_id, MEMBERS.c.email == CONTACTS.c.email)
        )
    query = (
        select(
            CONTACTS.c.email,
            CONTACTS.c.origin_id,
            *(CONTACTS.c[name] for name in compared),
            BOOK_CONTACTS.c.status.label("book_status"),
            BOOK_CONTACTS.c.list_member_id,
            member,
        )
        .select_from(joined)
        .where(CONTACTS.c.integration_id == integration_id, CONTACTS.c.email.in_(list(candidates)))
    )
    same: set[str] = set()
    for row in conn.execute(query):
        record = candidates.get(row.email)
        if (
            record is not None
            and row.origin_id == record.origin_id
            and row.book_status == record.values.get("status")
            and (row.member_id is None or row.list_member_id == row.member_id)
            and all(getattr(row, name) == value for name, value in record.values.items())
        ):
            same.add(row.email)
    return same


def import_book_contacts(
    ctx: SyncContext, session: Session, book: AddressBook, counts: dict[str, int] | None = None
) -> int:
    """Read one book's contacts modified since its watermark (all the first time) and move the watermark.

    The new watermark is Dotmailer's clock at the read's first answer (its ``Date``; our clock only when the
    server sends none), so our clock's skew cannot skip or repeat changes. Also used by the export after an
    upload finished, so new contacts get their ids.
    """
    since = since_with_overlap(book.last_contact_import_at)
    started, rows = read_started(
        ctx, ctx.client.iter_address_book_contact_rows(book.origin_id, modified_since=since)
    )
    stored = 0
    label = f"contacts of {book.name}"
    incoming: list[Incoming | None] = []  # loaded with the first batch: an empty read costs no query
    for number, batch in enumerate(batched(rows, BATCH)):
        if number == 0 and len(batch) == BATCH:
            # A big read (e.g. after an upload): PostgreSQL's statistics may predate the rows the export just
            # wrote, and with them its batched look-ups scan whole tables (minutes at 100,000 contacts).
            refresh_statistics(session.connection(), "contact", "address_book_contact", "list_member")
        if not incoming:
            incoming.append(two_way.for_book(session, book))
        stored += save_contacts(session, ctx.integration_id, book, batch, ctx.now, incoming[0])
        ctx.progress(label, stored)
    if incoming and incoming[0] is not None:
        two_way.report(ctx, book.name, incoming[0], counts)
    book.last_contact_import_at = started
    mark = read_after(session, ctx.integration_id, book.id)
    if mark is not None and started > mark:
        clear_read_after(session, ctx.integration_id, book.id)
    return stored


# --- when to read a book back (see docs/DESIGN.md, "Reading the book back once") -----------------------------

# The Watermark row (connector, scope = book id) holding the server time before which the book is not read.
READ_AFTER = "contact_read_after"
# An upload this big defers the book's read until it is settled and visible; a smaller one costs at most a
# page to read again, so it is read at once (new contacts get their ids in the same export).
DEFER_ROWS = 1000
# Never wait longer than this since the book's last read (uploads finishing every cycle must not starve it).
MAX_DEFERRAL = timedelta(hours=1)
# ``Date`` carries whole seconds: one more second makes "after" strict whatever the rounding.
DATE_RESOLUTION = timedelta(seconds=1)

_UNSETTLED = (ContactExport.status == ImportStatus.NOT_FINISHED) | (
    (ContactExport.status == ImportStatus.FINISHED) & ~ContactExport.faults_processed
)


def read_after(session: Session, integration_id: int, book_id: int) -> datetime | None:
    return session.scalar(
        select(Watermark.value).where(
            Watermark.integration_id == integration_id,
            Watermark.connector == READ_AFTER,
            Watermark.scope == str(book_id),
        )
    )


def clear_read_after(session: Session, integration_id: int, book_id: int) -> None:
    session.execute(
        delete(Watermark).where(
            Watermark.integration_id == integration_id,
            Watermark.connector == READ_AFTER,
            Watermark.scope == str(book_id),
        )
    )


def deferral(session: Session, ctx: SyncContext, book: AddressBook) -> str | None:
    """Why the book's contacts must not be read now, or None to read them.

    A read while a big upload is being applied, or within the overlap after it was, would be followed by a
    second read of the same contacts (the next read's overlap covers them). So the book waits until its big
    uploads are settled and Dotmailer's clock has passed the time they were seen finished plus the overlap;
    then one read learns every new contact's id and the next read starts after the upload.
    """
    now = ctx.server_now()
    last = book.last_contact_import_at
    if last is not None and now - last >= MAX_DEFERRAL:
        return None
    in_flight = int(
        session.scalar(
            select(func.coalesce(func.sum(ContactExport.row_count), 0)).where(
                ContactExport.address_book_id == book.id, _UNSETTLED
            )
        )
        or 0
    )
    if in_flight >= DEFER_ROWS:
        return f"{in_flight} uploaded rows are not settled yet"
    mark = read_after(session, ctx.integration_id, book.id)
    if mark is not None and now <= mark:
        return f"an upload finished recently; reading after {mark:%Y-%m-%d %H:%M:%S} UTC (Dotmailer's clock)"
    return None


def read_back_after_settle(ctx: SyncContext, book_id: int, finished_rows: int) -> bool:
    """Export step 0's read-back, after the book's uploads were settled; returns True when it read.

    A big upload that just finished defers the read (see :func:`deferral`); a small one is read at once, as
    is a deferred read that has come due when no import ran since (``dotmailer export`` run alone).
    """
    with ctx.sessions.begin() as session:
        book = session.get(AddressBook, book_id)
        if book is None:
            return False
        mark = read_after(session, ctx.integration_id, book.id)
        if finished_rows >= DEFER_ROWS:
            after = ctx.server_now() + OVERLAP + DATE_RESOLUTION
            if mark is None or after > mark:
                write_watermark(session, ctx.integration_id, READ_AFTER, after, scope=str(book.id))
            log.info("book %r: reading its contacts back after %s (Dotmailer's clock)", book.name, after)
            return False
        if finished_rows == 0 and mark is None:
            return False
        why = deferral(session, ctx, book)
        if why is not None:
            log.info("book %r: contact read deferred: %s", book.name, why)
            return False
        import_book_contacts(ctx, session, book)
        return True


def run(ctx: SyncContext, session: Session) -> dict[str, int]:
    books = connected_books(session, ctx.integration_id)
    counts = {"books": len(books), "contacts": 0}
    for book in books:
        why = deferral(session, ctx, book)
        if why is not None:
            log.info("contacts of book %r not read this time: %s", book.name, why)
            counts["deferred"] = counts.get("deferred", 0) + 1
            continue
        counts["contacts"] += import_book_contacts(ctx, session, book, counts)
    return counts
