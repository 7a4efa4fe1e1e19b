"""Loading a CSV file into a list that has no members yet (``list create --csv``), in flat memory.

:func:`dotsync.lists.members.load_csv` keeps every email it has seen in a set to report duplicates: about 100
bytes per member, 100 MB at a million. A new list needs no such set: the ``(list_id, email)`` unique index
already knows every email written, so rows go in with ``ON CONFLICT DO NOTHING`` (the first occurrence wins, as
in ``load_csv``) and the driver's row count says whether a batch met an email of an earlier one. Only then is
the batch's owner found, by asking which of its emails were there before it (ids at most the largest id before
the batch). Duplicates inside one batch are caught by a set of that batch only. Memory holds one batch. On
MySQL/MariaDB, whose row count also counts a conflict's no-op update, the batch's new rows are counted instead
(ids above the largest before the batch, in this list: an index range of one batch).

Same results as ``load_csv`` into an empty list: counts, rejects (a duplicate of an earlier batch is logged
when its batch is written, so a rejects file may list it after later invalid rows), the change stamp, the
refusal of a file without one valid email. SQLite, PostgreSQL and MySQL/MariaDB; other databases use
``load_csv``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Table, func, select

from dotsync.db.bulk import ANALYZE_AFTER_ROWS, PreparedMany, refresh_statistics
from dotsync.db.models import ListMember
from dotsync.errors import BadInputError
from dotsync.lists.changes import next_change
from dotsync.lists.csvfile import CsvFile
from dotsync.lists.members import (
    WRITE_BATCH,
    ImportResult,
    MemberPreparer,
    _estimate_total,
    load_csv,
    member_upsert,
)
from dotsync.lists.rejects import DUPLICATE, RejectLog
from dotsync.progress import Progress, no_progress

_members = cast(Table, ListMember.__table__)
DIALECTS = ("sqlite", "postgresql", "mysql", "mariadb")
DUPLICATE_REASON = "(it appears earlier in the file)"


class _NewListWriter:
    """Inserts batches into an empty list, keeping the first row of each email; reports later ones."""

    def __init__(self, conn: Connection, list_id: int, *, now: Any, result: ImportResult) -> None:
        self.conn = conn
        self.list_id = list_id
        self.result = result
        seq = next_change(conn, list_id)
        self._insert = PreparedMany(conn, member_upsert(conn, now, seq, keep_existing=True))
        self.counts_by_id = conn.dialect.name not in ("sqlite", "postgresql")

    def _max_id(self) -> int:
        return int(self.conn.execute(select(func.max(_members.c.id))).scalar() or 0)

    def write(self, batch: list[tuple[int, list[str], tuple[str, str, str]]], rejects: RejectLog) -> None:
        """``batch``: (line, the row's values, member) for members whose email is new to this batch."""
        if not batch:
            return
        before = self._max_id()
        inserted = self._insert(
            [
                {"list_id": self.list_id, "email": email, "fields": text, "fields_hash": digest}
                for _line, _values, (email, text, digest) in batch
            ]
        )
        if self.counts_by_id:
            # MySQL reports a conflict's no-op update as a row too (found rows): count what the batch added.
            inserted = int(
                self.conn.execute(
                    select(func.count()).where(_members.c.list_id == self.list_id, _members.c.id > before)
                ).scalar()
                or 0
            )
        self.result.new += inserted
        if inserted == len(batch):
            return
        emails = [member[0] for _line, _values, member in batch]
        earlier = set(
            self.conn.execute(
                select(_members.c.email).where(
                    _members.c.list_id == self.list_id, _members.c.email.in_(emails), _members.c.id <= before
                )
            ).scalars()
        )
        for line, values, (email, _text, _digest) in batch:
            if email in earlier:
                rejects.add(line, f"duplicate of {email} {DUPLICATE_REASON}", values, kind=DUPLICATE)


def load_csv_new_list(
    conn: Connection,
    list_id: int,
    csv_file: CsvFile,
    *,
    email_column: str,
    now: Any,
    rejects_path: Path | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Load an opened CSV file into the list ``list_id``, which must have no members (see the module doc)."""
    if conn.dialect.name not in DIALECTS:
        return load_csv(
            conn,
            list_id,
            csv_file,
            email_column=email_column,
            now=now,
            rejects_path=rejects_path,
            progress=progress,
        )
    report = progress or no_progress
    header = csv_file.header
    email_index = header.index(email_column)
    pairs = [(name, index) for index, name in enumerate(header) if index != email_index]
    result = ImportResult()
    label = f"Importing {csv_file.path.name}"
    valid = 0
    with RejectLog(columns=header, path=rejects_path) as rejects:
        preparer = MemberPreparer(rejects, duplicate_reason=DUPLICATE_REASON)
        writer = _NewListWriter(conn, list_id, now=now, result=result)
        batch: list[tuple[int, list[str], tuple[str, str, str]]] = []
        for row in csv_file:
            result.rows_read += 1
            if row.problem is not None:
                rejects.add(row.line, row.problem, row.values)
                continue
            values = row.values
            member = preparer.prepare(row.line, values[email_index], {n: values[i] for n, i in pairs}, values)
            if member is not None:
                valid += 1
                batch.append((row.line, values, member))
                if len(batch) >= WRITE_BATCH:
                    writer.write(batch, rejects)
                    batch = []
                    preparer.seen.clear()  # earlier batches' emails are the unique index's to know
                    report(label, result.rows_read, _estimate_total(csv_file, result.rows_read))
        writer.write(batch, rejects)
        if result.new >= ANALYZE_AFTER_ROWS:
            refresh_statistics(conn, "list_member")
        report(label, result.rows_read, result.rows_read)
        if result.rows_read and not valid:
            # Nothing usable at all: most likely the wrong column, so refuse rather than load an empty list.
            first = f" (line {rejects.sample[0].line}: {rejects.sample[0].reason})" if rejects.sample else ""
            raise BadInputError(
                f"{csv_file.path}: none of its {result.rows_read} rows has a valid email in column "
                f"{email_column!r}{first}; if another column holds the emails, name it with --email-column"
            )
    result.invalid, result.duplicates, result.rejects = rejects.invalid, rejects.duplicates, rejects.sample
    return result
