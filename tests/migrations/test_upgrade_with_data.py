"""Upgrading a database that holds data: rows written under 0001 survive every later migration, and the columns
added since hold sensible defaults. On SQLite, and on PostgreSQL or MariaDB when the suite is pointed at one."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
)
from sqlalchemy.orm import Session

from dotsync.db.engine import current_revision, head_revision, make_engine, upgrade
from dotsync.db.models import (
    AddressBook,
    AddressBookContact,
    Contact,
    ContactExport,
    Integration,
    ListMember,
    MarketingList,
)

WHEN = datetime(2026, 3, 2, 9, 30, 15, 123456)  # naive UTC, as 0001's DateTime columns hold it

# The 0001 tables as the code of that time wrote them (only the columns inserted below).
_old = MetaData()
_integration = Table(
    "integration", _old, Column("id", Integer, primary_key=True), Column("name", String(255)),
    Column("username", String(255)), Column("password_encrypted", Text), Column("api_url", String(255)),
    Column("api_endpoint", String(255)), Column("is_active", Boolean), Column("created_at", DateTime),
    Column("updated_at", DateTime),
)  # fmt: skip
_list = Table(
    "marketing_list", _old, Column("id", Integer, primary_key=True), Column("name", String(255)),
    Column("kind", String(16)), Column("email_column", String(255)), Column("field_columns", JSON),
    Column("created_at", DateTime), Column("updated_at", DateTime),
)  # fmt: skip
_member = Table(
    "list_member", _old, Column("id", Integer, primary_key=True), Column("list_id", Integer),
    Column("email", String(320)), Column("fields", JSON), Column("fields_hash", String(32)),
    Column("state", String(16)), Column("state_reason", Text), Column("is_current", Boolean),
    Column("created_at", DateTime), Column("updated_at", DateTime),
)  # fmt: skip
_book = Table(
    "address_book", _old, Column("id", Integer, primary_key=True), Column("integration_id", Integer),
    Column("origin_id", BigInteger), Column("name", String(255)), Column("marketing_list_id", Integer),
    Column("connected_at", DateTime), Column("sync_status", String(64)), Column("sync_error", Text),
    Column("plan_signature", String(32)), Column("guard_remove_percent", Float),
    Column("guard_remove_max", Integer), Column("guard_update_percent", Float), Column("created_at", DateTime),
    Column("updated_at", DateTime),
)  # fmt: skip
_contact = Table(
    "contact", _old, Column("id", Integer, primary_key=True), Column("integration_id", Integer),
    Column("origin_id", BigInteger), Column("email", String(320)), Column("status", String(32)),
    Column("data_fields", JSON), Column("created_at", DateTime), Column("updated_at", DateTime),
)  # fmt: skip
_book_contact = Table(
    "address_book_contact", _old, Column("id", Integer, primary_key=True), Column("address_book_id", Integer),
    Column("contact_id", Integer), Column("status", String(32)), Column("list_member_id", Integer),
    Column("added_by_dotsync", Boolean), Column("scheduled", Boolean), Column("operation", String(8)),
    Column("import_id", String(100)), Column("sent_hash", String(32)), Column("sent_at", DateTime),
    Column("member_hash", String(32)), Column("export_failures", Integer), Column("created_at", DateTime),
    Column("updated_at", DateTime),
)  # fmt: skip
_export = Table(
    "contact_export", _old, Column("id", Integer, primary_key=True), Column("import_id", String(100)),
    Column("integration_id", Integer), Column("address_book_id", Integer), Column("status", String(64)),
    Column("attempts", Integer), Column("failed_polls", Integer), Column("faults_processed", Boolean),
    Column("row_count", Integer), Column("byte_count", Integer), Column("finished_at", DateTime),
    Column("error", Text), Column("created_at", DateTime), Column("updated_at", DateTime),
)  # fmt: skip

EMAILS = ["ann@example.com", "bob@example.com", "cid@example.com"]


def _fill_0001(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine, "0001")
    stamp = {"created_at": WHEN, "updated_at": WHEN}
    with engine.begin() as conn:
        conn.execute(
            insert(_integration).values(
                id=1, name="main", username="apiuser@apiconnector.com", password_encrypted="gAAAA-token",
                api_url="https://r1-api.dotmailer.com", api_endpoint="https://r1-api.dotmailer.com",
                is_active=True, **stamp,
            )
        )  # fmt: skip
        conn.execute(
            insert(_list).values(
                id=1, name="customers", kind="static", email_column="email",
                field_columns=["first_name", "last_name"], **stamp,
            )
        )  # fmt: skip
        conn.execute(
            insert(_member),
            [
                {
                    "id": i + 1, "list_id": 1, "email": email, "fields": {"first_name": f"N{i}", "last_name": "Ünïcode"},
                    "fields_hash": f"{i:032x}", "state": "unsubscribed" if i == 2 else "subscribed",
                    "state_reason": "Unsubscribed" if i == 2 else None, "is_current": True, **stamp,
                }
                for i, email in enumerate(EMAILS)
            ],
        )  # fmt: skip
        conn.execute(
            insert(_book).values(
                id=1, integration_id=1, origin_id=4_000_000_001, name="Customers", marketing_list_id=1,
                connected_at=WHEN, sync_status="RejectedByWatchdog", sync_error="import imp-1: Rejected",
                plan_signature="a" * 32, guard_remove_percent=25.0, guard_remove_max=500,
                guard_update_percent=60.0, **stamp,
            )
        )  # fmt: skip
        conn.execute(
            insert(_contact),
            [
                {"id": i + 1, "integration_id": 1, "origin_id": 9_000_000_000 + i, "email": email,
                 "status": "Subscribed", "data_fields": {"FIRSTNAME": f"N{i}"}, **stamp}
                for i, email in enumerate(EMAILS)
            ],
        )  # fmt: skip
        conn.execute(
            insert(_book_contact),
            [
                {"id": i + 1, "address_book_id": 1, "contact_id": i + 1, "status": "Subscribed",
                 "list_member_id": i + 1, "added_by_dotsync": True, "scheduled": i == 1,
                 "operation": "update" if i == 1 else None, "import_id": "imp-1", "sent_hash": f"{i:032x}",
                 "sent_at": WHEN, "member_hash": "m" * 32, "export_failures": i, **stamp}
                for i in range(len(EMAILS))
            ],
        )  # fmt: skip
        conn.execute(
            insert(_export).values(
                id=1, import_id="imp-1", integration_id=1, address_book_id=1, status="Finished", attempts=3,
                failed_polls=0, faults_processed=True, row_count=3, byte_count=120, finished_at=WHEN,
                error=None, **stamp,
            )
        )  # fmt: skip
    engine.dispose()


def test_data_written_under_0001_survives_the_upgrade_to_head(empty_database_url: str) -> None:
    _fill_0001(empty_database_url)
    engine = make_engine(empty_database_url)
    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)
    aware = WHEN.replace(tzinfo=UTC)
    with Session(engine) as session:
        integration = session.scalars(select(Integration)).one()
        assert (integration.name, integration.password_encrypted, integration.is_active) == (
            "main", "gAAAA-token", True,
        )  # fmt: skip
        assert integration.rate_limit_scheme is None
        assert integration.rate_limited_until is None
        assert integration.created_at == aware

        marketing_list = session.scalars(select(MarketingList)).one()
        assert marketing_list.field_columns == ["first_name", "last_name"]
        assert marketing_list.change_seq == 0

        members = session.scalars(select(ListMember).order_by(ListMember.email)).all()
        assert [m.email for m in members] == EMAILS
        assert members[0].fields == {"first_name": "N0", "last_name": "Ünïcode"}
        assert [m.state for m in members] == ["subscribed", "subscribed", "unsubscribed"]
        assert {m.change_seq for m in members} == {0}

        book = session.scalars(select(AddressBook)).one()
        assert (book.origin_id, book.name, book.marketing_list_id) == (4_000_000_001, "Customers", 1)
        assert book.connected_at == aware
        assert (book.guard_remove_percent, book.guard_remove_max, book.guard_update_percent) == (
            25.0,
            500,
            60.0,
        )
        assert (book.sync_status, book.sync_error) == ("RejectedByWatchdog", "import imp-1: Rejected")
        assert book.plan_signature is None  # 0002: every book plans in full once under change tracking
        assert book.planned_seq is None
        assert book.removal_note is None
        assert book.import_new_contacts is False
        assert book.sync_error_import_id is None  # an old error is not claimed by any import

        contacts = session.scalars(select(Contact).order_by(Contact.email)).all()
        assert [(c.email, c.origin_id) for c in contacts] == [
            (e, 9_000_000_000 + i) for i, e in enumerate(EMAILS)
        ]
        assert contacts[1].data_fields == {"FIRSTNAME": "N1"}

        rows = session.scalars(select(AddressBookContact).order_by(AddressBookContact.id)).all()
        assert [(r.contact_id, r.list_member_id, r.sent_hash) for r in rows] == [
            (i + 1, i + 1, f"{i:032x}") for i in range(3)
        ]
        assert [r.scheduled for r in rows] == [False, True, False]
        assert [r.export_failures for r in rows] == [0, 1, 2]
        assert {r.change_seq for r in rows} == {0}
        assert {r.scheduled_row for r in rows} == {None}
        assert {r.removal_requested_at for r in rows} == {None}
        assert {r.removal_attempts for r in rows} == {0}
        assert rows[0].sent_at == aware

        export = session.scalars(select(ContactExport)).one()
        assert (export.import_id, export.status, export.faults_processed, export.row_count) == (
            "imp-1", "Finished", True, 3,
        )  # fmt: skip
        assert export.finished_at == aware
    engine.dispose()
