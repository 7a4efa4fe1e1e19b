"""The shared look-ups of db/lookups.py: a list by name, a list's book, an integration's connected books."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dotsync.db.lookups import connected_book, connected_books, get_list
from dotsync.db.models import AddressBook, Integration, MarketingList
from dotsync.errors import BadInputError, NotFoundError


def _integration(session: Session, name: str) -> int:
    integration = Integration(
        name=name,
        username=f"{name}@apiconnector.com",
        password_encrypted="x",
        api_url="https://r1-api.example",
    )
    session.add(integration)
    session.flush()
    return integration.id


def _book(
    session: Session, integration_id: int, origin_id: int, list_name: str | None, **extra: object
) -> int:
    list_id = None
    if list_name is not None:
        marketing_list = MarketingList(name=list_name, kind="static")
        session.add(marketing_list)
        session.flush()
        list_id = marketing_list.id
    book = AddressBook(
        integration_id=integration_id,
        origin_id=origin_id,
        name=f"Book {origin_id}",
        marketing_list_id=list_id,
        **extra,
    )
    session.add(book)
    session.flush()
    return book.id


def test_connected_books_leave_out_unconnected_other_integrations_and_by_default_missing_ones(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        main, other = _integration(session, "main"), _integration(session, "other")
        present = _book(session, main, 1, "a")
        missing = _book(session, main, 2, "b", missing_since=datetime(2026, 1, 1, tzinfo=UTC))
        _book(session, main, 3, None)
        _book(session, other, 4, "c")
        later = _book(session, main, 5, "d")
    with sessions() as session:
        assert [b.id for b in connected_books(session, main)] == [present, later]
        assert [b.id for b in connected_books(session, main, with_missing=True)] == [present, missing, later]
        assert [b.id for b in connected_books(session, main, with_missing=True, ids={missing, later})] == [
            missing,
            later,
        ]
        assert connected_books(session, main, ids=set()) == []


def test_a_list_and_its_book_or_the_error_that_says_what_to_do(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        book_id = _book(session, _integration(session, "main"), 1, "connected")
        session.add(MarketingList(name="alone", kind="static"))
    with sessions() as session:
        assert connected_book(session, get_list(session, "connected")).id == book_id
        with pytest.raises(NotFoundError, match=r"no list named 'nope' \(see `dotsync list ls`\)"):
            get_list(session, "nope")
        alone = get_list(session, "alone")
        with pytest.raises(BadInputError, match=r"'alone' is not connected .*\(see `dotsync connect`\)"):
            connected_book(session, alone)
