"""Import (Dotmailer -> dotsync): two-way data fields and contacts new to a connected book (issue 15).

Called by the contact import (:mod:`dotsync.sync.importer.contact`) for the contacts of a batch that did not
take its unchanged fast path, inside the same transaction:

- **Two-way field.** A contact whose two-way data field holds a value other than the member's (formatted as the
  export formats it) changes the member's list field — only when the member is exactly what dotsync last sent
  (its content hash equals the book row's ``sent_hash``, nothing scheduled, its last upload settled). The book
  row's ``sent_hash`` then moves to what Dotmailer now holds, so the next plan does not send the old value back.
  A member that changed locally since its last export wins: nothing changes here, the plan exports it, and a
  run note counts the conflict (when Dotmailer's value changed since the previous read too).
- **New contacts.** With ``import_new_contacts``, a reachable contact of the book whose email is not a member of
  the list (in any state) becomes a subscribed member with every single-field mapped data field copied; its
  book row is marked as added by dotsync and as sent (what Dotmailer holds), so the list owns it from then on
  and the export does not upload it again.

Every member written here is stamped with the import's change value (:func:`dotsync.lists.changes.
pending_change`), so the next export plan looks at it. Nothing here calls Dotmailer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, bindparam, insert, select, update
from sqlalchemy.orm import Session

from dotsync.db.models import (
    REACHABLE_CONTACT_STATUSES,
    AddressBook,
    ContactExport,
    FieldMapping,
    ImportStatus,
    ListKind,
    MarketingList,
    MemberState,
)
from dotsync.lists.email import is_valid_email
from dotsync.lists.hashing import fields_hash
from dotsync.sync.context import SyncContext
from dotsync.sync.importer.common import BOOK_CONTACTS, CONTACTS, MEMBERS, ContactRecord
from dotsync.sync.payload import RowFormatter, format_value, load_mappings

SAMPLE = 5
_MISSING = object()


@dataclass(frozen=True)
class TwoWayField:
    index: int  # position in the formatter's values
    data_field: str
    list_field: str
    type: str


def member_value(formatted: str) -> str | None:
    """The list-field value for a data-field value already formatted as the export sends it.

    The export's own form, so formatting it again gives the same text and the content hash matches: numbers as
    plain decimals, dates ``YYYY-MM-DDTHH:MM:SS``, booleans ``Yes``/``No``; an empty value is no value."""
    return formatted if formatted != "" else None


@dataclass
class Incoming:
    """One book's two-way fields and new-contact import, loaded on the first batch that needs them."""

    book_id: int
    list_id: int
    full_read: bool
    formatter: RowFormatter
    two_way: tuple[TwoWayField, ...]
    import_new: bool
    counts: Counter[str] = field(default_factory=Counter)
    conflicts: list[str] = field(default_factory=list)
    bad_values: list[str] = field(default_factory=list)
    _imported: dict[str, str] = field(default_factory=dict)  # email -> sent hash of its new book row

    # --- before the batch's contacts are written -------------------------------------------------------

    def previous(self, conn: Connection, integration_id: int, records: list[ContactRecord]) -> dict[str, Any]:
        """The data fields stored for the batch's contacts before this read (to tell a Dotmailer change)."""
        if not self.two_way or not records:
            return {}
        return {
            row.email: row.data_fields or {}
            for row in conn.execute(
                select(CONTACTS.c.email, CONTACTS.c.data_fields).where(
                    CONTACTS.c.integration_id == integration_id,
                    CONTACTS.c.email.in_([r.email for r in records]),
                )
            )
        }

    # --- after the contacts are resolved, before the book rows are written ------------------------------

    def apply(
        self,
        conn: Connection,
        records: list[ContactRecord],
        ids: Mapping[str, int],
        members: dict[str, int],
        previous: Mapping[str, Any],
        stamp: int,
        now: datetime,
    ) -> None:
        """Take two-way values into existing members, then create members for new contacts (``members`` gets
        their ids, so the caller links their book rows)."""
        by_email = {r.email: r for r in records if r.email in ids}
        if self.two_way:
            self._take_two_way(conn, by_email, members, previous, stamp, now)
        if self.import_new:
            self._import_new(conn, by_email, members, stamp, now)

    def _take_two_way(
        self,
        conn: Connection,
        records: Mapping[str, ContactRecord],
        members: Mapping[str, int],
        previous: Mapping[str, Any],
        stamp: int,
        now: datetime,
    ) -> None:
        wanted = [
            members[email]
            for email, record in records.items()
            if email in members and any(f.data_field in _fields_of(record) for f in self.two_way)
        ]
        if not wanted:
            return
        rows = conn.execute(
            select(
                MEMBERS.c.id,
                MEMBERS.c.email,
                MEMBERS.c.fields,
                MEMBERS.c.change_seq,
                BOOK_CONTACTS.c.sent_hash,
                BOOK_CONTACTS.c.scheduled,
                BOOK_CONTACTS.c.import_id,
            )
            .join(
                BOOK_CONTACTS,
                and_(
                    BOOK_CONTACTS.c.list_member_id == MEMBERS.c.id,
                    BOOK_CONTACTS.c.address_book_id == self.book_id,
                ),
            )
            .where(MEMBERS.c.id.in_(wanted), BOOK_CONTACTS.c.sent_hash.is_not(None))
        ).all()
        if not rows:
            return
        unsettled = self._unsettled_imports(conn)
        member_updates: list[dict[str, Any]] = []
        hash_updates: list[dict[str, Any]] = []
        for member_id, email, fields, seq, sent_hash, scheduled, import_id in rows:
            record = records.get(email)
            if record is None:
                continue
            data = _fields_of(record)
            fields = dict(fields or {})
            values, _bad = self.formatter.values(fields)
            changed: list[tuple[TwoWayField, str]] = []
            for two_way in self.two_way:
                raw = data.get(two_way.data_field, _MISSING)
                if raw is _MISSING:
                    continue
                try:
                    formatted = format_value(raw, two_way.type)
                except ValueError:
                    self.counts["two_way_bad_values"] += 1
                    if len(self.bad_values) < SAMPLE:
                        self.bad_values.append(f"{email} ({two_way.data_field}={raw!r})")
                    continue
                if formatted != values[two_way.index]:
                    changed.append((two_way, formatted))
            if not changed:
                continue
            as_sent = (
                not scheduled
                and (import_id is None or import_id not in unsettled)
                and self.formatter.digest(email, values) == sent_hash
            )
            if not as_sent:
                # The member changed locally since its last export (or is being sent): the local change wins.
                before = previous.get(email)
                if before is None or any(
                    before.get(f.data_field, _MISSING) != data[f.data_field] for f, _v in changed
                ):
                    self.counts["two_way_conflicts"] += 1
                    if len(self.conflicts) < SAMPLE:
                        self.conflicts.append(f"{email} ({', '.join(f.data_field for f, _v in changed)})")
                continue
            held = list(values)
            for two_way, formatted in changed:
                fields[two_way.list_field] = member_value(formatted)
                held[two_way.index] = formatted
            digest = fields_hash(fields)
            member_updates.append({"m_id": member_id, "m_seq": seq, "m_fields": fields, "m_hash": digest})
            # What Dotmailer holds now: what was sent, with the two-way values it reported.
            hash_updates.append(
                {"r_member": member_id, "r_fields": digest, "r_hash": self.formatter.digest(email, held)}
            )
            self.counts["two_way_updates"] += 1
        if member_updates:
            # Only if the member did not change since it was read (a local write beside the import takes a
            # later change value: it wins), and the record of what was sent moves only for members written.
            conn.execute(
                update(MEMBERS)
                .where(MEMBERS.c.id == bindparam("m_id"), MEMBERS.c.change_seq == bindparam("m_seq"))
                .values(
                    fields=bindparam("m_fields", type_=MEMBERS.c.fields.type),
                    fields_hash=bindparam("m_hash"),
                    change_seq=stamp,
                    updated_at=now,
                ),
                member_updates,
            )
            conn.execute(
                update(BOOK_CONTACTS)
                .where(
                    BOOK_CONTACTS.c.address_book_id == self.book_id,
                    BOOK_CONTACTS.c.list_member_id == bindparam("r_member"),
                    select(MEMBERS.c.id)
                    .where(
                        MEMBERS.c.id == bindparam("r_member"), MEMBERS.c.fields_hash == bindparam("r_fields")
                    )
                    .exists(),
                )
                .values(sent_hash=bindparam("r_hash"), updated_at=now),
                hash_updates,
            )

    def _unsettled_imports(self, conn: Connection) -> set[str]:
        exports = cast(Table, ContactExport.__table__)
        return set(
            conn.execute(
                select(exports.c.import_id).where(
                    exports.c.address_book_id == self.book_id,
                    (exports.c.status == ImportStatus.NOT_FINISHED)
                    | ((exports.c.status == ImportStatus.FINISHED) & ~exports.c.faults_processed),
                )
            ).scalars()
        )

    def _import_new(
        self,
        conn: Connection,
        records: Mapping[str, ContactRecord],
        members: dict[str, int],
        stamp: int,
        now: datetime,
    ) -> None:
        new = [
            record
            for email, record in records.items()
            if email not in members
            and record.values.get("status") in REACHABLE_CONTACT_STATUSES
            and is_valid_email(email)
        ]
        if not new:
            return
        rows = []
        for record in new:
            data = _fields_of(record)
            fields: dict[str, Any] = {}
            held: list[str] = []
            for mapping in self.formatter.mappings:
                try:
                    formatted = format_value(data.get(mapping.data_field), mapping.type)
                except ValueError:
                    formatted = ""
                    self.counts["two_way_bad_values"] += 1
                held.append(formatted)
                if len(mapping.list_fields) == 1 and formatted != "":
                    fields[mapping.list_fields[0]] = member_value(formatted)
            self._imported[record.email] = self.formatter.digest(record.email, held)
            rows.append(
                {
                    "list_id": self.list_id,
                    "email": record.email,
                    "fields": fields,
                    "fields_hash": fields_hash(fields),
                    "state": MemberState.SUBSCRIBED.value,  # bound per row
                    "state_reason": "joined the address book in Dotmailer",
                    "state_changed_at": now,
                    "is_current": True,
                    "change_seq": stamp,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        conn.execute(insert(MEMBERS), rows)
        for row in conn.execute(
            select(MEMBERS.c.id, MEMBERS.c.email).where(
                MEMBERS.c.list_id == self.list_id, MEMBERS.c.email.in_([r["email"] for r in rows])
            )
        ):
            members[row.email] = row.id
        self.counts["new_members"] += len(rows)

    # --- after the book rows are written ---------------------------------------------------------------

    def finish(self, conn: Connection, ids: Mapping[str, int], now: datetime) -> None:
        """Book rows of the contacts imported as members: the list owns them (dotsync removes them when they
        leave the list) and they hold what was read, so the export does not upload them again."""
        if not self._imported:
            return
        conn.execute(
            update(BOOK_CONTACTS)
            .where(
                BOOK_CONTACTS.c.address_book_id == self.book_id,
                BOOK_CONTACTS.c.contact_id == bindparam("r_contact"),
            )
            .values(
                added_by_dotsync=True,
                scheduled=False,
                scheduled_row=None,
                sent_hash=bindparam("r_hash"),
                sent_at=now,
                updated_at=now,
            ),
            [{"r_contact": ids[email], "r_hash": digest} for email, digest in self._imported.items()],
        )
        self._imported.clear()


def _fields_of(record: ContactRecord) -> Mapping[str, Any]:
    data = record.values.get("data_fields")
    return data if isinstance(data, Mapping) else {}


def for_book(session: Session, book: AddressBook) -> Incoming | None:
    """The book's :class:`Incoming`, or None when it has neither two-way fields nor the new-contact import
    (then the contact import does exactly what it did before)."""
    if book.marketing_list_id is None:
        return None
    kind = session.scalar(select(MarketingList.kind).where(MarketingList.id == book.marketing_list_id))
    if kind != ListKind.STATIC:  # a query list's members come from its source: nothing flows into it
        return None
    mappings = session.scalars(
        select(FieldMapping).where(FieldMapping.address_book_id == book.id).order_by(FieldMapping.id)
    ).all()
    if not book.import_new_contacts and not any(m.two_way for m in mappings):
        return None
    formatter = RowFormatter(load_mappings(session, book))
    two_way = tuple(
        TwoWayField(i, fm.data_field, fm.list_fields[0], fm.type)
        for i, (fm, m) in enumerate(zip(formatter.mappings, mappings, strict=True))
        if m.two_way and len(fm.list_fields) == 1
    )
    return Incoming(
        book_id=book.id,
        list_id=book.marketing_list_id,
        full_read=book.last_contact_import_at is None,
        formatter=formatter,
        two_way=two_way,
        import_new=bool(book.import_new_contacts),
    )


def report(ctx: SyncContext, book_name: str, incoming: Incoming, counts: dict[str, int] | None) -> None:
    """Add the read's figures to the connector's counts; conflicts and unreadable values go to the run notes."""
    if counts is not None:
        for key, value in incoming.counts.items():
            counts[key] = counts.get(key, 0) + value
    conflicts = incoming.counts.get("two_way_conflicts", 0)
    if conflicts:
        ctx.note(
            f"book {book_name!r}: {conflicts} member(s) changed both in dotsync and in Dotmailer since the last "
            f"export; the local values were kept and will be exported (e.g. {', '.join(incoming.conflicts)})"
        )
    bad = incoming.counts.get("two_way_bad_values", 0)
    if bad:
        ctx.note(
            f"book {book_name!r}: {bad} data-field value(s) from Dotmailer could not be read as their type and "
            f"were not copied (e.g. {', '.join(incoming.bad_values)})"
        )
