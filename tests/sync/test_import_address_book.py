"""Step tests of the address_book connector (Dotmailer -> dotsync) against respx and a migrated database."""

from __future__ import annotations

import httpx
import pytest
import respx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dotsync.db.models import AddressBook, AddressBookContact, Contact
from dotsync.dotmailer.client import DotmailerClient
from dotsync.dotmailer.errors import ServerError
from tests.support import START
from tests.support.fakes import FakeSleep
from tests.support.fixtures import MakeClient
from tests.support.rows import connect_book
from tests.sync.helpers import make_ctx, run_connector, snapshot

BOOKS = [
    {"id": 1, "name": "All Contacts", "visibility": "Private", "contacts": 9},
    {"id": 2, "name": "Test", "visibility": "Private", "contacts": 0},
    {"id": 10, "name": "Newsletter", "visibility": "Public", "contacts": 5},
    {"id": 11, "name": "Offers", "visibility": "Private", "contacts": 3},
]


def _books(sessions: sessionmaker[Session]) -> dict[int, AddressBook]:
    with sessions() as session:
        return {b.origin_id: b for b in session.scalars(select(AddressBook))}


def test_creates_every_book_including_system_books(
    api: respx.MockRouter, client: DotmailerClient, sessions: sessionmaker[Session], integration_id: int
) -> None:
    api.get("/address-books").respond(json=BOOKS)
    counts = run_connector(make_ctx(sessions, client, integration_id, START), "address_book")
    assert counts["created"] == 4
    books = _books(sessions)
    assert sorted(books) == [1, 2, 10, 11]
    assert (books[10].name, books[10].visibility, books[10].contact_count) == ("Newsletter", "Public", 5)
    assert all(b.integration_id == integration_id and b.marketing_list_id is None for b in books.values())


def test_updates_deletes_and_flags_connected_books(
    api: respx.MockRouter, client: DotmailerClient, sessions: sessionmaker[Session], integration_id: int
) -> None:
    route = api.get("/address-books")
    route.respond(json=BOOKS)
    run_connector(make_ctx(sessions, client, integration_id, START), "address_book")
    connect_book(sessions, integration_id, 11, "offers list")
    # A membership row, to see the deletion cascade.
    with sessions.begin() as session:
        contact = Contact(integration_id=integration_id, email="a@example.com")
        session.add(contact)
        session.flush()
        book10 = session.scalar(select(AddressBook).where(AddressBook.origin_id == 10))
        assert book10 is not None
        session.add(AddressBookContact(address_book_id=book10.id, contact_id=contact.id, status="Subscribed"))

    # Newsletter renamed, Offers (connected) and nothing else gone.
    route.respond(json=[BOOKS[0], BOOKS[1], {**BOOKS[2], "name": "Weekly", "contacts": 6}])
    later = START.replace(hour=10)
    counts = run_connector(make_ctx(sessions, client, integration_id, later), "address_book")
    assert counts == {"seen": 3, "created": 0, "updated": 1, "deleted": 0, "missing": 1, "returned": 0}
    books = _books(sessions)
    assert books[10].name == "Weekly"
    assert books[10].contact_count == 6
    assert books[11].missing_since == later
    assert books[11].marketing_list_id is not None

    # Newsletter now deleted in Dotmailer: deleted here with its memberships; Offers comes back.
    route.respond(json=[BOOKS[0], BOOKS[1], BOOKS[3]])
    counts = run_connector(make_ctx(sessions, client, integration_id, later.replace(hour=11)), "address_book")
    assert counts["deleted"] == 1
    assert counts["returned"] == 1
    books = _books(sessions)
    assert 10 not in books
    assert books[11].missing_since is None
    with sessions() as session:
        assert session.scalars(select(AddressBookContact)).all() == []


def test_an_empty_answer_deletes_nothing(
    api: respx.MockRouter, client: DotmailerClient, sessions: sessionmaker[Session], integration_id: int
) -> None:
    route = api.get("/address-books")
    route.respond(json=BOOKS)
    run_connector(make_ctx(sessions, client, integration_id, START), "address_book")
    route.respond(json=[])
    ctx = make_ctx(sessions, client, integration_id, START)
    counts = run_connector(ctx, "address_book")
    assert counts["deleted"] == 0
    assert sorted(_books(sessions)) == [1, 2, 10, 11]
    assert any("no address books" in note for note in ctx.notes)


def test_pages_through_books_and_is_idempotent(
    api: respx.MockRouter, sessions: sessionmaker[Session], integration_id: int, make_client: MakeClient
) -> None:
    many = [{"id": 100 + i, "name": f"Book {i}", "visibility": "Private", "contacts": i} for i in range(5)]

    def page(request: httpx.Request) -> httpx.Response:
        skip, select_ = int(request.url.params["skip"]), int(request.url.params["select"])
        return httpx.Response(200, json=many[skip : skip + select_])

    route = api.get("/address-books").mock(side_effect=page)
    client = make_client(page_size=2)
    ctx = make_ctx(sessions, client, integration_id, START)
    run_connector(ctx, "address_book")
    assert route.call_count == 3  # 2 + 2 + 1
    first = snapshot(sessions)
    run_connector(ctx, "address_book")
    assert snapshot(sessions) == first
    assert len(first["address_book"]) == 5


def test_a_429_is_waited_out_with_the_injected_sleep(
    api: respx.MockRouter,
    client: DotmailerClient,
    sessions: sessionmaker[Session],
    integration_id: int,
    fake_sleep: FakeSleep,
) -> None:
    api.get("/address-books").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}, json={"message": "Too many requests"}),
            httpx.Response(200, json=BOOKS),
        ]
    )
    run_connector(make_ctx(sessions, client, integration_id, START), "address_book")
    assert fake_sleep.calls == [7.0]
    assert len(_books(sessions)) == 4


def test_a_failure_changes_nothing(
    api: respx.MockRouter, client: DotmailerClient, sessions: sessionmaker[Session], integration_id: int
) -> None:
    api.get("/address-books").respond(json=BOOKS)
    run_connector(make_ctx(sessions, client, integration_id, START), "address_book")
    before = snapshot(sessions)
    api.get("/address-books").respond(500, json={"message": "boom"})
    with pytest.raises(ServerError):
        run_connector(make_ctx(sessions, client, integration_id, START), "address_book")
    assert snapshot(sessions) == before
