"""Export step 1 (dotsync -> Dotmailer): take removed members' contacts out of the book, in batches.

Each batch is one API call followed by one local transaction that forgets the rows; a crash in between leaves
the rows, and the next run removes them again (removal is idempotent in Dotmailer).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete

from dotsync.db.bulk import batched
from dotsync.db.models import AddressBook, AddressBookContact
from dotsync.sync.context import SyncContext

REMOVE_BATCH = 500


def remove_contacts(ctx: SyncContext, book: AddressBook, removals: Sequence[tuple[int, int]]) -> int:
    removed = 0
    for batch in batched(removals, REMOVE_BATCH):
        ctx.check_budget()
        ctx.client.remove_contacts_from_address_book(book.origin_id, sorted(origin for _abc, origin in batch))
        with ctx.sessions.begin() as session:
            session.execute(
                delete(AddressBookContact).where(AddressBookContact.id.in_([abc for abc, _o in batch]))
            )
        removed += len(batch)
        ctx.progress(f"remove {book.name}", removed, len(removals))
    return removed
