"""Export step 1 (dotsync -> Dotmailer): take removed members' contacts out of the book, in batches.

``contacts/delete`` answers 202 and Dotmailer applies the removal later (reference §15), so a removed row is not
forgotten: it is marked *pending* (when, how many times) and forgotten only once a read of the book no longer
lists the contact (:mod:`dotsync.sync.export.pending_removals`). Each batch is one API call followed by one
local transaction that marks the rows; a crash in between leaves the rows unmarked, so the same removal is
planned and sent again by the next run (removal is idempotent in Dotmailer).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import update

from dotsync.db.bulk import batched
from dotsync.db.models import AddressBook, AddressBookContact
from dotsync.sync.context import SyncContext

REMOVE_BATCH = 500


def remove_contacts(ctx: SyncContext, book: AddressBook, removals: Sequence[tuple[int, int]]) -> int:
    """Send the removal of ``removals`` ((book row id, Dotmailer contact id) pairs) and mark the rows pending;
    returns how many were sent."""
    removed = 0
    for batch in batched(removals, REMOVE_BATCH):
        send_removal(ctx, book, batch)
        removed += len(batch)
        ctx.progress(f"remove {book.name}", removed, len(removals))
    return removed


def send_removal(ctx: SyncContext, book: AddressBook, batch: Sequence[tuple[int, int]]) -> None:
    """One ``contacts/delete`` call for ``batch``, then its rows marked pending: sent now (Dotmailer's clock),
    one more attempt, not checked since."""
    ctx.client.remove_contacts_from_address_book(book.origin_id, sorted({origin for _abc, origin in batch}))
    sent_at = ctx.server_now()
    with ctx.sessions.begin() as session:
        session.execute(
            update(AddressBookContact)
            .where(AddressBookContact.id.in_([abc for abc, _o in batch]))
            .values(
                removal_requested_at=sent_at,
                removal_attempts=AddressBookContact.removal_attempts + 1,
                removal_checked_at=None,
                scheduled=False,
                scheduled_row=None,
                updated_at=ctx.now,
            )
        )
