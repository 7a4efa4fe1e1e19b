"""Import (Dotmailer -> dotsync): address books, all of them, paged (``GET address-books``).

New books are created, known ones updated (name, visibility, contact count). A book Dotmailer no longer
returns is deleted locally, except that

* nothing is deleted when Dotmailer returned no books at all (every account has at least its two system
  books, so an empty answer is a glitch, not a wipe);
* a book connected to a list is never deleted: it is flagged ``missing_since`` (``list show`` and ``status``
  tell the user) and the flag is cleared if the book comes back.

The system books "All Contacts" and "Test" are imported like any other; they are only kept out of the
books offered for connection (``books list --available``, ``connect``: ``AddressBook.is_system``).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from dotsync.db.models import AddressBook
from dotsync.dotmailer.models import ApiAddressBook
from dotsync.sync.context import SyncContext


def fetch(ctx: SyncContext) -> list[ApiAddressBook]:
    return list(ctx.client.iter_address_books())


def save(ctx: SyncContext, session: Session, books: list[ApiAddressBook]) -> dict[str, int]:
    counts = {"seen": len(books), "created": 0, "updated": 0, "deleted": 0, "missing": 0, "returned": 0}
    if not books:
        ctx.note("Dotmailer returned no address books at all; keeping every local book as it is")
        return counts
    local = {
        book.origin_id: book
        for book in session.scalars(
            select(AddressBook).where(AddressBook.integration_id == ctx.integration_id)
        )
    }
    seen: set[int] = set()
    for api in books:
        seen.add(api.id)
        book = local.get(api.id)
        if book is None:
            session.add(
                AddressBook(
                    integration_id=ctx.integration_id,
                    origin_id=api.id,
                    name=api.name,
                    visibility=api.visibility,
                    contact_count=api.contacts,
                )
            )
            counts["created"] += 1
            continue
        changed = (book.name, book.visibility, book.contact_count) != (api.name, api.visibility, api.contacts)
        book.name, book.visibility, book.contact_count = api.name, api.visibility, api.contacts
        if book.missing_since is not None:
            book.missing_since = None
            counts["returned"] += 1
            ctx.note(f"address book {book.name!r} ({book.origin_id}) is back in Dotmailer")
        elif changed:
            counts["updated"] += 1
    for origin_id, book in local.items():
        if origin_id in seen:
            continue
        if book.marketing_list_id is not None:
            if book.missing_since is None:
                book.missing_since = ctx.now
                ctx.note(
                    f"connected address book {book.name!r} ({book.origin_id}) is gone from Dotmailer; "
                    "its list is no longer synced (it is kept, flagged as missing)"
                )
            counts["missing"] += 1
        else:
            session.delete(book)
            counts["deleted"] += 1
    session.flush()
    return counts


def run(ctx: SyncContext, session: Session) -> dict[str, int]:
    return save(ctx, session, fetch(ctx))
