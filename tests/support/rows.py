"""Rows a test writes straight to the database: an integration, and a static list connected to an imported book."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dotsync.db.models import AddressBook, Integration, ListMember, MarketingList
from tests.support import API, USERNAME


def add_integration(
    sessions: sessionmaker[Session], name: str = "main", *, password_encrypted: str = "not-used-here"
) -> int:
    """An active integration for the test account; returns its id (the password only matters to the CLI)."""
    with sessions.begin() as session:
        integration = Integration(
            name=name, username=USERNAME, password_encrypted=password_encrypted, api_url=API, is_active=True
        )
        session.add(integration)
        session.flush()
        return integration.id


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
