"""Bulk member work on the ``list_member`` table: loading a CSV into a list and refreshing a query-backed list.

Everything here goes through SQLAlchemy Core on the caller's connection (no ORM objects per member) in
batches, and never changes a member's state: a member who unsubscribed or was removed stays so whatever a
re-import or a refresh brings. Rows are streamed in and written batch by batch; what stays in memory is the set
of emails already seen (to collapse duplicates, first occurrence wins), about 100 bytes per distinct email.

A refresh reads the whole query result before writing anything (rows are spooled to a temporary file), so a
source that fails half-way, or returns nothing, leaves the list exactly as it was.
"""

from __future__ import annotations

import pickle
import tempfile
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from dotsync.db.bulk import batched, upsert
from dotsync.db.models import SUBSCRIBED, ListMember, MarketingList
from dotsync.errors import BadInputError
from dotsync.lists.columns import field_columns as other_columns
from dotsync.lists.columns import find_email_column
from dotsync.lists.csvfile import CsvFile
from dotsync.lists.email import normalise_email
from dotsync.lists.hashing import fields_hash
from dotsync.lists.rejects import DUPLICATE, Reject, RejectLog
from dotsync.lists.source import QueryReader, SourceError, json_value, mask_url

KIND_STATIC = "static"
KIND_QUERY = "query"
WRITE_BATCH = 2000

Progress = Callable[[str, int, int | None], None]
"""``progress(label, done, total)``; total None when unknown."""

# (email, fields, fields_hash): one member ready to be written.
Member = tuple[str, dict[str, Any], str]

_members = ListMember.__table__
_lists = MarketingList.__table__


def _no_progress(_label: str, _done: int, _total: int | None) -> None:
    return None


@dataclass
class LoadResult:
    """What a CSV load or a query refresh did to a list's members."""

    rows_read: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    invalid: int = 0
    duplicates: int = 0
    rejects: list[Reject] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows_read": self.rows_read,
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "invalid": self.invalid,
            "duplicates": self.duplicates,
            "rejects": [{"line": r.line, "kind": r.kind, "reason": r.reason} for r in self.rejects],
        }


@dataclass
class ImportResult(LoadResult):
    """A CSV load into a static list."""


@dataclass
class RefreshResult(LoadResult):
    """A query-backed list's refresh: also who left the query's result and who came back into it."""

    left: int = 0
    came_back: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "left": self.left, "came_back": self.came_back}


class MemberPreparer:
    """Turns raw rows into members: normalises the email, drops invalid rows and duplicates, hashes fields."""

    def __init__(self, rejects: RejectLog, *, duplicate_reason: str) -> None:
        self.rejects = rejects
        self.duplicate_reason = duplicate_reason
        self.seen: set[str] = set()

    def prepare(
        self, line: int, raw_email: object, fields: dict[str, Any], values: Sequence[object]
    ) -> Member | None:
        email, reason = normalise_email(raw_email)
        if email is None:
            self.rejects.add(line, reason or "invalid email", values)
            return None
        if email in self.seen:
            self.rejects.add(line, f"duplicate of {email} {self.duplicate_reason}", values, kind=DUPLICATE)
            return None
        self.seen.add(email)
        return email, fields, fields_hash(fields)


class MemberWriter:
    """Writes batches of members into one list: new ones subscribed, known ones get new fields, state kept.

    A member whose fields hash is unchanged (and who is current) is not written at all, so ``updated_at``
    moves only when something changed.
    """

    def __init__(self, conn: Connection, list_id: int, *, now: datetime, result: LoadResult) -> None:
        self.conn = conn
        self.list_id = list_id
        self.now = now
        self.result = result
        self.came_back = 0

    def write(self, batch: Sequence[Member]) -> None:
        if not batch:
            return
        existing = {
            email: (old_hash, current)
            for email, old_hash, current in self.conn.execute(
                select(_members.c.email, _members.c.fields_hash, _members.c.is_current).where(
                    _members.c.list_id == self.list_id, _members.c.email.in_([m[0] for m in batch])
                )
            )
        }
        now, list_id = self.now, self.list_id
        rows: list[dict[str, Any]] = []
        for email, fields, digest in batch:
            old = existing.get(email)
            if old is None:
                self.result.new += 1
            else:
                old_hash, current = old
                if not current:
                    self.came_back += 1
                if old_hash != digest:
                    self.result.changed += 1
                elif current:
                    self.result.unchanged += 1
                    continue
            rows.append(
                {
                    "list_id": list_id,
                    "email": email,
                    "fields": fields,
                    "fields_hash": digest,
                    "state": SUBSCRIBED,
                    "state_reason": None,
                    "state_changed_at": now,
                    "is_current": True,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        # On a conflict only the content columns change: state, reason and their time are the member's own.
        upsert(
            self.conn,
            _members,
            rows,
            key=("list_id", "email"),
            update=("fields", "fields_hash", "is_current", "updated_at"),
        )


def load_csv(
    conn: Connection,
    list_id: int,
    csv_file: CsvFile,
    *,
    email_column: str,
    now: datetime,
    rejects_path: Path | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Upsert the members of an opened CSV file into a list (static lists); existing members keep their state.

    Fields are the file's other columns, and replace a known member's fields. Invalid rows and duplicates
    (case variants included; the first occurrence wins) are skipped and reported. File-level problems raise
    BadInputError; the caller's transaction then undoes whatever was written.
    """
    report = progress or _no_progress
    header = csv_file.header
    email_index = header.index(email_column)
    pairs = [(name, index) for index, name in enumerate(header) if index != email_index]
    result = ImportResult()
    label = f"Importing {csv_file.path.name}"
    with RejectLog(columns=header, path=rejects_path) as rejects:
        preparer = MemberPreparer(rejects, duplicate_reason="(it appears earlier in the file)")
        writer = MemberWriter(conn, list_id, now=now, result=result)
        batch: list[Member] = []
        for row in csv_file:
            result.rows_read += 1
            if row.problem is not None:
                rejects.add(row.line, row.problem, row.values)
                continue
            values = row.values
            member = preparer.prepare(row.line, values[email_index], {n: values[i] for n, i in pairs}, values)
            if member is not None:
                batch.append(member)
                if len(batch) >= WRITE_BATCH:
                    writer.write(batch)
                    batch = []
                    report(label, result.rows_read, _estimate_total(csv_file, result.rows_read))
        writer.write(batch)
        report(label, result.rows_read, result.rows_read)
    result.invalid, result.duplicates, result.rejects = rejects.invalid, rejects.duplicates, rejects.sample
    return result


def _estimate_total(csv_file: CsvFile, rows: int) -> int | None:
    done = csv_file.bytes_read
    if not done or not csv_file.size:
        return None
    return max(rows, round(rows * csv_file.size / done))


def current_member_count(conn: Connection, list_id: int) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(_members)
            .where(_members.c.list_id == list_id, _members.c.is_current.is_(True))
        ).scalar_one()
    )


def refresh_query_list(
    conn: Connection,
    marketing_list: MarketingList,
    box: Any,
    *,
    now: datetime,
    progress: Progress | None = None,
    rejects_path: Path | None = None,
) -> RefreshResult:
    """Re-read a query-backed list's source and bring its members in line with the query's rows.

    New rows become subscribed members; known members get the query's current fields; members no longer
    returned are marked ``is_current=False`` and members returned again ``is_current=True`` — their state
    (``unsubscribed``, ``removed``) is always kept. ``box`` is the :class:`~dotsync.secret.SecretBox` that
    decrypts the source URL.

    Raises :class:`SourceError` — having changed nothing — when the source fails (connection, query, missing
    email column) or returns no usable row while the list has current members. On success the list's
    ``refreshed_at``, ``source_error`` and ``field_columns`` are updated.
    """
    if (
        marketing_list.kind != KIND_QUERY
        or not marketing_list.query
        or not marketing_list.source_url_encrypted
    ):
        raise BadInputError(f"list {marketing_list.name!r} is not query-backed")
    report = progress or _no_progress
    url = box.decrypt(marketing_list.source_url_encrypted)
    result = RefreshResult()
    with tempfile.TemporaryFile() as spool, QueryReader(url, marketing_list.query) as reader:
        email_column = _source_email_column(reader.columns, marketing_list.email_column, url)
        fields = other_columns(reader.columns, email_column)
        with RejectLog(columns=reader.columns, path=rejects_path) as rejects:
            preparer = MemberPreparer(rejects, duplicate_reason="(the query returns it more than once)")
            _spool_query(reader, preparer, email_column, spool, result, report)
        result.invalid, result.duplicates, result.rejects = (
            rejects.invalid,
            rejects.duplicates,
            rejects.sample,
        )
        reader.close()  # release the source before writing

        if not preparer.seen:
            current = current_member_count(conn, marketing_list.id)
            if current:
                what = "no rows" if result.rows_read == 0 else f"no usable rows ({result.rows_read} invalid)"
                raise SourceError(
                    f"the query of list {marketing_list.name!r} returned {what} while the list has {current} "
                    "current members; nothing was changed (a broken source must not empty a list)"
                )

        writer = MemberWriter(conn, marketing_list.id, now=now, result=result)
        spool.seek(0)
        written = 0
        for batch in _unspool(spool):
            writer.write(batch)
            written += len(batch)
            report("Updating members", written, len(preparer.seen))
    result.came_back = writer.came_back
    result.left = mark_left(conn, marketing_list.id, preparer.seen, now=now)
    values = {
        "refreshed_at": now,
        "source_error": None,
        "email_column": email_column,
        "field_columns": fields,
        "updated_at": now,
    }
    conn.execute(update(_lists).where(_lists.c.id == marketing_list.id).values(**values))
    for key, value in values.items():  # keep the caller's object in step without marking it dirty
        set_committed_value(marketing_list, key, value)
    return result


def _source_email_column(columns: Sequence[str], wanted: str, url: str) -> str:
    if not wanted:  # a new list without --email-column: the column named like "email"
        try:
            return find_email_column(columns, None, source="the query")
        except BadInputError as exc:
            raise SourceError(exc.message) from exc
    if wanted in columns:
        return wanted
    folded = [c for c in columns if c.lower() == wanted.lower()]
    if len(folded) == 1:
        return folded[0]
    found = ", ".join(repr(c) for c in columns) or "none"
    raise SourceError(
        f"the query over {mask_url(url)} returns no column {wanted!r} for the email (columns: {found})"
    )


def _spool_query(
    reader: QueryReader,
    preparer: MemberPreparer,
    email_column: str,
    spool: IO[bytes],
    result: RefreshResult,
    report: Progress,
) -> None:
    columns = reader.columns
    email_index = columns.index(email_column)
    pairs = [(name, index) for index, name in enumerate(columns) if index != email_index]
    for rows in reader.batches():
        members: list[Member] = []
        for row in rows:
            result.rows_read += 1
            member = preparer.prepare(
                result.rows_read, row[email_index], {n: json_value(row[i]) for n, i in pairs}, row
            )
            if member is not None:
                members.append(member)
        if members:
            pickle.dump(members, spool, protocol=pickle.HIGHEST_PROTOCOL)
        report("Reading the query", result.rows_read, None)


def _unspool(spool: IO[bytes]) -> Iterable[list[Member]]:
    while True:
        try:
            members: list[Member] = pickle.load(spool)
        except EOFError:
            return
        yield from batched(members, WRITE_BATCH)


def mark_left(conn: Connection, list_id: int, seen: set[str], *, now: datetime) -> int:
    """Mark current members whose email is not in ``seen`` as no longer current; return how many."""
    left = array("q")
    rows = conn.execute(
        select(_members.c.id, _members.c.email).where(
            _members.c.list_id == list_id, _members.c.is_current.is_(True)
        ),
        execution_options={"yield_per": 5000},
    )
    for member_id, email in rows:
        if email not in seen:
            left.append(member_id)
    rows.close()
    for ids in batched(left, WRITE_BATCH):
        conn.execute(update(_members).where(_members.c.id.in_(ids)).values(is_current=False, updated_at=now))
    return len(left)
