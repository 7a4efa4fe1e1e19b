"""Step tests of the campaign connector (Dotmailer -> dotsync)."""

from __future__ import annotations

import respx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dotsync.db.models import AddressBook, Campaign, campaign_address_book
from dotsync.dotmailer.client import DotmailerClient
from tests.support import START
from tests.support.rows import connect_book
from tests.sync.helpers import make_ctx, run_connector, snapshot

BOOKS = [
    {"id": 10, "name": "Newsletter", "visibility": "Public", "contacts": 5},
    {"id": 11, "name": "Offers", "visibility": "Private", "contacts": 3},
    {"id": 12, "name": "Not connected", "visibility": "Private", "contacts": 3},
]


def campaign(cid: int, name: str, status: str = "Sent") -> dict[str, object]:
    return {
        "id": cid,
        "name": name,
        "subject": f"Subject {name}",
        "fromName": "Shop",
        "fromAddress": {"id": 4, "email": "news@shop.example"},
        "htmlContent": None,
        "plainTextContent": None,
        "replyAction": "WebMailForward",
        "replyToAddress": "reply@shop.example",
        "isSplitTest": False,
        "status": status,
    }


def _campaigns(sessions: sessionmaker[Session]) -> dict[int, Campaign]:
    with sessions() as session:
        return {c.origin_id: c for c in session.scalars(select(Campaign))}


def _links(sessions: sessionmaker[Session]) -> set[tuple[int, int]]:
    with sessions() as session:
        rows = session.execute(
            select(Campaign.origin_id, AddressBook.origin_id)
            .join(campaign_address_book, campaign_address_book.c.campaign_id == Campaign.id)
            .join(AddressBook, AddressBook.id == campaign_address_book.c.address_book_id)
        )
        return {(c, b) for c, b in rows}


def _setup(
    api: respx.MockRouter, client: DotmailerClient, sessions: sessionmaker[Session], integration_id: int
) -> None:
    api.get("/address-books").respond(json=BOOKS)
    run_connector(make_ctx(sessions, client, integration_id, START), "address_book")
    connect_book(sessions, integration_id, 10, "news")
    connect_book(sessions, integration_id, 11, "offers")


def test_campaigns_of_connected_books_are_imported_with_their_links(
    api: respx.MockRouter, client: DotmailerClient, sessions: sessionmaker[Session], integration_id: int
) -> None:
    _setup(api, client, sessions, integration_id)
    api.get("/address-books/10/campaigns").respond(
        json=[campaign(1, "Spring"), campaign(2, "Draft", "Unsent")]
    )
    api.get("/address-books/11/campaigns").respond(json=[campaign(1, "Spring")])
    unconnected = api.get("/address-books/12/campaigns").respond(json=[campaign(3, "Other")])
    counts = run_connector(make_ctx(sessions, client, integration_id, START), "campaign")
    assert counts == {"books": 2, "seen": 2, "created": 2, "deleted": 0, "undeleted": 0}
    assert not unconnected.called
    spring = _campaigns(sessions)[1]
    assert (spring.name, spring.subject, spring.from_name, spring.from_address, spring.from_address_id) == (
        "Spring",
        "Subject Spring",
        "Shop",
        "news@shop.example",
        4,
    )
    assert (spring.reply_action, spring.reply_to_address, spring.is_split_test, spring.status) == (
        "WebMailForward",
        "reply@shop.example",
        False,
        "Sent",
    )
    assert _links(sessions) == {(1, 10), (1, 11), (2, 10)}


def test_campaigns_no_longer_listed_are_soft_deleted_and_come_back(
    api: respx.MockRouter, client: DotmailerClient, sessions: sessionmaker[Session], integration_id: int
) -> None:
    _setup(api, client, sessions, integration_id)
    news = api.get("/address-books/10/campaigns")
    news.respond(json=[campaign(1, "Spring"), campaign(2, "Summer")])
    api.get("/address-books/11/campaigns").respond(json=[])
    ctx = make_ctx(sessions, client, integration_id, START)
    run_connector(ctx, "campaign")
    first = snapshot(sessions)
    run_connector(ctx, "campaign")
    assert snapshot(sessions) == first  # idempotent

    news.respond(json=[campaign(1, "Spring (renamed)", "Sent")])
    counts = run_connector(ctx, "campaign")
    assert counts["deleted"] == 1
    found = _campaigns(sessions)
    assert found[2].is_deleted
    assert not found[1].is_deleted
    assert found[1].name == "Spring (renamed)"
    assert _links(sessions) == {(1, 10)}

    news.respond(json=[campaign(1, "Spring"), campaign(2, "Summer")])
    counts = run_connector(ctx, "campaign")
    assert counts["undeleted"] == 1
    assert not _campaigns(sessions)[2].is_deleted
