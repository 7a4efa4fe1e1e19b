"""Export step 4 (dotsync -> Dotmailer): stream scheduled rows into CSV files of at most 10 MB and upload each.

Each scheduled row carries the CSV line the plan formatted for it (``scheduled_row``), so the upload only
concatenates lines: nothing is read from the members, parsed or formatted a second time.

The import id Dotmailer returns is recorded in the same transaction that marks the file's rows as sent, right
after the upload; a crash between the two loses only the bookkeeping, and the rows go again next run (the one
re-upload SPEC §6.4 allows). "Too many active imports" leaves the rows scheduled for the next run.
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, select, update

from dotsync.db.models import (
    AddressBook,
    AddressBookContact,
    ContactExport,
    ImportStatus,
    ListMember,
    Operation,
    UploadIntent,
)
from dotsync.dotmailer.errors import OutcomeUnknownError, TooManyActiveImportsError
from dotsync.sync.context import SyncContext
from dotsync.sync.export.outbox import NewRow, Outbox, insert_rows
from dotsync.sync.memory import collect_young, fewer_collections, keep_big_buffers_mapped
from dotsync.sync.payload import RowFormatter

log = logging.getLogger("dotsync.sync.export")

MAX_FILE_BYTES = 10 * 1000 * 1000  # Dotmailer's limit is 10 MB; stay under both readings of "MB"
PAGE = 5000


@dataclass
class UploadResult:
    uploads: int = 0
    rows: int = 0
    file_sizes: list[int] = field(default_factory=list)
    waiting: str | None = None  # why rows were left for the next run


# Bound once per row: plain str, which the drivers bind faster than a StrEnum member.
_OPERATIONS = tuple(operation.value for operation in Operation)


@dataclass(frozen=True)
class NewRows:
    """Rows new to the book in one file, column by column (arrays, no object per row: a file holds 100,000
    rows, and objects kept per row would stay scattered in memory after the file is sent)."""

    contacts: array[int] = field(default_factory=lambda: array("q"))
    members: array[int] = field(default_factory=lambda: array("q"))
    operations: bytearray = field(default_factory=bytearray)  # index in _OPERATIONS
    hashes: bytearray = field(default_factory=bytearray)  # 16 bytes each (the md5 hex digest, as bytes)
    lengths: array[int] = field(default_factory=lambda: array("I"))  # byte length of each row's CSV line

    def __len__(self) -> int:
        return len(self.contacts)

    def append(self, row: NewRow, size: int) -> None:
        contact_id, member_id, operation, digest, _line = row
        self.contacts.append(contact_id)
        self.members.append(member_id)
        self.operations.append(_OPERATIONS.index(operation))
        self.hashes.extend(bytes.fromhex(digest))
        self.lengths.append(size)

    def keys(self) -> Iterator[tuple[int, int, str, str]]:
        """(contact id, member id, operation, hash) of each row: what inserting it as sent needs."""
        hashes = self.hashes
        for i, (contact_id, member_id, operation) in enumerate(
            zip(self.contacts, self.members, self.operations, strict=True)
        ):
            yield contact_id, member_id, _OPERATIONS[operation], hashes[16 * i : 16 * i + 16].hex()

    def rows(self, data: bytes) -> Iterator[NewRow]:
        """The rows with their CSV lines again, cut from the end of the file ``data`` they were added to."""
        offset = len(data) - sum(self.lengths)
        for (contact_id, member_id, operation, digest), size in zip(self.keys(), self.lengths, strict=True):
            yield contact_id, member_id, operation, digest, data[offset : offset + size].decode("utf-8")
            offset += size


@dataclass(frozen=True)
class Chunk:
    """One CSV file: its bytes, the existing book rows in it (ids, ascending) and the rows new to the book,
    in file order after the existing ones."""

    data: bytes
    ids: array[int]
    new: NewRows

    def new_rows(self) -> Iterator[NewRow]:
        """The new rows with their CSV lines (for rows that wait for the next run)."""
        return self.new.rows(self.data)


class CsvChunker:
    """Builds CSV files (header ``Email`` + data-field names, UTF-8) no larger than ``limit`` bytes.

    Lines go straight into one buffer and rows are kept as columns: a 10 MB file of 100,000 rows costs little
    more than its bytes."""

    def __init__(self, headers: Sequence[str], limit: int = MAX_FILE_BYTES) -> None:
        self.header = self._encode(["Email", *headers])
        self.limit = limit
        self._reset()

    def _reset(self) -> None:
        self._buffer = bytearray(self.header)
        self.ids = array("q")  # existing book rows (scheduled), in id order
        self.new = NewRows()  # rows new to the book (the plan's outbox), after them

    @staticmethod
    def _encode(values: Sequence[str]) -> bytes:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerow(values)
        return buffer.getvalue().encode("utf-8")

    def __bool__(self) -> bool:
        return bool(self.ids or len(self.new))

    def fits(self, line: bytes) -> bool:
        return not self or len(self._buffer) + len(line) <= self.limit

    def add(self, row_id: int, line: bytes) -> None:
        self._buffer += line
        self.ids.append(row_id)

    def add_new(self, row: NewRow, line: bytes) -> None:
        self._buffer += line
        self.new.append(row, len(line))

    def take(self) -> Chunk:
        chunk = Chunk(bytes(self._buffer), self.ids, self.new)
        self._reset()
        return chunk


class _Lines:
    """A file-like sink for one :func:`csv.writer` reused for every row: each ``writerow`` is one string."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.write = self.lines.append


def _scheduled_pages(ctx: SyncContext, book: AddressBook) -> Iterator[Sequence[Any]]:
    """Pages of (book row id, CSV line) of the scheduled rows, in id order (keyset, a short read each)."""
    page = (
        select(AddressBookContact.id, AddressBookContact.scheduled_row)
        .where(
            and_(
                AddressBookContact.address_book_id == book.id,
                AddressBookContact.scheduled,
                AddressBookContact.id > bindparam("last_id"),
            )
        )
        .order_by(AddressBookContact.id)
        .limit(PAGE)
    )
    last_id = 0
    while True:
        with ctx.sessions() as session:
            rows = session.connection().execute(page, {"last_id": last_id}).all()
        if not rows:
            return
        last_id = rows[-1][0]
        yield rows


def upload_scheduled(
    ctx: SyncContext, book: AddressBook, formatter: RowFormatter, outbox: Outbox | None = None
) -> UploadResult:
    """Upload the book's scheduled rows, then the rows new to the book from the plan's ``outbox`` (see
    :func:`_upload`), with the collector quiet (:func:`~dotsync.sync.memory.fewer_collections`)."""
    with fewer_collections():
        return _upload(ctx, book, formatter, outbox)


def _upload(
    ctx: SyncContext, book: AddressBook, formatter: RowFormatter, outbox: Outbox | None = None
) -> UploadResult:
    """Upload the book's scheduled rows, then the rows new to the book from the plan's ``outbox``.

    ``formatter`` is the plan's (its headers match the planned lines). When an upload has to wait, the new rows
    not sent yet are stored as scheduled, so the next run sends them.
    """
    result = UploadResult()
    keep_big_buffers_mapped()
    chunker = CsvChunker(formatter.headers, MAX_FILE_BYTES)
    for rows in _scheduled_pages(ctx, book):
        missing = [row_id for row_id, text in rows if text is None]
        lines = _format_missing(ctx, formatter, missing) if missing else {}
        for row_id, text in rows:
            if text is None and (text := lines.get(row_id)) is None:
                continue  # its member is gone: nothing to send
            line = text.encode("utf-8")
            if not chunker.fits(line) and not _send(ctx, book, chunker.take(), result):
                _park(ctx, book, outbox or ())
                return result
            chunker.add(row_id, line)
    new_rows = iter(outbox or ())
    for row in new_rows:
        line = row[4].encode("utf-8")
        if not chunker.fits(line):
            chunk = chunker.take()
            if not _send(ctx, book, chunk, result):
                _park(ctx, book, itertools.chain(chunk.new_rows(), [row], new_rows))
                return result
            del chunk  # a sent file (10 MB and its rows) is freed before the next one is built, not after
        chunker.add_new(row, line)
    if chunker:
        chunk = chunker.take()
        if not _send(ctx, book, chunk, result):
            _park(ctx, book, chunk.new_rows())
    return result


def _park(ctx: SyncContext, book: AddressBook, rows: Iterable[NewRow]) -> None:
    """Store rows new to the book that this run could not upload as scheduled rows, for the next run."""
    with ctx.sessions.begin() as session:
        insert_rows(session.connection(), book.id, ctx.now, rows, import_id=None)


def _format_missing(ctx: SyncContext, formatter: RowFormatter, row_ids: Sequence[int]) -> dict[int, str]:
    """CSV lines of scheduled rows that have none (scheduled before lines were stored with the rows)."""
    with ctx.sessions() as session:
        rows = session.execute(
            select(AddressBookContact.id, ListMember.email, ListMember.fields)
            .join(ListMember, ListMember.id == AddressBookContact.list_member_id)
            .where(AddressBookContact.id.in_(row_ids))
        ).all()
    sink = _Lines()
    writer = csv.writer(sink, lineterminator="\r\n")
    for _row_id, email, fields in rows:
        writer.writerow([email, *formatter.values(fields or {})[0]])
    return {row_id: text for (row_id, _e, _f), text in zip(rows, sink.lines, strict=True)}


INTENT_LIFETIME = timedelta(days=7)  # an import Dotmailer has not applied by then never will


def _record_intent(ctx: SyncContext, book: AddressBook, new: NewRows) -> int:
    """Record, committed before the upload, which members this file adds to the book (see
    :class:`~dotsync.db.models.UploadIntent`); intents older than a week are dropped on the way."""
    with ctx.sessions.begin() as session:
        session.execute(
            delete(UploadIntent).where(
                UploadIntent.address_book_id == book.id, UploadIntent.created_at < ctx.now - INTENT_LIFETIME
            )
        )
        intent = UploadIntent(address_book_id=book.id, member_ids=new.members.tobytes(), created_at=ctx.now)
        session.add(intent)
        session.flush()
        return intent.id


def _send(ctx: SyncContext, book: AddressBook, chunk: Chunk, result: UploadResult) -> bool:
    data, ids, new = chunk.data, chunk.ids, chunk.new
    intent_id = _record_intent(ctx, book, new) if new else None
    try:
        started = ctx.client.start_contact_import(
            book.origin_id, data, filename=f"dotsync-book-{book.origin_id}.csv"
        )
    except TooManyActiveImportsError:
        result.waiting = "Dotmailer has too many active imports; the rows wait for the next run"
        ctx.note(f"book {book.name!r}: {result.waiting}")
        return False
    except OutcomeUnknownError as exc:
        result.waiting = f"the upload's outcome is unknown ({exc}); the rows go again next run"
        ctx.note(f"book {book.name!r}: {result.waiting}")
        return False
    with ctx.sessions.begin() as session:
        session.add(
            ContactExport(
                import_id=started.id,
                integration_id=ctx.integration_id,
                address_book_id=book.id,
                status=started.status or ImportStatus.NOT_FINISHED,
                row_count=len(ids) + len(new),
                byte_count=len(data),
                created_at=ctx.now,
                updated_at=ctx.now,
            )
        )
        # Core, not an ORM bulk update: nothing in the session needs synchronising with these rows.
        if new:
            insert_rows(session.connection(), book.id, ctx.now, new.keys(), import_id=started.id)
            session.execute(delete(UploadIntent).where(UploadIntent.id == intent_id))
        if ids:
            session.connection().execute(
                update(AddressBookContact)
                .where(
                    AddressBookContact.address_book_id == book.id,
                    AddressBookContact.scheduled,
                    AddressBookContact.id >= ids[0],
                    AddressBookContact.id <= ids[-1],
                )
                .values(
                    scheduled=False,
                    import_id=started.id,
                    sent_hash=AddressBookContact.scheduled_hash,
                    scheduled_row=None,
                    sent_at=ctx.now,
                )
            )
        target = session.get(AddressBook, book.id)
        if target is not None:
            target.sync_status = started.status or ImportStatus.NOT_FINISHED
    result.uploads += 1
    result.rows += len(ids) + len(new)
    result.file_sizes.append(len(data))
    log.info(
        "uploaded %d rows (%d bytes) to book %r as import %s",
        len(ids) + len(new),
        len(data),
        book.name,
        started.id,
    )
    ctx.progress(f"upload {book.name}", result.rows)
    collect_young()  # the file's memory goes now, not several files later
    return True
