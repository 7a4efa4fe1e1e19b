"""The migrated schema behaves the same on SQLite, PostgreSQL and MySQL/MariaDB (issue 17): times keep their
microseconds and come back as UTC, names and emails are unique case- and accent-sensitively, JSON and
floats round-trip, and an over-long value is an error rather than silently cut."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from dotsync.db.models import AddressBook, Contact, Integration, MarketingList, Run
from dotsync.db.types import utcnow

WHEN = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=UTC)


def _integration(conn) -> int:
    now = utcnow()
    return conn.execute(
        insert(Integration).values(
            name="acme",
            username="u",
            password_encrypted="x",
            api_url="https://r1-api.dotdigital.com",
            is_active=True,
            created_at=now,
            updated_at=now,
        )
    ).inserted_primary_key[0]


def test_times_keep_microseconds_and_come_back_utc(engine: Engine) -> None:
    paris = timezone(timedelta(hours=2))
    with engine.begin() as conn:
        run_id = conn.execute(
            insert(Run).values(kind="export", started_at=WHEN.astimezone(paris), outcome="running", counts={})
        ).inserted_primary_key[0]
    with engine.connect() as conn:
        started = conn.execute(select(Run.started_at).where(Run.id == run_id)).scalar_one()
    assert started == WHEN
    assert started.tzinfo == UTC
    assert started.microsecond == 123456


def test_names_and_emails_are_unique_case_and_accent_sensitively(engine: Engine) -> None:
    now = utcnow()
    with engine.begin() as conn:
        integration_id = _integration(conn)
        for name in ("Customers", "customers", "Clientes", "Clientés"):
            conn.execute(
                insert(MarketingList).values(
                    name=name,
                    kind="static",
                    email_column="email",
                    field_columns=[],
                    created_at=now,
                    updated_at=now,
                )
            )
        for email in ("jose@example.com", "josé@example.com", "JOSE@example.com"):
            conn.execute(
                insert(Contact).values(
                    integration_id=integration_id, email=email, data_fields={}, created_at=now, updated_at=now
                )
            )
    with engine.connect() as conn:
        assert conn.execute(
            select(MarketingList.name).where(MarketingList.name == "customers")
        ).scalars().all() == ["customers"]
        assert conn.execute(select(Contact.email).where(Contact.email == "josé@example.com")).scalar_one()
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            insert(Contact).values(
                integration_id=integration_id,
                email="jose@example.com",
                data_fields={},
                created_at=now,
                updated_at=now,
            )
        )


def test_json_and_floats_round_trip(engine: Engine) -> None:
    fields = {"name": "Zoë 😀", "city": "Łódź", "score": 0.1, "tags": ["a", "ß"]}
    with engine.begin() as conn:
        integration_id = _integration(conn)
        contact_id = conn.execute(
            insert(Contact).values(
                integration_id=integration_id,
                email="zoe@example.com",
                data_fields=fields,
                created_at=WHEN,
                updated_at=WHEN,
            )
        ).inserted_primary_key[0]
        book_id = conn.execute(
            insert(AddressBook).values(
                integration_id=integration_id,
                origin_id=1,
                name="Customers",
                guard_remove_percent=12.345678901,
                guard_remove_max=1000,
                guard_update_percent=50.0,
                created_at=WHEN,
                updated_at=WHEN,
            )
        ).inserted_primary_key[0]
    with engine.connect() as conn:
        assert (
            conn.execute(select(Contact.data_fields).where(Contact.id == contact_id)).scalar_one() == fields
        )
        percent = conn.execute(
            select(AddressBook.guard_remove_percent).where(AddressBook.id == book_id)
        ).scalar_one()
    assert percent == 12.345678901  # a double everywhere (MySQL's FLOAT would give 12.345679)


def test_an_over_long_value_is_an_error(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite does not enforce VARCHAR lengths")
    now = utcnow()
    with pytest.raises(DBAPIError), engine.begin() as conn:
        conn.execute(
            insert(MarketingList).values(
                name="x" * 300,
                kind="static",
                email_column="email",
                field_columns=[],
                created_at=now,
                updated_at=now,
            )
        )
