"""Step tests of the unsubscribed_contact connector (Dotmailer -> dotsync): book unsubscribes and account
suppressions, each since its own watermark."""

from __future__ import annotations

from datetime import timedelta

import respx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dotsync.db.models import AddressBook, AddressBookContact, Contact, ListMember, Watermark
from dotsync.dotmailer.client import DotmailerClient
from dotsync.sandbox import Account
from tests.support import START
from tests.support.fakes import Clock
from tests.support.rows import connect_book
from tests.sync.helpers import make_ctx, run_connector, snapshot


def _members(sessions: sessionmaker[Session], list_id: int) -> dict[str, ListMember]:
    with sessions() as session:
        return {m.email: m for m in session.scalars(select(ListMember).where(ListMember.list_id == list_id))}


def _memberships(sessions: sessionmaker[Session]) -> dict[tuple[str, str], AddressBookContact]:
    with sessions() as session:
        rows = session.execute(
            select(AddressBookContact, AddressBook.name, Contact.email)
            .join(AddressBook, AddressBook.id == AddressBookContact.address_book_id)
            .join(Contact, Contact.id == AddressBookContact.contact_id)
        )
        return {(book, email): abc for abc, book, email in rows}


def _contacts(sessions: sessionmaker[Session]) -> dict[str, Contact]:
    with sessions() as session:
        return {c.email: c for c in session.scalars(select(Contact))}


def test_first_run_reads_whole_history_of_books_and_account(
    api: respx.MockRouter, client: DotmailerClient, sessions: sessionmaker[Session], integration_id: int
) -> None:
    api.get("/address-books").respond(
        json=[{"id": 10, "name": "News", "visibility": "Private", "contacts": 1}]
    )
    run_connector(make_ctx(sessions, client, integration_id, START), "address_book")
    connect_book(sessions, integration_id, 10, "news", ["x@example.com"])
    book = api.get("/address-books/10/contacts/unsubscribed-since/1971-01-01T00:00:00Z").respond(json=[])
    account = api.get("/contacts/suppressed-since/1971-01-01T00:00:00Z").respond(json=[])
    run_connector(make_ctx(sessions, client, integration_id, START), "unsubscribed_contact")
    assert book.called
    assert account.called

    # Second run: each feed since its own watermark (the run's start, minus the 5-minute overlap).
    later = START + timedelta(hours=2)
    book2 = api.get("/address-books/10/contacts/unsubscribed-since/2026-03-02T08:55:00Z").respond(json=[])
    account2 = api.get("/contacts/suppressed-since/2026-03-02T08:55:00Z").respond(json=[])
    run_connector(make_ctx(sessions, client, integration_id, later), "unsubscribed_contact")
    assert book2.called
    assert account2.called
    with sessions() as session:
        stored = session.scalar(select(AddressBook).where(AddressBook.origin_id == 10))
        assert stored is not None
        assert stored.last_unsubscribe_import_at == later
        assert stored.last_contact_import_at is None  # the contact watermark is not this connector's
        mark = session.scalar(select(Watermark.value).where(Watermark.connector == "suppressed"))
        assert mark == later


def test_opt_outs_reach_memberships_contacts_and_members(
    sandbox_client: DotmailerClient,
    account: Account,
    sessions: sessionmaker[Session],
    integration_id: int,
    clock: Clock,
) -> None:
    news = account.create_book("News")
    offers = account.create_book("Offers")
    emails = ["ann@example.com", "bob@example.com", "cid@example.com", "dan@example.com", "eve@example.com"]
    account.add_contacts(news, emails)
    account.add_contacts(offers, ["bob@example.com", "dan@example.com"])
    run_connector(make_ctx(sessions, sandbox_client, integration_id, clock.now), "address_book")
    news_list = connect_book(
        sessions, integration_id, news.id, "news", emails, states={"cid@example.com": "removed"}
    )
    offers_list = connect_book(
        sessions, integration_id, offers.id, "offers", ["bob@example.com", "dan@example.com"]
    )
    run_connector(make_ctx(sessions, sandbox_client, integration_id, clock.now), "contact")

    clock.advance(hours=1)
    unsub_at = clock.now
    account.unsubscribe(news, "ann@example.com", when=unsub_at)
    account.unsubscribe(news, "cid@example.com", when=unsub_at)  # member already removed: keeps its reason
    account.unsubscribe(news, "zed@example.com", when=unsub_at)  # never seen by dotsync
    account.suppress("bob@example.com", "HardBounced", when=unsub_at)
    clock.advance(minutes=3)  # within the overlap, so the re-run below reads these again
    counts = run_connector(
        make_ctx(sessions, sandbox_client, integration_id, clock.now), "unsubscribed_contact"
    )
    assert counts["unsubscribed"] == 3
    assert counts["suppressed"] == 1
    assert counts["members_unsubscribed"] == 3  # ann in news, bob in news and in offers

    news_members = _members(sessions, news_list)
    assert news_members["ann@example.com"].state == "unsubscribed"
    assert (
        news_members["ann@example.com"].state_reason
        == "Unsubscribed in Dotmailer (Unsubscribed) on 2026-03-02 10:00 UTC"
    )
    assert news_members["ann@example.com"].state_changed_at == unsub_at
    assert news_members["cid@example.com"].state == "removed"
    assert news_members["bob@example.com"].state == "unsubscribed"
    assert "HardBounced" in (news_members["bob@example.com"].state_reason or "")
    assert _members(sessions, offers_list)["bob@example.com"].state == "unsubscribed"
    assert news_members["dan@example.com"].state == "subscribed"

    memberships = _memberships(sessions)
    ann = memberships[("News", "ann@example.com")]
    assert (ann.status, ann.unsubscribe_reason, ann.unsubscribed_at) == (
        "Unsubscribed",
        "Unsubscribed",
        unsub_at,
    )
    assert memberships[("News", "zed@example.com")].status == "Unsubscribed"
    for book in ("News", "Offers"):
        bob = memberships[(book, "bob@example.com")]
        assert (bob.status, bob.unsubscribed_at) == ("HardBounced", unsub_at)
    contacts = _contacts(sessions)
    assert contacts["bob@example.com"].status == "HardBounced"
    assert contacts["ann@example.com"].status == "Subscribed"  # a book unsubscribe is not an account status
    assert contacts["zed@example.com"].origin_id is not None

    # The same answers again: the same database; an already-unsubscribed member keeps its first reason.
    before = snapshot(sessions)
    again = run_connector(
        make_ctx(sessions, sandbox_client, integration_id, clock.now), "unsubscribed_contact"
    )
    assert again["unsubscribed"] == 3
    assert again["suppressed"] == 1
    assert snapshot(sessions) == before
    clock.advance(hours=1)
    account.suppress("ann@example.com", "Suppressed")
    run_connector(make_ctx(sessions, sandbox_client, integration_id, clock.now), "unsubscribed_contact")
    ann_member = _members(sessions, news_list)["ann@example.com"]
    assert ann_member.state_reason == "Unsubscribed in Dotmailer (Unsubscribed) on 2026-03-02 10:00 UTC"
    assert _memberships(sessions)[("News", "ann@example.com")].status == "Suppressed"
