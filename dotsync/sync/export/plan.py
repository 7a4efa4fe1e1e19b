"""Export steps 1-3 planned in the database (dotsync -> Dotmailer): state sync, schedule, removal candidates.

Everything here is local: it reads the list and what was last sent, marks members whose book status says
they opted out, and schedules the rows whose content differs from what was last sent. Nothing here calls
Dotmailer, so a dry run is this plan in a transaction that is rolled back, and the real run is the same plan
committed — the numbers of both are the same by construction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Table,
    and_,
    bindparam,
    func,
    literal_column,
    not_,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session, aliased

from dotsync.db.bulk import ANALYZE_AFTER_ROWS, PreparedMany, constant, insert_for, refresh_statistics
from dotsync.db.models import (
    ACTIVE_CONTACT_STATUSES,
    OP_ADD,
    OP_NEW,
    OP_UPDATE,
    SUBSCRIBED,
    UNSUBSCRIBED,
    AddressBook,
    AddressBookContact,
    Contact,
    DataField,
    FieldMapping,
    ListMember,
)
from dotsync.sync.context import SyncContext
from dotsync.sync.export.payload import FieldMap, RowFormatter, parse_list_fields

PAGE = 5000
SAMPLE = 5


@dataclass
class Plan:
    """What one book's export will do. Samples are a few emails of each kind, for the dry run."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    bad_values: int = 0
    state_changes: int = 0
    removals: list[tuple[int, int]] = field(default_factory=list)  # (address_book_contact.id, origin id)
    managed: int = 0
    samples: dict[str, list[str]] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)

    def sample(self, kind: str, email: str) -> None:
        bucket = self.samples.setdefault(kind, [])
        if len(bucket) < SAMPLE:
            bucket.append(email)

    def as_dict(self) -> dict[str, Any]:
        return {
            "add": self.added,
            "update": self.updated,
            "remove": len(self.removals),
            "state_changes": self.state_changes,
            "unchanged": self.unchanged,
            "bad_values": self.bad_values,
            "managed": self.managed,
            "samples": self.samples,
            "skipped_reasons": self.reasons,
        }


def load_mappings(session: Session, book: AddressBook) -> list[FieldMap]:
    types = dict(
        session.execute(
            select(DataField.name, DataField.type).where(DataField.integration_id == book.integration_id)
        ).all()
    )
    rows = session.scalars(
        select(FieldMapping).where(FieldMapping.address_book_id == book.id).order_by(FieldMapping.id)
    ).all()
    return [
        FieldMap(m.data_field_name, parse_list_fields(m.list_fields), types.get(m.data_field_name, "String"))
        for m in rows
    ]


def sync_state_back(ctx: SyncContext, session: Session, book: AddressBook, plan: Plan) -> None:
    """Step 2: members whose contact is not Subscribed/SoftBounced in the book (or is suppressed in the
    account) become ``unsubscribed``, with the Dotmailer status as the reason."""
    list_id = book.marketing_list_id
    abc = aliased(AddressBookContact)
    book_status = (
        select(abc.status)
        .where(abc.address_book_id == book.id, abc.contact_id == Contact.id)
        .scalar_subquery()
    )
    rows = session.execute(
        select(ListMember.id, ListMember.email, Contact.status, book_status.label("book_status"))
        .join(Contact, and_(Contact.integration_id == ctx.integration_id, Contact.email == ListMember.email))
        .where(
            ListMember.list_id == list_id,
            ListMember.state == SUBSCRIBED,
            or_(
                and_(book_status.is_not(None), book_status.not_in(ACTIVE_CONTACT_STATUSES)),
                and_(Contact.status.is_not(None), Contact.status.not_in(ACTIVE_CONTACT_STATUSES)),
            ),
        )
    ).all()
    for member_id, email, account_status, in_book in rows:
        if in_book is not None and in_book not in ACTIVE_CONTACT_STATUSES:
            reason = f"{in_book} in Dotmailer address book {book.name!r}"
        else:
            reason = f"{account_status} in the Dotmailer account"
        session.execute(
            update(ListMember)
            .where(ListMember.id == member_id)
            .values(state=UNSUBSCRIBED, state_reason=reason, state_changed_at=ctx.now)
        )
        plan.state_changes += 1
        plan.sample("state_change", email)


def schedule_changes(ctx: SyncContext, session: Session, book: AddressBook, plan: Plan) -> None:
    """Step 3: schedule every subscribed, current member whose content differs from what was last sent.

    Keyset pages of members joined to their contact and book membership; per page, the rows are formatted
    and hashed in one pass, new contacts are inserted and the book rows upserted with two executemany
    statements compiled once (see :class:`Scheduler`).
    """
    list_id = book.marketing_list_id
    formatter = RowFormatter(load_mappings(session, book))
    conn = session.connection()
    # Rows scheduled earlier whose member is no longer a subscribed, current member are unscheduled.
    gone = select(ListMember.id).where(
        ListMember.list_id == list_id, or_(ListMember.state != SUBSCRIBED, not_(ListMember.is_current))
    )
    conn.execute(
        update(AddressBookContact)
        .where(
            AddressBookContact.address_book_id == book.id,
            AddressBookContact.scheduled,
            AddressBookContact.list_member_id.in_(gone),
        )
        .values(scheduled=False)
    )
    scheduler = Scheduler(conn, ctx.integration_id, book.id, ctx.now)
    signature = plan_signature(formatter.mappings)
    # With the same mappings as last time, a member whose fields and row are as last planned cannot have
    # changed what Dotmailer should hold: such rows are skipped in SQL, without reading or hashing them.
    only_changed = (
        or_(
            AddressBookContact.id.is_(None),
            AddressBookContact.member_hash.is_(None),
            AddressBookContact.member_hash != ListMember.fields_hash,
            AddressBookContact.sent_hash.is_(None),
            AddressBookContact.scheduled,
        )
        if book.plan_signature == signature
        else true()
    )
    book.plan_signature = signature
    page = (
        select(
            ListMember.id,
            ListMember.email,
            ListMember.fields,
            ListMember.fields_hash,
            AddressBookContact.member_hash,
            Contact.id.label("contact_id"),
            Contact.origin_id,
            AddressBookContact.id.label("abc_id"),
            AddressBookContact.sent_hash,
            AddressBookContact.scheduled,
            AddressBookContact.scheduled_hash,
        )
        .outerjoin(
            Contact, and_(Contact.integration_id == ctx.integration_id, Contact.email == ListMember.email)
        )
        .outerjoin(
            AddressBookContact,
            and_(AddressBookContact.address_book_id == book.id, AddressBookContact.contact_id == Contact.id),
        )
        .where(
            ListMember.list_id == list_id,
            ListMember.state == SUBSCRIBED,
            ListMember.is_current,
            ListMember.id > bindparam("last_id"),
            only_changed,
        )
        .order_by(ListMember.id)
        .limit(PAGE)
    )
    last_id = written = 0
    analyze_at = ANALYZE_AFTER_ROWS // 2
    values_of, digest_of = formatter.values, formatter.digest
    while True:
        ctx.progress(f"prepare {book.name}", plan.added + plan.updated + plan.unchanged)
        rows = conn.execute(page, {"last_id": last_id}).all()
        if not rows:
            break
        last_id = rows[-1][0]
        new_contacts: list[dict[str, Any]] = []
        to_schedule: list[dict[str, Any]] = []
        remember: list[dict[str, Any]] = []
        for (
            member_id,
            email,
            fields,
            member_hash,
            planned_hash,
            contact_id,
            origin_id,
            abc_id,
            sent_hash,
            scheduled,
            scheduled_hash,
        ) in rows:
            values, bad = values_of(fields or {})
            plan.bad_values += bad
            digest = digest_of(email, values)
            if abc_id is not None and (
                (not scheduled and sent_hash == digest) or (scheduled and scheduled_hash == digest)
            ):
                plan.unchanged += 1
                if planned_hash != member_hash:
                    remember.append({"b_id": abc_id, "b_hash": member_hash})
                continue
            if contact_id is None or origin_id is None:
                operation = OP_NEW
            elif abc_id is None:
                operation = OP_ADD
            else:
                operation = OP_UPDATE
            if abc_id is None or sent_hash is None:
                plan.added += 1
                plan.sample("add", email)
            else:
                plan.updated += 1
                plan.sample("update", email)
            if contact_id is None:
                new_contacts.append({"email": email})
            to_schedule.append(
                {
                    "email": email,
                    "list_member_id": member_id,
                    "operation": operation,
                    "scheduled_hash": digest,
                    "member_hash": member_hash,
                }
            )
        if remember:
            conn.execute(
                update(AddressBookContact)
                .where(AddressBookContact.id == bindparam("b_id"))
                .values(member_hash=bindparam("b_hash")),
                remember,
            )
        scheduler.insert_contacts(new_contacts)
        scheduler.schedule(to_schedule)
        written += len(to_schedule)
        if written >= analyze_at:
            # The tables this query joins grow as it pages: without fresh statistics PostgreSQL keeps a plan
            # made for empty tables (a scan of contact per member). Refreshed each time they have doubled.
            refresh_statistics(conn, "contact", "address_book_contact")
            analyze_at = 2 * written


def plan_signature(mappings: Sequence[FieldMap]) -> str:
    """A hash of what decides a row's content besides the member: the mappings and the data-field types."""
    text = "|".join(f"{m.data_field}={'+'.join(m.list_fields)}:{m.type}" for m in mappings)
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


class Scheduler:
    """The two writes of step 3, compiled once per book: new contacts, and the upsert of the book's rows.

    Per row only the email, member id, operation and hash are bound; the integration, book, flags and times
    are the same on every row and rendered into the SQL. The contact id is looked up by email inside the
    statement (the contact was just inserted when it was new), so no id round trip is needed.
    """

    def __init__(self, conn: Connection, integration_id: int, book_id: int, now: datetime) -> None:
        contacts = cast(Table, Contact.__table__)
        book_rows = cast(Table, AddressBookContact.__table__)
        c, b = contacts.c, book_rows.c
        stmt = insert_for(conn, contacts).values(
            integration_id=constant(conn, c.integration_id, integration_id),
            email=bindparam("email"),
            data_fields=literal_column("'{}'"),  # an empty JSON object on both dialects
            created_at=constant(conn, c.created_at, now),
            updated_at=constant(conn, c.updated_at, now),
        )
        self.insert_contacts = PreparedMany(
            conn, stmt.on_conflict_do_nothing(index_elements=["integration_id", "email"])
        )
        contact_id = (
            select(c.id)
            .where(
                c.integration_id == constant(conn, c.integration_id, integration_id),
                c.email == bindparam("email"),
            )
            .scalar_subquery()
        )
        upsert_stmt = insert_for(conn, book_rows).values(
            address_book_id=constant(conn, b.address_book_id, book_id),
            contact_id=contact_id,
            list_member_id=bindparam("list_member_id"),
            scheduled=constant(conn, b.scheduled, True),
            operation=bindparam("operation"),
            scheduled_hash=bindparam("scheduled_hash"),
            member_hash=bindparam("member_hash"),
            added_by_dotsync=constant(conn, b.added_by_dotsync, True),
            export_failures=constant(conn, b.export_failures, 0),
            created_at=constant(conn, b.created_at, now),
            updated_at=constant(conn, b.updated_at, now),
        )
        # On an existing row keep added_by_dotsync as it was: a contact found in the book before dotsync
        # exported it was not added by dotsync, and dotsync must never remove it.
        self.schedule = PreparedMany(
            conn,
            upsert_stmt.on_conflict_do_update(
                index_elements=["address_book_id", "contact_id"],
                set_={
                    name: upsert_stmt.excluded[name]
                    for name in (
                        "list_member_id",
                        "scheduled",
                        "operation",
                        "scheduled_hash",
                        "member_hash",
                        "updated_at",
                    )
                },
            ),
        )


def removal_candidates(ctx: SyncContext, session: Session, book: AddressBook, plan: Plan) -> None:
    """Step 1's candidates: contacts dotsync added for this list, still active in the book, whose member is
    no longer a subscribed, current member. Contacts dotsync did not add are never candidates."""
    rows = session.execute(
        select(AddressBookContact.id, Contact.origin_id, ListMember.email)
        .join(Contact, Contact.id == AddressBookContact.contact_id)
        .join(ListMember, ListMember.id == AddressBookContact.list_member_id)
        .where(
            AddressBookContact.address_book_id == book.id,
            AddressBookContact.added_by_dotsync,
            AddressBookContact.status.in_(ACTIVE_CONTACT_STATUSES),
            Contact.origin_id.is_not(None),
            ListMember.list_id == book.marketing_list_id,
            or_(ListMember.state != SUBSCRIBED, not_(ListMember.is_current)),
        )
        .order_by(Contact.origin_id)
    ).all()
    for abc_id, origin_id, email in rows:
        plan.removals.append((abc_id, int(origin_id or 0)))
        plan.sample("remove", email)
    plan.managed = int(
        session.scalar(
            select(func.count())
            .select_from(AddressBookContact)
            .where(
                AddressBookContact.address_book_id == book.id,
                AddressBookContact.added_by_dotsync,
                or_(
                    AddressBookContact.status.in_(ACTIVE_CONTACT_STATUSES),
                    and_(AddressBookContact.status.is_(None), AddressBookContact.sent_hash.is_not(None)),
                ),
            )
        )
        or 0
    )


def count_skipped(session: Session, book: AddressBook, plan: Plan) -> None:
    """Why members are not exported: per state and reason (for the dry run and the failures view)."""
    rows = session.execute(
        select(ListMember.state, func.count())
        .where(ListMember.list_id == book.marketing_list_id, ListMember.state != SUBSCRIBED)
        .group_by(ListMember.state)
    ).all()
    plan.reasons = {state: int(n or 0) for state, n in rows}
