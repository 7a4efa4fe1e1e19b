"""Import (Dotmailer -> dotsync): helpers shared by the connectors (books to read, contact matching, members).

Everything here works in bulk with SQLAlchemy Core on the session's connection (so inside the connector's
transaction): lookups are batched ``IN`` queries keyed by email or Dotmailer id, writes are executemany
statements or dialect-aware upserts. No per-row ORM queries.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import Connection, Table, bindparam, select, update

from dotsync.db.bulk import upsert
from dotsync.db.models import AddressBookContact, Contact, ListMember, MemberState
from dotsync.lists.changes import pending_change
from dotsync.sync.watermarks import OVERLAP

if TYPE_CHECKING:
    from dotsync.sync.context import SyncContext

log = logging.getLogger("dotsync.sync.import")

# "Since the beginning": what a feed is asked for the first time (Oro used a date in 1971 too).
FULL_HISTORY_SINCE = datetime(1971, 1, 1, tzinfo=UTC)
# Rows handled per database round trip (one API page of contacts is 1000 rows).
BATCH = 1000
_NOTHING = object()
T = TypeVar("T")

CONTACTS = cast(Table, Contact.__table__)
BOOK_CONTACTS = cast(Table, AddressBookContact.__table__)
MEMBERS = cast(Table, ListMember.__table__)


def since_with_overlap(mark: datetime | None) -> datetime | None:
    """A stored start time turned into a "since" date: minus the overlap, so nothing at the edge is lost."""
    return None if mark is None else mark - OVERLAP


def read_started(ctx: SyncContext, rows: Iterable[T]) -> tuple[datetime, Iterator[T]]:
    """Start a paged read: Dotmailer's clock at its first answer (``Date``; the run's clock when the server
    sends none), and the rows. That time is the read's watermark: a change the first answer missed was made
    after the server computed it, so within seconds of that time, which the overlap covers."""
    iterator = iter(rows)
    first = next(iterator, _NOTHING)
    started = ctx.server_now()
    if first is _NOTHING:
        return started, iter(())
    return started, chain((cast(T, first),), iterator)


def event_key(kind: str, when: datetime | None, detail: str | None = None, occurrence: int = 0) -> str:
    """A deterministic id for a marketing event: re-reading the same API row gives the same key."""
    stamp = when.astimezone(UTC).isoformat() if when is not None else ""
    return hashlib.md5(f"{kind}|{stamp}|{detail or ''}|{occurrence}".encode()).hexdigest()


# --- contacts ----------------------------------------------------------------------------------------------


@dataclass
class ContactRecord:
    """What an API row says about a contact: ``values`` are written to existing and new rows alike,
    ``new_values`` only when the contact is created."""

    email: str
    origin_id: int | None
    values: dict[str, Any] = field(default_factory=dict)
    new_values: dict[str, Any] = field(default_factory=dict)


def _rows_by(
    conn: Connection, column: Any, integration_id: int, keys: Sequence[Any], columns: Sequence[str]
) -> dict[Any, Any]:
    """The contacts whose ``column`` is one of ``keys``, with only ``columns`` (what is compared)."""
    if not keys:
        return {}
    rows = conn.execute(
        select(*(CONTACTS.c[name] for name in columns)).where(
            CONTACTS.c.integration_id == integration_id, column.in_(keys)
        )
    ).all()
    return {getattr(row, column.key): row for row in rows}


def _update_many(conn: Connection, table: Any, rows: list[dict[str, Any]], key: str = "id") -> None:
    """``UPDATE table SET <cols> WHERE key = ...`` for each row, grouped by the set of columns written."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[tuple(sorted(c for c in row if c != key))].append(row)
    for columns, group in groups.items():
        if not columns:
            continue
        stmt = (
            update(table)
            .where(table.c[key] == bindparam(f"k_{key}"))
            .values({c: bindparam(f"v_{c}") for c in columns})
        )
        conn.execute(stmt, [{f"k_{key}": r[key], **{f"v_{c}": r[c] for c in columns}} for r in group])


def resolve_contacts(
    conn: Connection, integration_id: int, records: Iterable[ContactRecord], now: datetime
) -> dict[str, int]:
    """Create or update the contacts of a batch; return ``{email: contact id}``.

    A record is matched by email first, then by Dotmailer id. A match by id under another email is an email
    change made in Dotmailer: the stored email follows. When the email matches one row and the Dotmailer id
    another (stale) row, the stale row gives the id up, so the unique (integration, origin id) key holds.
    """
    by_email_record: dict[str, ContactRecord] = {}
    for record in records:
        if record.email:
            by_email_record[record.email] = record
    # One Dotmailer id per batch: if two rows claim it, the last one wins.
    by_origin_record = {r.origin_id: r for r in by_email_record.values() if r.origin_id is not None}
    unique = [
        r for r in by_email_record.values() if r.origin_id is None or by_origin_record[r.origin_id] is r
    ]
    if not unique:
        return {}
    compared = sorted({name for r in unique for name in r.values} - {"id", "email", "origin_id"})
    columns = ["id", "email", "origin_id", *compared]
    by_email = _rows_by(conn, CONTACTS.c.email, integration_id, [r.email for r in unique], columns)
    # A row found by email that already holds the record's Dotmailer id is the only row with that id (the
    # key is unique): only the other records need the look-up by id (so an unchanged re-read skips it).
    by_origin = _rows_by(
        conn,
        CONTACTS.c.origin_id,
        integration_id,
        [
            r.origin_id
            for r in unique
            if r.origin_id is not None
            and ((row := by_email.get(r.email)) is None or row.origin_id != r.origin_id)
        ],
        columns,
    )

    # Rows that another record claims by Dotmailer id under a new email: that email change wins (the id is
    # the contact's identity), and a record matching such a row only by its old email is a new contact.
    renamed = {
        row.id: record.email
        for record in unique
        if record.origin_id is not None
        and (row := by_origin.get(record.origin_id)) is not None
        and record.email not in by_email
    }
    stale: set[int] = set()
    renames: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    inserts: list[dict[str, Any]] = []
    result: dict[str, int] = {}
    for record in unique:
        row_e = by_email.get(record.email)
        if row_e is not None and renamed.get(row_e.id, record.email) != record.email:
            row_e = None
        row_o = by_origin.get(record.origin_id) if record.origin_id is not None else None
        values = dict(record.values)
        if record.origin_id is not None:
            values["origin_id"] = record.origin_id
        if row_e is not None:
            target_id = row_e.id
            if row_o is not None and row_o.id != row_e.id:
                stale.add(row_o.id)
        elif row_o is not None:
            target_id = row_o.id
            log.info(
                "contact %s changed its email in Dotmailer: %s -> %s",
                record.origin_id,
                row_o.email,
                record.email,
            )
            renames.append({"id": row_o.id, "email": record.email})
        else:
            inserts.append(
                {
                    "integration_id": integration_id,
                    "email": record.email,
                    "origin_id": record.origin_id,
                    "status": None,
                    "opt_in_type": None,
                    "email_type": None,
                    "data_fields": {},
                    "unsubscribed_at": None,
                    **record.new_values,
                    **values,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            continue
        result[record.email] = target_id
        current = row_e if row_e is not None else row_o
        if row_o is not None and row_o.id != target_id:
            current = None
        if current is not None and current.email == record.email and _same(current, values):
            continue  # re-read, unchanged: no write (an overlap re-read of a big book stays cheap)
        updates.append({"id": target_id, **values, "updated_at": now})

    if stale:
        conn.execute(update(CONTACTS).where(CONTACTS.c.id.in_(stale)).values(origin_id=None, updated_at=now))
    if renames:
        _update_many(conn, CONTACTS, renames)
    _update_many(conn, CONTACTS, updates)
    if inserts:
        upsert(conn, CONTACTS, _uniform(inserts), key=["integration_id", "email"], update=["updated_at"])
        result.update(
            {
                row.email: row.id
                for row in conn.execute(
                    select(CONTACTS.c.id, CONTACTS.c.email).where(
                        CONTACTS.c.integration_id == integration_id,
                        CONTACTS.c.email.in_([r["email"] for r in inserts]),
                    )
                )
            }
        )
    return result


def _same(row: Any, values: Mapping[str, Any]) -> bool:
    """True when a stored contact row already holds every value of an API record."""
    return all(getattr(row, column) == value for column, value in values.items())


def unique_by(rows: Iterable[dict[str, Any]], key: Sequence[str]) -> list[dict[str, Any]]:
    """One row per key (the last wins): PostgreSQL refuses an upsert that touches a row twice."""
    return list({tuple(row[k] for k in key): row for row in rows}.values())


def _uniform(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give every row the same keys (executemany needs them); missing values are None."""
    keys: list[str] = []
    for row in rows:
        keys.extend(k for k in row if k not in keys)
    return [{k: row.get(k) for k in keys} for row in rows]


# --- list members ------------------------------------------------------------------------------------------


def member_ids(
    conn: Connection, list_ids: Iterable[int], emails: Iterable[str]
) -> dict[str, list[tuple[int, int]]]:
    """``{email: [(list id, member id), ...]}`` for members of the given lists with one of the emails."""
    lists = sorted(set(list_ids))
    wanted = sorted({e for e in emails if e})
    found: dict[str, list[tuple[int, int]]] = defaultdict(list)
    if not lists or not wanted:
        return found
    for row in conn.execute(
        select(MEMBERS.c.id, MEMBERS.c.list_id, MEMBERS.c.email).where(
            MEMBERS.c.list_id.in_(lists), MEMBERS.c.email.in_(wanted)
        )
    ):
        found[row.email].append((row.list_id, row.id))
    return found


def unsubscribe_members(
    conn: Connection, list_id: int, changes: Mapping[str, tuple[str, datetime]], now: datetime
) -> int:
    """Put subscribed members (by email) of a list in state ``unsubscribed``; returns how many changed.

    ``changes`` maps email -> (reason, when). Members already unsubscribed or removed keep their earlier
    reason and time.
    """
    if not changes:
        return 0
    stmt = (
        update(MEMBERS)
        .where(
            MEMBERS.c.list_id == list_id,
            MEMBERS.c.email == bindparam("k_email"),
            MEMBERS.c.state == MemberState.SUBSCRIBED,
        )
        .values(
            state=MemberState.UNSUBSCRIBED.value,  # bound per row (executemany)
            state_reason=bindparam("v_reason"),
            state_changed_at=bindparam("v_when"),
            change_seq=pending_change(conn, list_id),  # the next export plan looks at it
            updated_at=now,
        )
    )
    # Count first: executemany row counts are not reliable across drivers.
    to_change = list(
        conn.execute(
            select(MEMBERS.c.email).where(
                MEMBERS.c.list_id == list_id,
                MEMBERS.c.email.in_(list(changes)),
                MEMBERS.c.state == MemberState.SUBSCRIBED,
            )
        ).scalars()
    )
    if not to_change:
        return 0
    conn.execute(
        stmt, [{"k_email": e, "v_reason": changes[e][0], "v_when": changes[e][1]} for e in to_change]
    )
    return len(to_change)
