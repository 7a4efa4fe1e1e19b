"""Step tests of the contact connector (Dotmailer -> dotsync)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dotsync.db.models import AddressBook, AddressBookContact, Contact, ListMember
from dotsync.dotmailer.client import DotmailerClient
from dotsync.dotmailer.errors import ServerError
from dotsync.sandbox import Account
from tests.support import START
from tests.support.fakes import Clock, FakeSleep
from tests.support.fixtures import MakeClient
from tests.support.rows import connect_book
from tests.sync.helpers import make_ctx, run_connector, snapshot

BOOKS = [
    {"id": 10, "name": "Newsletter", "visibility": "Public", "contacts": 3},
    {"id": 11, "name": "Offers", "visibility": "Private", "contacts": 1},
]


def contact(cid: int, email: str, status: str = "Subscribed", **fields: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "email": email,
        "optInType": "Single",
        "emailType": "Html",
        "status": status,
        "dataFields": [{"key": k, "value": v} for k, v in fields.items()],
    }


def _setup(
    api: respx.MockRouter, client: DotmailerClient, sessions: sessionmaker[Session], integration_id: int
) -> int:
    api.get("/address-books").respond(json=BOOKS)
    run_connector(make_ctx(sessions, client, integration_id, START), "address_book")
    return connect_book(sessions, integration_id, 10, "news", ["ann@example.com", "bob@example.com"])


def _contacts(sessions: sessionmaker[Session]) -> dict[str, Contact]:
    with sessions() as session:
        return {c.email: c for c in session.scalars(select(Contact))}


def _memberships(sessions: sessionmaker[Session]) -> dict[tuple[int, str], AddressBookContact]:
    with sessions() as session:
        rows = session.execute(
            select(AddressBookContact, AddressBook.origin_id, Contact.email)
            .join(AddressBook, AddressBook.id == AddressBookContact.address_book_id)
            .join(Contact, Contact.id == AddressBookContact.contact_id)
        )
        return {(book, email): abc for abc, book, email in rows}


def _book(sessions: sessionmaker[Session], origin_id: int) -> AddressBook:
    with sessions() as session:
        found = session.scalar(select(AddressBook).where(AddressBook.origin_id == origin_id))
        assert found is not None
        return found


def test_first_import_reads_every_contact_with_full_data(
    api: respx.MockRouter, client: DotmailerClient, sessions: sessionmaker[Session], integration_id: int
) -> None:
    list_id = _setup(api, client, sessions, integration_id)
    route = api.get("/address-books/10/contacts").respond(
        json=[
            contact(1, "Ann@Example.com", FIRSTNAME="Ann"),
            contact(2, "bob@example.com", "SoftBounced"),
            contact(3, "cid@example.com", "HardBounced"),
        ]
    )
    counts = run_connector(make_ctx(sessions, client, integration_id, START), "contact")
    assert counts == {"books": 1, "contacts": 3}
    assert route.calls.last.request.url.params["withFullData"] == "true"
    contacts = _contacts(sessions)
    assert sorted(contacts) == ["ann@example.com", "bob@example.com", "cid@example.com"]
    ann = contacts["ann@example.com"]
    assert (ann.origin_id, ann.status, ann.opt_in_type, ann.email_type, ann.data_fields) == (
        1,
        "Subscribed",
        "Single",
        "Html",
        {"FIRSTNAME": "Ann"},
    )
    memberships = _memberships(sessions)
    assert memberships[(10, "bob@example.com")].status == "SoftBounced"
    assert memberships[(10, "cid@example.com")].list_member_id is None
    with sessions() as session:
        ann_member = session.scalar(
            select(ListMember.id).where(ListMember.list_id == list_id, ListMember.email == "ann@example.com")
        )
    assert memberships[(10, "ann@example.com")].list_member_id == ann_member
    assert not any(m.added_by_dotsync for m in memberships.values())
    assert _book(sessions, 10).last_contact_import_at == START
    assert _book(sessions, 11).last_contact_import_at is None  # not connected: not read


def test_later_imports_read_modified_since_the_books_watermark(
    api: respx.MockRouter, client: DotmailerClient, sessions: sessionmaker[Session], integration_id: int
) -> None:
    _setup(api, client, sessions, integration_id)
    api.get("/address-books/10/contacts").respond(
        json=[contact(1, "ann@example.com"), contact(2, "bob@example.com")]
    )
    run_connector(make_ctx(sessions, client, integration_id, START), "contact")
    # dotsync exported cid@example.com earlier: no Dotmailer id yet, added by dotsync.
    with sessions.begin() as session:
        cid = Contact(integration_id=integration_id, email="cid@example.com")
        session.add(cid)
        session.flush()
        session.add(
            AddressBookContact(
                address_book_id=_book(sessions, 10).id,
                contact_id=cid.id,
                status="Subscribed",
                added_by_dotsync=True,
            )
        )
    # Bob's email changed in Dotmailer; Ann unsubscribed from the account; cid confirmed with an id.
    modified = api.get("/address-books/10/contacts/modified-since/2026-03-02T08:55:00Z").respond(
        json=[
            contact(2, "robert@example.com"),
            contact(1, "ann@example.com", "Unsubscribed"),
            contact(3, "cid@example.com", LASTNAME="Cid"),
        ]
    )
    later = START + timedelta(hours=1)
    run_connector(make_ctx(sessions, client, integration_id, later), "contact")
    assert modified.called
    contacts = _contacts(sessions)
    assert sorted(contacts) == ["ann@example.com", "cid@example.com", "robert@example.com"]
    assert contacts["robert@example.com"].origin_id == 2
    assert contacts["cid@example.com"].origin_id == 3
    assert contacts["cid@example.com"].data_fields == {"LASTNAME": "Cid"}
    memberships = _memberships(sessions)
    assert memberships[(10, "ann@example.com")].status == "Unsubscribed"
    assert memberships[(10, "cid@example.com")].added_by_dotsync is True  # never cleared by the import
    # The membership keeps representing Bob's list member: the contact is the same, only its email changed.
    assert memberships[(10, "robert@example.com")].list_member_id is not None
    assert _book(sessions, 10).last_contact_import_at == later


def test_a_failure_rolls_back_and_keeps_the_watermarks(
    api: respx.MockRouter, client: DotmailerClient, sessions: sessionmaker[Session], integration_id: int
) -> None:
    _setup(api, client, sessions, integration_id)
    connect_book(sessions, integration_id, 11, "offers")
    api.get("/address-books/10/contacts").respond(json=[contact(1, "ann@example.com")])
    api.get("/address-books/11/contacts").respond(500, json={"message": "boom"})
    with pytest.raises(ServerError):
        run_connector(make_ctx(sessions, client, integration_id, START), "contact")
    assert _contacts(sessions) == {}
    assert _book(sessions, 10).last_contact_import_at is None
    assert _book(sessions, 11).last_contact_import_at is None


def test_a_429_mid_way_is_waited_out(
    api: respx.MockRouter,
    sessions: sessionmaker[Session],
    integration_id: int,
    fake_sleep: FakeSleep,
    client: DotmailerClient,
    make_client: MakeClient,
) -> None:
    _setup(api, client, sessions, integration_id)
    people = [contact(i, f"p{i}@example.com") for i in range(1, 251)]
    pages = {0: people[:200], 100: people[100:250]}  # page 200, overlap 100
    answers = iter([None, "429", None])

    def page(request: httpx.Request) -> httpx.Response:
        if next(answers) == "429":
            return httpx.Response(429, headers={"Retry-After": "3"}, json={"message": "slow down"})
        return httpx.Response(200, json=pages[int(request.url.params["skip"])])

    route = api.get("/address-books/10/contacts").mock(side_effect=page)
    paged = make_client(page_size=200)
    ctx = make_ctx(sessions, paged, integration_id, START)
    counts = run_connector(ctx, "contact")
    assert route.call_count == 3
    assert fake_sleep.calls == [3.0]
    assert counts["contacts"] == 250
    first = snapshot(sessions)
    answers = iter([None, None])
    again = api.get(url__regex=r"/address-books/10/contacts/modified-since/").mock(side_effect=page)
    run_connector(ctx, "contact")  # same answers again (same run time): same database
    assert again.call_count == 2
    assert len(_contacts(sessions)) == 250
    with_modified = snapshot(sessions)
    assert with_modified == first


def test_a_large_book_is_imported_in_bulk(
    sandbox_client: DotmailerClient,
    account: Account,
    sessions: sessionmaker[Session],
    integration_id: int,
    clock: Clock,
) -> None:
    book = account.create_book("Big")
    account.add_contacts(
        book,
        [{"email": f"user{i:05d}@example.com", "dataFields": {"FIRSTNAME": f"U{i}"}} for i in range(2500)],
    )
    run_connector(make_ctx(sessions, sandbox_client, integration_id, clock.now), "address_book")
    connect_book(
        sessions, integration_id, book.id, "big", [f"user{i:05d}@example.com" for i in range(0, 2500, 2)]
    )
    clock.advance(minutes=10)
    sandbox_client.calls_by_endpoint.clear()
    counts = run_connector(make_ctx(sessions, sandbox_client, integration_id, clock.now), "contact")
    assert counts["contacts"] == 2500
    assert sandbox_client.calls_by_endpoint["GET /v2/address-books/{id}/contacts"] == 3
    memberships = _memberships(sessions)
    assert len(memberships) == 2500
    assert sum(1 for m in memberships.values() if m.list_member_id is not None) == 1250
    assert _contacts(sessions)["user00007@example.com"].data_fields["FIRSTNAME"] == "U7"


def test_a_re_read_writes_only_what_changed(
    api: respx.MockRouter, client: DotmailerClient, sessions: sessionmaker[Session], integration_id: int
) -> None:
    """Unchanged contacts of a re-read are recognised in one look-up and not written; a contact whose
    membership or member link drifted locally still gets the general path's repair."""
    _setup(api, client, sessions, integration_id)
    answer = [
        contact(1, "ann@example.com", FIRSTNAME="Ann"),
        contact(2, "bob@example.com", FIRSTNAME="Bob"),
        contact(3, "cid@example.com"),
    ]
    api.get("/address-books/10/contacts").respond(json=answer)
    run_connector(make_ctx(sessions, client, integration_id, START), "contact")
    before = {
        (book, email): (m.status, m.list_member_id, m.updated_at)
        for (book, email), m in _memberships(sessions).items()
    }
    contacts_before = {email: c.updated_at for email, c in _contacts(sessions).items()}
    # Locally, Bob's membership status and Ann's member link drifted (e.g. a crash between two writes).
    with sessions.begin() as session:
        rows = {c.email: c.id for c in session.scalars(select(Contact))}
        for abc in session.scalars(select(AddressBookContact)):
            if abc.contact_id == rows["bob@example.com"]:
                abc.status = "Unsubscribed"
            if abc.contact_id == rows["ann@example.com"]:
                abc.list_member_id = None
    api.get(url__regex=r"/address-books/10/contacts/modified-since/").respond(json=answer)
    later = START + timedelta(hours=1)
    counts = run_connector(make_ctx(sessions, client, integration_id, later), "contact")
    assert counts["contacts"] == 3
    after = _memberships(sessions)
    assert after[(10, "bob@example.com")].status == "Subscribed"  # what Dotmailer says, restored
    assert after[(10, "ann@example.com")].list_member_id == before[(10, "ann@example.com")][1]  # relinked
    # Cid changed nothing: neither its contact nor its membership was written.
    assert after[(10, "cid@example.com")].updated_at == before[(10, "cid@example.com")][2]
    assert {email: c.updated_at for email, c in _contacts(sessions).items()} == contacts_before
