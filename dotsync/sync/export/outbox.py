"""Export (dotsync -> Dotmailer): members the plan sends to the book for the first time, waiting for upload.

A member with no row in the book yet (every member, on a first export) is not written by the plan: its row
(contact, member, operation, hash and CSV line) is spooled to a temporary file, and the upload inserts it
once, already marked as sent with its import id, in the transaction that records the upload. One write per
member instead of an insert followed by a "sent" update. A crash between the upload and that transaction
leaves no row: the book's plan position has not moved, so the next plan finds the member again and sends it
once more (the one re-upload SPEC §6.4 allows). Rows that cannot be uploaded in this run (too many active
imports, an upload of unknown outcome) are inserted as scheduled, with their line, for the next run.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO, cast

from sqlalchemy import Connection, Table, bindparam, insert

from dotsync.db.bulk import PreparedMany, batched, constant
from dotsync.db.models import AddressBookContact

# contact id, list member id, operation, content hash, CSV line (no header)
NewRow = tuple[int, int, str, str, str]


class Outbox:
    """New book rows in plan order, spooled to a temporary file (a first export can be millions of rows)."""

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None
        self.count = 0

    def add(self, rows: list[NewRow]) -> None:
        if not rows:
            return
        if self._file is None:
            self._file = tempfile.TemporaryFile()  # noqa: SIM115  (kept open across calls; close() ends it)
        pickle.dump(rows, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self.count += len(rows)

    def __iter__(self) -> Iterator[NewRow]:
        if self._file is None:
            return
        self._file.seek(0)
        while True:
            try:
                rows: list[NewRow] = pickle.load(self._file)
            except EOFError:
                return
            yield from rows

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def insert_rows(
    conn: Connection,
    book_id: int,
    now: datetime,
    rows: Iterable[NewRow] | Iterable[tuple[int, int, str, str]],
    *,
    import_id: str | None,
) -> int:
    """Insert new book rows: sent in ``import_id`` (rows without their line will do), or (None) scheduled for
    the next upload, with their line. Returns how many.

    Only the export inserts rows for the list's members, so dotsync added these contacts.
    """
    table = cast(Table, AddressBookContact.__table__)
    b = table.c
    sent = import_id is not None
    stmt = insert(table).values(
        address_book_id=constant(conn, b.address_book_id, book_id),
        contact_id=bindparam("contact_id"),
        list_member_id=bindparam("list_member_id"),
        scheduled=constant(conn, b.scheduled, not sent),
        operation=bindparam("operation"),
        scheduled_hash=bindparam("scheduled_hash"),
        scheduled_row=constant(conn, b.scheduled_row, None) if sent else bindparam("scheduled_row"),
        sent_hash=bindparam("sent_hash") if sent else constant(conn, b.sent_hash, None),
        import_id=constant(conn, b.import_id, import_id),
        sent_at=constant(conn, b.sent_at, now if sent else None),
        added_by_dotsync=constant(conn, b.added_by_dotsync, True),
        export_failures=constant(conn, b.export_failures, 0),
        removal_attempts=constant(conn, b.removal_attempts, 0),
        change_seq=constant(conn, b.change_seq, 0),
        created_at=constant(conn, b.created_at, now),
        updated_at=constant(conn, b.updated_at, now),
    )
    prepared = PreparedMany(conn, stmt)
    # A sent row stores its hash as sent; a scheduled row its line for the next upload. Tuples in the order of
    # the table's columns, which is the statement's parameter order.
    last = "sent_hash" if sent else "scheduled_row"
    names = ("contact_id", "list_member_id", "operation", "scheduled_hash", last)
    written = 0
    for batch in batched(rows, 5000):
        if sent:
            params = [(row[0], row[1], row[2], row[3], row[3]) for row in batch]
        else:
            params = [(row[0], row[1], row[2], row[3], cast(NewRow, row)[4]) for row in batch]
        prepared.tuples(names, params)
        written += len(batch)
    return written
