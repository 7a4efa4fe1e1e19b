"""Bulk member work on the ``list_member`` table: batched member upserts, CSV loads, marking members who left.

Everything here goes through SQLAlchemy Core on the caller's connection (no ORM objects per member) in
batches, and never changes a member's state: a member who unsubscribed or was removed stays so whatever a
re-import or a refresh brings. Rows are streamed in and written batch by batch; what stays in memory is the set
of emails already seen (to collapse duplicates, first occurrence wins), about 100 bytes per distinct email.

Refreshing a query-backed list (which reads its source first) is in :mod:`dotsync.lists.source`.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from typing import cast as type_cast

from sqlalchemy import (
    JSON,
    ColumnElement,
    Connection,
    Table,
    Text,
    bindparam,
    cast,
    func,
    null,
    select,
    update,
)

from dotsync.db.bulk import (
    ANALYZE_AFTER_ROWS,
    PreparedMany,
    batched,
    constant,
    insert_for,
    refresh_statistics,
)
from dotsync.db.models import ListMember, MemberState
from dotsync.errors import BadInputError
from dotsync.lists.changes import next_change
from dotsync.lists.csvfile import CsvFile
from dotsync.lists.email import normalise_email
from dotsync.lists.hashing import canonical_json, hash_canonical
from dotsync.lists.rejects import DUPLICATE, Reject, RejectLog
from dotsync.progress import Progress, no_progress

WRITE_BATCH = 2000

# (email, fields as canonical JSON text, fields_hash): one member ready to be written.
Member = tuple[str, str, str]

_members = type_cast(Table, ListMember.__table__)


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
        text = canonical_json(fields)
        return email, text, hash_canonical(text)


def member_upsert(conn: Connection, now: datetime, seq: int = 0, *, keep_existing: bool = False) -> Any:
    """The INSERT ... ON CONFLICT (list_id, email) DO UPDATE for members, for executemany.

    Per row it binds only ``list_id``, ``email``, ``fields`` (canonical JSON text) and ``fields_hash``; the
    constant columns (state, times) are rendered once. This is :func:`dotsync.db.bulk.upsert` specialised for
    the member hot path: binding and type-processing three datetimes and a JSON document per row cost more
    than everything else in a large import. On a conflict only the content columns change: state, reason and
    their time are the member's own. Every row written is stamped with the change value ``seq``.
    ``keep_existing``: DO NOTHING on a conflict instead (SQLite and PostgreSQL; the first row of an email wins).
    """
    # On MySQL/MariaDB: ON DUPLICATE KEY UPDATE, and (list_id, email) is the table's only unique key.
    stmt = insert_for(conn, _members)
    # JSON text: SQLite stores it as text, MySQL parses it itself, PostgreSQL is told to.
    fields: ColumnElement[Any] = bindparam("fields", type_=Text())
    if conn.dialect.name == "postgresql":
        fields = cast(fields, JSON)
    c = _members.c
    stmt = stmt.values(
        list_id=bindparam("list_id"),
        email=bindparam("email"),
        fields=fields,
        fields_hash=bindparam("fields_hash"),
        state=constant(conn, c.state, MemberState.SUBSCRIBED),
        state_reason=null(),
        state_changed_at=constant(conn, c.state_changed_at, now),
        is_current=constant(conn, c.is_current, True),
        change_seq=constant(conn, c.change_seq, seq),
        created_at=constant(conn, c.created_at, now),
        updated_at=constant(conn, c.updated_at, now),
    )
    if keep_existing:
        return stmt.on_conflict_do_nothing(index_elements=["list_id", "email"])
    return stmt.on_conflict_do_update(
        index_elements=["list_id", "email"],
        set_={
            name: stmt.excluded[name]
            for name in ("fields", "fields_hash", "is_current", "change_seq", "updated_at")
        },
    )


class MemberWriter:
    """Writes batches of members into one list: new ones subscribed, known ones get new fields, state kept.

    A member whose fields hash is unchanged (and who is current) is not written at all, so ``updated_at``
    moves only when something changed. A list that was empty when the writer started needs no look-up of
    existing members (the preparer already collapsed duplicates). The writer takes the list's next change
    value (:func:`~dotsync.lists.changes.next_change`) before its first write and stamps every member it
    writes with it, so the export plans exactly those members.
    """

    def __init__(self, conn: Connection, list_id: int, *, now: datetime, result: LoadResult) -> None:
        self.conn = conn
        self.list_id = list_id
        self.result = result
        self.came_back = 0
        self.seq = next_change(conn, list_id)
        # Compiled once; rows then go straight to the driver's executemany. Every bound value is a plain str or
        # int, so SQLAlchemy's per-row parameter processing would only cost time.
        self._upsert = PreparedMany(conn, member_upsert(conn, now, self.seq))
        self._had_members = (
            conn.execute(select(_members.c.id).where(_members.c.list_id == list_id).limit(1)).first()
            is not None
        )

    def _existing(self, emails: list[str]) -> dict[str, tuple[str, bool]]:
        if not self._had_members:
            return {}
        rows = self.conn.execute(
            select(_members.c.email, _members.c.fields_hash, _members.c.is_current).where(
                _members.c.list_id == self.list_id, _members.c.email.in_(emails)
            )
        )
        return {email: (old_hash, current) for email, old_hash, current in rows}

    def write(self, batch: Sequence[Member]) -> None:
        if not batch:
            return
        existing = self._existing([m[0] for m in batch])
        list_id = self.list_id
        rows: list[dict[str, Any]] = []
        for email, text, digest in batch:
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
            rows.append({"list_id": list_id, "email": email, "fields": text, "fields_hash": digest})
        self._upsert(rows)


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
    BadInputError, and so does a file none of whose rows has a valid email (most likely the wrong column); the
    caller's transaction then undoes whatever was written.
    """
    report = progress or no_progress
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
        if result.new + result.changed >= ANALYZE_AFTER_ROWS:
            refresh_statistics(conn, "list_member")
        report(label, result.rows_read, result.rows_read)
        if result.rows_read and not preparer.seen:
            # Nothing usable at all: most likely the wrong column, so refuse rather than load an empty list.
            first = f" (line {rejects.sample[0].line}: {rejects.sample[0].reason})" if rejects.sample else ""
            raise BadInputError(
                f"{csv_file.path}: none of its {result.rows_read} rows has a valid email in column "
                f"{email_column!r}{first}; if another column holds the emails, name it with --email-column"
            )
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


def mark_left(conn: Connection, list_id: int, seen: set[str], *, now: datetime, seq: int) -> int:
    """Mark current members whose email is not in ``seen`` as no longer current, stamped with the change
    value ``seq``; return how many."""
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
        conn.execute(
            update(_members)
            .where(_members.c.id.in_(ids))
            .values(is_current=False, change_seq=seq, updated_at=now)
        )
    return len(left)
