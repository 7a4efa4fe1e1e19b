"""Helpers for the import step tests and the end-to-end tests: a controllable clock, an integration row,
SyncContexts over respx or the sandbox, running one connector in its own transaction, connecting a book to a
list, and a snapshot of the import's tables for idempotence checks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dotsync.db.models import (
    Activity,
    AddressBook,
    AddressBookContact,
    Campaign,
    Contact,
    DataField,
    Integration,
    ListMember,
    MarketingEvent,
    MarketingList,
    MemberStatistics,
    Watermark,
    campaign_address_book,
    campaign_summary,
)
from dotsync.dotmailer.client import DotmailerClient
from dotsync.sync.context import SyncContext
from dotsync.sync.importer import connector_function

USERNAME = "apiuser-import@apiconnector.com"
PASSWORD = "Import-Pa55word"
API = "https://r1-api.dotdigital.com"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Clock:
    """One time for the test, the sandbox and the SyncContext; tests move it with ``advance``."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@dataclass
class FakeSleep:
    """Records the waits the client asked for, and never sleeps."""

    calls: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def add_integration(sessions: sessionmaker[Session], name: str = "main") -> int:
    with sessions.begin() as session:
        integration = Integration(
            name=name, username=USERNAME, password_encrypted="not-used-here", api_url=API, is_active=True
        )
        session.add(integration)
        session.flush()
        return integration.id


def make_ctx(
    sessions: sessionmaker[Session],
    client: DotmailerClient,
    integration_id: int,
    now: datetime,
    *,
    force: bool = False,
    safety_margin: int = 50,
) -> SyncContext:
    return SyncContext(
        sessions=sessions,
        client=client,
        integration_id=integration_id,
        integration_name="main",
        now=now,
        force=force,
        safety_margin=safety_margin,
    )


def run_connector(ctx: SyncContext, name: str) -> dict[str, int]:
    """Run one connector as the runner does: in its own transaction (rolled back if it raises)."""
    with ctx.sessions.begin() as session:
        return connector_function(name)(ctx, session)


def connect_book(
    sessions: sessionmaker[Session],
    integration_id: int,
    origin_id: int,
    list_name: str,
    members: Iterable[str] = (),
    states: dict[str, str] | None = None,
) -> int:
    """Create a static list with members and connect it to the imported book ``origin_id``; returns the list id."""
    with sessions.begin() as session:
        marketing_list = MarketingList(name=list_name, kind="static")
        session.add(marketing_list)
        session.flush()
        for email in members:
            state = (states or {}).get(email, "subscribed")
            session.add(ListMember(list_id=marketing_list.id, email=email, state=state))
        book = session.scalar(
            select(AddressBook).where(
                AddressBook.integration_id == integration_id, AddressBook.origin_id == origin_id
            )
        )
        assert book is not None, f"book {origin_id} was not imported"
        book.marketing_list_id = marketing_list.id
        return marketing_list.id


_IGNORED = {"id", "created_at", "updated_at"}


def snapshot(sessions: sessionmaker[Session]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables the import writes, without surrogate ids and timestamps, sorted."""
    tables = [
        AddressBook.__table__,
        Contact.__table__,
        AddressBookContact.__table__,
        Campaign.__table__,
        campaign_address_book,
        campaign_summary,
        Activity.__table__,
        MarketingEvent.__table__,
        MemberStatistics.__table__,
        DataField.__table__,
        ListMember.__table__,
        Watermark.__table__,
    ]
    result: dict[str, list[tuple[Any, ...]]] = {}
    with sessions() as session:
        for table in tables:
            columns = [c for c in table.columns if c.name not in _IGNORED]  # type: ignore[attr-defined]
            rows = session.execute(select(*columns)).all()
            result[table.name] = sorted((tuple(row) for row in rows), key=repr)  # type: ignore[attr-defined]
    return result
