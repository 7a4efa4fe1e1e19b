"""Export steps 1-3 planned in the database (dotsync -> Dotmailer): state sync, schedule, removal candidates.

Everything here is local: :func:`plan_book` refreshes a query list, marks members whose book status says they
opted out, schedules the rows whose content differs from what was last sent (their CSV line formatted once,
here, and stored with the row for the upload), and finds the contacts to remove. It returns an immutable
:class:`Plan`. Nothing here calls Dotmailer, so a dry run is this plan in a transaction that is rolled back,
and the real run is the same plan committed — the numbers of both are the same by construction.

The plan reads only what changed since the book's last applied plan (``address_book.planned_seq``): members
stamped above it, and members whose book row the import or the settle step stamped above it (see
:mod:`dotsync.lists.changes`). The first plan of a connection, a mapping change and ``--resync`` plan every
member.
"""

from __future__ import annotations

import csv
import hashlib
import json
import json.scanner
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    Text,
    and_,
    bindparam,
    func,
    insert,
    literal_column,
    not_,
    or_,
    select,
    true,
    type_coerce,
    update,
)
from sqlalchemy.orm import Session, aliased

from dotsync.db.bulk import (
    ANALYZE_AFTER_ROWS,
    PreparedMany,
    batched,
    constant,
    refresh_statistics,
)
from dotsync.db.models import (
    ACTIVE_CONTACT_STATUSES,
    REACHABLE_CONTACT_STATUSES,
    AddressBook,
    AddressBookContact,
    Contact,
    ListKind,
    ListMember,
    MarketingList,
    MemberState,
    Operation,
)
from dotsync.errors import DotsyncError
from dotsync.lists.changes import next_change
from dotsync.sync.context import SyncContext
from dotsync.sync.export.outbox import NewRow, Outbox
from dotsync.sync.memory import fewer_collections
from dotsync.sync.payload import FieldMap, RowFormatter, load_mappings

PAGE = 5000
# Bound once per scheduled row: plain str, which the drivers bind faster than a StrEnum member.
OP_NEW, OP_ADD, OP_UPDATE = Operation.NEW.value, Operation.ADD.value, Operation.UPDATE.value
SAMPLE = 5
# The mass-change guard ignores changes of this many rows or fewer (see guard.py); below it the plan does not
# need to count the contacts dotsync manages in the book (a count over the whole book).
GUARD_FLOOR = 10


@dataclass(frozen=True)
class Plan:
    """What one book's export will do, decided before anything is sent. Samples are a few emails of each kind,
    for the dry run. ``managed`` is None when no change is above the guard's floor and it was not counted; outside
    a dry run it may be counted only as far as the guard needs (:func:`guard_count_limit`)."""

    book_id: int = 0
    list_name: str = ""
    formatter: RowFormatter = field(default_factory=lambda: RowFormatter(()))
    outbox: Outbox = field(default_factory=Outbox)  # members new to the book, sent by the upload
    signature: str = ""
    high_seq: int = 0  # the list's change value this plan covers; stored on the book once applied
    full: bool = True  # every member was planned (first plan, mapping change, --resync)
    read: int = 0  # members looked at
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    bad_values: int = 0
    state_changes: int = 0
    removals: tuple[tuple[int, int], ...] = ()  # (address_book_contact.id, Dotmailer contact id)
    managed: int | None = None
    samples: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    reasons: Mapping[str, int] = field(default_factory=dict)

    @property
    def headers(self) -> list[str]:
        return self.formatter.headers

    def as_dict(self) -> dict[str, Any]:
        return {
            "add": self.added,
            "update": self.updated,
            "remove": len(self.removals),
            "state_changes": self.state_changes,
            "unchanged": self.unchanged,
            "bad_values": self.bad_values,
            "managed": self.managed,
            "samples": {kind: list(emails) for kind, emails in self.samples.items()},
            "skipped_reasons": dict(self.reasons),
        }


class _Tally:
    """The counts a plan accumulates while it reads (private: the plan that leaves :func:`plan_book` is frozen)."""

    def __init__(self) -> None:
        self.read = self.added = self.updated = self.unchanged = self.bad_values = self.state_changes = 0
        self.removals: dict[int, int] = {}  # book row id -> Dotmailer contact id
        self.samples: dict[str, list[str]] = {}

    def sample(self, kind: str, email: str) -> None:
        bucket = self.samples.setdefault(kind, [])
        if len(bucket) < SAMPLE:
            bucket.append(email)


def plan_signature(list_id: int, mappings: Sequence[FieldMap]) -> str:
    """A hash of what decides a row's content besides the member: the list, the mappings, the field types."""
    text = f"{list_id};" + "|".join(f"{m.data_field}={'+'.join(m.list_fields)}:{m.type}" for m in mappings)
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def plan_book(
    ctx: SyncContext, session: Session, book: AddressBook, marketing_list: MarketingList, *, dry_run: bool
) -> Plan:
    """Steps 1-3 for one book, in the caller's transaction: refresh (query lists), state sync back, schedule,
    removal candidates. The caller commits (or rolls back for a dry run or a held guard)."""
    if marketing_list.kind == ListKind.QUERY:
        _refresh_query_list(ctx, session, marketing_list)
    conn = session.connection()
    formatter = RowFormatter(load_mappings(session, book))
    signature = plan_signature(marketing_list.id, formatter.mappings)
    # After the refresh (same transaction): this waits for every concurrent writer that took a smaller value.
    high = next_change(conn, marketing_list.id)
    full = book.planned_seq is None or book.plan_signature != signature
    tally = _Tally()
    outbox = Outbox()
    steps = _Steps(ctx, conn, book, formatter, high, tally, outbox)
    with fewer_collections():
        if full:
            steps.run(None)
        else:
            since = int(book.planned_seq or 0)
            for chunk in batched(_changed_members(conn, book, since), PAGE):
                steps.run(chunk)
            steps.run_book_rows(since)
    moved = len(tally.removals) > GUARD_FLOOR or tally.updated > GUARD_FLOOR
    count_up_to = None if dry_run else guard_count_limit(book, len(tally.removals), tally.updated)
    return Plan(
        book_id=book.id,
        list_name=marketing_list.name,
        formatter=formatter,
        outbox=outbox,
        signature=signature,
        high_seq=high,
        full=full,
        read=tally.read,
        added=tally.added,
        updated=tally.updated,
        unchanged=tally.unchanged,
        bad_values=tally.bad_values,
        state_changes=tally.state_changes,
        removals=tuple(sorted(tally.removals.items(), key=lambda r: r[1])),
        managed=_managed(conn, book.id, count_up_to) if moved or dry_run else None,
        samples=MappingProxyType({kind: tuple(emails) for kind, emails in tally.samples.items()}),
        reasons=MappingProxyType(_skipped_reasons(conn, marketing_list.id) if dry_run else {}),
    )


def applied(conn: Connection, plan: Plan) -> None:
    """Record that ``plan`` was applied (removals and uploads done or left scheduled): the next plan starts
    after it. Until then a crash only means the same changes are planned again (planning is idempotent)."""
    books = cast(Table, AddressBook.__table__)
    conn.execute(
        update(books)
        .where(books.c.id == plan.book_id)
        .values(planned_seq=plan.high_seq, plan_signature=plan.signature)
    )


def _refresh_query_list(ctx: SyncContext, session: Session, marketing_list: MarketingList) -> None:
    from dotsync.lists.source import refresh_query_list

    if ctx.box is None:
        raise DotsyncError("cannot read a query list's source without the secret key")
    refresh_query_list(session.connection(), marketing_list, ctx.box, now=ctx.now)


def _changed_members(conn: Connection, book: AddressBook, since: int) -> Iterator[int]:
    """Ids of the list's members changed after ``since``, in ascending order (an index range read)."""
    ids = array(
        "q",
        conn.execute(
            select(ListMember.id).where(
                ListMember.list_id == book.marketing_list_id, ListMember.change_seq > since
            )
        ).scalars(),
    )
    return iter(sorted(ids))


def guard_count_limit(book: AddressBook, removals: int, updated: int) -> int | None:
    """How far the mass-change guard (guard.py) needs the count of managed contacts: it holds an export only
    while that count is below removals / remove-percent or updates / update-percent, so a count that reaches
    the larger of the two, plus one, decides as well as the whole count would, and a 1% change of a big book
    reads 2-5% of its rows instead of all of them. None (count all) where the guard holds whatever the count
    says, so that its message gives the whole count: above the removal maximum, or at a 0% threshold."""
    bound = 0.0
    if removals > GUARD_FLOOR:
        if removals > book.guard_remove_max or book.guard_remove_percent <= 0:
            return None
        bound = removals / (book.guard_remove_percent / 100.0)
    if updated > GUARD_FLOOR:
        if book.guard_update_percent <= 0:
            return None
        bound = max(bound, updated / (book.guard_update_percent / 100.0))
    return int(bound) + 1


def _managed(conn: Connection, book_id: int, up_to: int | None = None) -> int:
    """Contacts dotsync manages in the book: added by it and still active there (or sent, not yet read back);
    counted up to ``up_to`` rows at most when given (see :func:`guard_count_limit`)."""
    rows: Select[Any] = (
        select(literal_column("1"))
        .select_from(AddressBookContact)
        .where(
            AddressBookContact.address_book_id == book_id,
            AddressBookContact.added_by_dotsync,
            or_(
                AddressBookContact.status.in_(ACTIVE_CONTACT_STATUSES),
                and_(AddressBookContact.status.is_(None), AddressBookContact.sent_hash.is_not(None)),
            ),
        )
    )
    if up_to is not None:
        rows = rows.limit(up_to)
    return int(conn.execute(select(func.count()).select_from(rows.subquery())).scalar_one() or 0)


def _skipped_reasons(conn: Connection, list_id: int) -> dict[str, int]:
    """Why members are not exported: per state (for the dry run)."""
    rows = conn.execute(
        select(ListMember.state, func.count())
        .where(ListMember.list_id == list_id, ListMember.state != MemberState.SUBSCRIBED)
        .group_by(ListMember.state)
    ).all()
    return {state: int(n or 0) for state, n in rows}


class _Steps:
    """Steps 2, 3 and 1 over one scope of members (all of the list, or a chunk of changed member ids)."""

    def __init__(
        self,
        ctx: SyncContext,
        conn: Connection,
        book: AddressBook,
        formatter: RowFormatter,
        high: int,
        tally: _Tally,
        outbox: Outbox,
    ) -> None:
        self.outbox = outbox
        self.ctx, self.conn, self.book, self.formatter, self.high, self.tally = (
            ctx,
            conn,
            book,
            formatter,
            high,
            tally,
        )
        self.list_id = cast(int, book.marketing_list_id)
        self.scheduler = Scheduler(conn, ctx.integration_id, self.list_id, ctx.now)
        self.analyze_at = ANALYZE_AFTER_ROWS // 2
        self.written = 0

    def run(self, ids: Sequence[int] | None) -> None:
        """Every step for the members ``ids`` of the list (changed members), or for all of them (None).

        Each step's SQL is written so the database starts from those ids (their primary key, or the book rows'
        member index), never from the list or the book as a whole.
        """
        members = ListMember.list_id == self.list_id if ids is None else ListMember.id.in_(ids)
        self.sync_state_back(members)
        self.unschedule_gone(members)
        self.schedule(true() if ids is None else ListMember.id.in_(ids))
        self.removal_candidates(
            and_(AddressBookContact.address_book_id == self.book.id, ListMember.list_id == self.list_id)
            if ids is None
            else AddressBookContact.list_member_id.in_(ids)
        )

    def run_book_rows(self, since: int) -> None:
        """The steps a book row's new status can matter to, for the rows the import or settle stamped after
        ``since``: state sync back (an opt-out) and removal (a row now active whose member left). Scheduling
        depends only on members, which are stamped themselves. Both are SQL that returns only what applies:
        after a read-back stamped a whole book, this reads index entries, not members."""
        stamped = and_(
            AddressBookContact.address_book_id == self.book.id,
            AddressBookContact.change_seq > since,
            AddressBookContact.change_seq > literal_column("0"),  # literally: the partial index's condition
        )
        opted_out = select(AddressBookContact.list_member_id).where(
            stamped, AddressBookContact.status.not_in(REACHABLE_CONTACT_STATUSES)
        )
        # The list too: a row may still link to a member of a list the book was connected to before.
        self.sync_state_back(and_(ListMember.list_id == self.list_id, ListMember.id.in_(opted_out)))
        self.removal_candidates(and_(stamped, ListMember.list_id == self.list_id))

    def sync_state_back(self, members: ColumnElement[bool]) -> None:
        """Step 2: subscribed ``members`` whose contact is not Subscribed/SoftBounced in the book (or is
        suppressed in the account) become ``unsubscribed``, with the Dotmailer status as the reason: one
        executemany."""
        book, ctx = self.book, self.ctx
        abc = aliased(AddressBookContact)
        rows = self.conn.execute(
            select(ListMember.id, ListMember.email, Contact.status, abc.status)
            .join(
                Contact, and_(Contact.integration_id == ctx.integration_id, Contact.email == ListMember.email)
            )
            .outerjoin(abc, and_(abc.address_book_id == book.id, abc.contact_id == Contact.id))
            .where(
                members,
                ListMember.state == MemberState.SUBSCRIBED,
                or_(
                    # NULL (not in the book yet) is not an opt-out, nor a pending double opt-in.
                    abc.status.not_in(REACHABLE_CONTACT_STATUSES),
                    Contact.status.not_in(REACHABLE_CONTACT_STATUSES),
                ),
            )
        ).all()
        if not rows:
            return
        changes: list[dict[str, Any]] = []
        for member_id, email, account_status, in_book in rows:
            if in_book is not None and in_book not in REACHABLE_CONTACT_STATUSES:
                reason = f"{in_book} in Dotmailer address book {book.name!r}"
            else:
                reason = f"{account_status} in the Dotmailer account"
            changes.append({"m_id": member_id, "m_reason": reason})
            self.tally.state_changes += 1
            self.tally.sample("state_change", email)
        table = cast(Table, ListMember.__table__)
        self.conn.execute(
            update(table)
            .where(table.c.id == bindparam("m_id"))
            .values(
                state=MemberState.UNSUBSCRIBED.value,  # bound per row (executemany)
                state_reason=bindparam("m_reason"),
                state_changed_at=ctx.now,
                change_seq=self.high,
            ),
            changes,
        )

    def unschedule_gone(self, members: ColumnElement[bool]) -> None:
        """Rows scheduled earlier whose member is no longer a subscribed, current member are unscheduled."""
        gone = select(ListMember.id).where(
            members, or_(ListMember.state != MemberState.SUBSCRIBED, not_(ListMember.is_current))
        )
        self.conn.execute(
            update(AddressBookContact)
            .where(
                AddressBookContact.address_book_id == self.book.id,
                AddressBookContact.scheduled,
                AddressBookContact.list_member_id.in_(gone),
            )
            .values(scheduled=False, scheduled_row=None)
        )

    def schedule(self, scope: ColumnElement[bool]) -> None:
        """Step 3: schedule every subscribed, current member in scope whose content differs from what was last
        sent (or scheduled). Keyset pages of members joined to their contact and book row; per page the rows
        are formatted, hashed and turned into their CSV line in one pass, new contacts are inserted and the
        book rows upserted with two executemany statements compiled once (see :class:`Scheduler`)."""
        ctx, book, tally, conn = self.ctx, self.book, self.tally, self.conn
        page = (
            select(
                ListMember.id,
                ListMember.email,
                _raw_fields(conn),
                Contact.id.label("contact_id"),
                Contact.origin_id,
                AddressBookContact.id.label("abc_id"),
                AddressBookContact.sent_hash,
                AddressBookContact.scheduled,
                AddressBookContact.scheduled_hash,
                AddressBookContact.scheduled_row.is_not(None).label("has_row"),
            )
            .outerjoin(
                Contact, and_(Contact.integration_id == ctx.integration_id, Contact.email == ListMember.email)
            )
            .outerjoin(
                AddressBookContact,
                and_(
                    AddressBookContact.address_book_id == book.id, AddressBookContact.contact_id == Contact.id
                ),
            )
            .where(
                ListMember.list_id == self.list_id,
                ListMember.state == MemberState.SUBSCRIBED,
                ListMember.is_current,
                ListMember.id > bindparam("last_id"),
                scope,
                # A removal still pending (not confirmed gone): the member waits, or the late deletion would
                # take its upload out again (see export/pending_removals.py). No book row: NULL, planned.
                AddressBookContact.removal_requested_at.is_(None),
            )
            .order_by(ListMember.id)
            .limit(PAGE)
        )
        self.scheduler.insert_missing_contacts(scope)
        values_of, digest_of, decode = self.formatter.values, self.formatter.digest, _decode_fields
        sink = _Lines()
        line_of: Callable[[Sequence[str]], Any] = csv.writer(sink, lineterminator="\r\n").writerow
        last_id = 0
        while True:
            ctx.progress(f"prepare {book.name}", tally.added + tally.updated + tally.unchanged)
            result = conn.execute(page, {"last_id": last_id})
            # The driver's own tuples: building SQLAlchemy rows cost more than reading them (the loop below only
            # tests the flags for truth, so 0/1 and booleans read the same).
            rows = result.cursor.fetchall()
            result.close()
            if not rows:
                break
            last_id = rows[-1][0]
            tally.read += len(rows)
            new_rows: list[NewRow] = []
            updates: list[dict[str, Any]] = []
            for (
                member_id,
                email,
                fields,
                contact_id,
                origin_id,
                abc_id,
                sent_hash,
                scheduled,
                scheduled_hash,
                has_row,
            ) in rows:
                values, bad = values_of(decode(fields))
                tally.bad_values += bad
                digest = digest_of(email, values)
                if abc_id is not None and (
                    (not scheduled and sent_hash == digest)
                    or (scheduled and scheduled_hash == digest and has_row)
                ):
                    tally.unchanged += 1
                    continue
                if contact_id is None or origin_id is None:
                    operation = OP_NEW
                elif abc_id is None:
                    operation = OP_ADD
                else:
                    operation = OP_UPDATE
                if abc_id is None or sent_hash is None:
                    tally.added += 1
                    if tally.added <= SAMPLE:
                        tally.sample("add", email)
                else:
                    tally.updated += 1
                    if tally.updated <= SAMPLE:
                        tally.sample("update", email)
                line_of([email, *values])
                if abc_id is None:
                    new_rows.append((contact_id, member_id, operation, digest, sink.take()))
                else:
                    updates.append(
                        {
                            "row_id": abc_id,
                            "list_member_id": member_id,
                            "operation": operation,
                            "scheduled_hash": digest,
                            "scheduled_row": sink.take(),
                        }
                    )
            self.outbox.add(new_rows)
            self.scheduler.update_rows(updates)
            self.written += len(updates)
            if self.written >= self.analyze_at:
                # The tables this query joins grow as it pages: without fresh statistics PostgreSQL keeps a plan
                # made for empty tables (a scan of contact per member). Refreshed each time they have doubled.
                refresh_statistics(conn, "contact", "address_book_contact")
                self.analyze_at = 2 * self.written

    def removal_candidates(self, book_rows: ColumnElement[bool]) -> None:
        """Step 1's candidates among ``book_rows``: contacts dotsync added for this list, still active in the
        book, whose member is no longer a subscribed, current member. Contacts dotsync did not add are never
        candidates. The book is checked on the rows found (``book_rows`` may select by member only, so the
        database can start from the members' index)."""
        rows = self.conn.execute(
            select(
                AddressBookContact.id, AddressBookContact.address_book_id, Contact.origin_id, ListMember.email
            )
            .join(Contact, Contact.id == AddressBookContact.contact_id)
            .join(ListMember, ListMember.id == AddressBookContact.list_member_id)
            .where(
                book_rows,
                AddressBookContact.added_by_dotsync,
                AddressBookContact.status.in_(ACTIVE_CONTACT_STATUSES),
                AddressBookContact.removal_requested_at.is_(None),  # pending: sent already
                Contact.origin_id.is_not(None),
                or_(ListMember.state != MemberState.SUBSCRIBED, not_(ListMember.is_current)),
            )
        ).all()
        for abc_id, book_id, origin_id, email in rows:
            if book_id == self.book.id and abc_id not in self.tally.removals:
                self.tally.removals[abc_id] = int(origin_id or 0)
                self.tally.sample("remove", email)


def _raw_fields(conn: Connection) -> Any:
    """Member fields as the driver returns them: JSON text on SQLite (decoded by :func:`_decode_fields`), the
    driver's own decoding elsewhere. SQLAlchemy's JSON result processing costs more than the decoding itself."""
    if conn.dialect.name == "sqlite":
        return type_coerce(ListMember.fields, Text()).label("fields")
    return ListMember.fields


_scan_json = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]  # the C scanner of json.loads


def _decode_fields(value: Any) -> Mapping[str, Any]:
    """Member fields from :func:`_raw_fields`; the canonical JSON dotsync stores goes straight to the scanner."""
    if isinstance(value, str):
        try:
            decoded = _scan_json(value, 0)[0]
        except StopIteration:  # not the canonical form (leading whitespace): the full parser
            decoded = json.loads(value)
        return decoded if isinstance(decoded, dict) else {}
    return value or {}


class _Lines:
    """A file-like sink for one :func:`csv.writer` reused for every row: each ``writerow`` is one line."""

    def __init__(self) -> None:
        self._line = ""

    def write(self, text: str) -> None:
        self._line = text

    def take(self) -> str:
        return self._line


class Scheduler:
    """The writes of step 3, compiled once per book.

    New contacts are inserted by one INSERT ... SELECT per scope (no row travels through Python). Existing book
    rows are updated by id with one executemany statement in which per row only the row id, member id,
    operation, hash and CSV line are bound; the flags and time are the same on every row and rendered into the
    SQL. Rows new to the book go to the :class:`~dotsync.sync.export.outbox.Outbox`. Contacts and book rows are written only under the integration's run
    lock, so what the page read is what the writes find.
    """

    def __init__(self, conn: Connection, integration_id: int, list_id: int, now: datetime) -> None:
        self.conn, self.integration_id, self.list_id, self.now = conn, integration_id, list_id, now
        book_rows = cast(Table, AddressBookContact.__table__)
        b = book_rows.c
        # An existing row keeps added_by_dotsync as it was: a contact found in the book before dotsync
        # exported it was not added by dotsync, and dotsync must never remove it.
        self.update_rows = PreparedMany(
            conn,
            update(book_rows)
            .where(b.id == bindparam("row_id"))
            .values(
                list_member_id=bindparam("list_member_id"),
                scheduled=constant(conn, b.scheduled, True),
                operation=bindparam("operation"),
                scheduled_hash=bindparam("scheduled_hash"),
                scheduled_row=bindparam("scheduled_row"),
                updated_at=constant(conn, b.updated_at, now),
            ),
        )

    def insert_missing_contacts(self, scope: ColumnElement[bool]) -> None:
        """A contact (no Dotmailer id yet) for every subscribed, current member in scope that has none."""
        contacts = cast(Table, Contact.__table__)
        c = contacts.c
        conn = self.conn
        known = (
            select(c.id).where(c.integration_id == self.integration_id, c.email == ListMember.email).exists()
        )
        rows = select(
            constant(conn, c.integration_id, self.integration_id),
            ListMember.email,
            literal_column("'{}'"),  # an empty JSON object on every dialect
            constant(conn, c.created_at, self.now),
            constant(conn, c.updated_at, self.now),
        ).where(
            ListMember.list_id == self.list_id,
            ListMember.state == MemberState.SUBSCRIBED,
            ListMember.is_current,
            scope,
            ~known,
        )
        conn.execute(
            insert(contacts).from_select(
                ["integration_id", "email", "data_fields", "created_at", "updated_at"], rows
            )
        )
