"""Contacts in books: listings, modified/unsubscribed/suppressed since, lookups, removal, single adds."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from dotsync.sandbox import Account, Sandbox

CONTACT_KEYS = {"id", "email", "optInType", "emailType", "dataFields", "status"}


@pytest.fixture
def book_id(account: Account) -> int:
    book = account.create_book("Newsletter")
    account.add_contacts(
        book,
        [
            "ann@example.com",
            {"Email": "Bob@Example.com", "DataFields": {"firstname": "Bob"}, "emailType": "PlainText"},
        ],
    )
    return book.id


def test_book_contacts_with_and_without_full_data(client: httpx.Client, book_id: int) -> None:
    full = client.get(f"/address-books/{book_id}/contacts", params={"withFullData": "true"}).json()
    assert [c["email"] for c in full] == ["ann@example.com", "bob@example.com"]
    assert set(full[1]) == CONTACT_KEYS
    assert {"key": "FIRSTNAME", "value": "Bob"} in full[1]["dataFields"]
    assert full[1]["emailType"] == "PlainText"
    assert full[1]["status"] == "Subscribed"
    brief = client.get(f"/address-books/{book_id}/contacts").json()
    assert brief[0]["dataFields"] is None
    assert client.get(f"/address-books/{book_id}").json()["contacts"] == 2


@pytest.mark.parametrize(
    "since",
    [
        "2024-03-01T12:30:00Z",
        "2024-03-01T12:30:00z",
        "2024-03-01T12:30:00+0000",
        "2024-03-01T12:30:00+00:00",
        "2024-03-01T13:30:00%2B01:00",
        "2024-03-01T12:30:00",
        "2024-03-01 12:30:00",
        "2024-03-01T12:30:00.000Z",
    ],
)
def test_modified_since_accepts_every_date_form(
    sandbox: Sandbox, account: Account, client: httpx.Client, book_id: int, since: str
) -> None:
    sandbox.advance(hours=1)
    account.add_contacts(book_id, ["cy@example.com"])
    found = client.get(f"/address-books/{book_id}/contacts/modified-since/{since}?withFullData=true").json()
    assert [c["email"] for c in found] == ["cy@example.com"]


def test_modified_since_date_only_and_bad_date(client: httpx.Client, book_id: int) -> None:
    assert len(client.get(f"/address-books/{book_id}/contacts/modified-since/2024-03-01").json()) == 2
    assert client.get(f"/address-books/{book_id}/contacts/modified-since/2024-03-02").json() == []
    bad = client.get(f"/address-books/{book_id}/contacts/modified-since/yesterday")
    assert bad.status_code == 400


def test_unsubscribed_since_and_suppressed_since(
    sandbox: Sandbox, account: Account, client: httpx.Client, book_id: int
) -> None:
    account.unsubscribe(book_id, "ann@example.com", datetime(2024, 2, 1, tzinfo=UTC))
    account.suppress("bob@example.com", "HardBounced")
    unsubscribed = client.get(f"/address-books/{book_id}/contacts/unsubscribed-since/2024-01-01").json()
    assert unsubscribed == [
        {
            "suppressedContact": {
                "id": account.find_contact("ann@example.com").id,
                "email": "ann@example.com",
                "optInType": "Unknown",
                "emailType": "Html",
                "dataFields": [],
                "status": "Subscribed",
            },
            "dateRemoved": "2024-02-01T00:00:00Z",
            "reason": "Unsubscribed",
        }
    ]
    assert client.get(f"/address-books/{book_id}/contacts/unsubscribed-since/2024-02-02").json() == []
    suppressed = client.get("/contacts/suppressed-since/2024-03-01T00:00:00Z").json()
    assert [(s["suppressedContact"]["email"], s["reason"], s["dateRemoved"]) for s in suppressed] == [
        ("bob@example.com", "HardBounced", "2024-03-01T12:00:00Z")
    ]
    assert suppressed[0]["suppressedContact"]["dataFields"] is None  # as the vendor's example writes it
    # book unsubscribe takes the contact out of the book; suppression keeps it there with its status
    members = client.get(f"/address-books/{book_id}/contacts").json()
    assert [(c["email"], c["status"]) for c in members] == [("bob@example.com", "HardBounced")]
    assert account.member_emails("Newsletter") == {"bob@example.com"}


def test_get_contact_by_id_or_email(client: httpx.Client, account: Account, book_id: int) -> None:
    bob = account.find_contact("bob@example.com")
    by_id = client.get(f"/contacts/{bob.id}").json()
    assert by_id["email"] == "bob@example.com"
    assert client.get("/contacts/BOB%40example.com").json()["id"] == bob.id
    assert client.get("/contacts/nobody@example.com").json() == {"message": "Error: ERROR_CONTACT_NOT_FOUND"}
    account.suppress("bob@example.com")
    assert client.get(f"/contacts/{bob.id}").status_code == 404


def test_bulk_delete_from_book(
    client: httpx.Client, account: Account, sandbox: Sandbox, book_id: int
) -> None:
    ann = account.find_contact("ann@example.com")
    response = client.post(f"/address-books/{book_id}/contacts/delete", json=[ann.id, 999])
    assert response.status_code == 202  # asynchronous, as the real API (reference §15); 5 s by default
    assert response.json()["status"] == "Started"
    assert len(response.json()["id"]) == 36
    assert account.member_emails(book_id) == {"ann@example.com", "bob@example.com"}
    sandbox.advance(seconds=5)
    assert account.member_emails(book_id) == {"bob@example.com"}
    assert [e.email for e in sandbox.history.events(action="remove")] == ["ann@example.com"]
    assert client.post(f"/address-books/{book_id}/contacts/delete", json={"ids": [1]}).status_code == 400
    assert client.post("/address-books/999/contacts/delete", json=[1]).status_code == 404


def test_single_add_respects_opt_outs(client: httpx.Client, account: Account, book_id: int) -> None:
    account.unsubscribe(book_id, "ann@example.com")
    account.suppress("dan@example.com")
    ann = client.post(f"/address-books/{book_id}/contacts", json={"Email": "ann@example.com"})
    assert ann.json()["message"].endswith("ERROR_CONTACT_SUPPRESSEDFORADDRESSBOOK")
    dan = client.post(f"/address-books/{book_id}/contacts", json={"email": "dan@example.com"})
    assert dan.json() == {"message": "Contact is suppressed. ERROR_CONTACT_SUPPRESSED"}
    ok = client.post(
        f"/address-books/{book_id}/contacts",
        json={"Email": "eve@example.com", "DataFields": [{"Key": "firstname", "Value": "Eve"}]},
    )
    assert ok.status_code == 200
    assert {"key": "FIRSTNAME", "value": "Eve"} in ok.json()["dataFields"]
    bad = client.post(f"/address-books/{book_id}/contacts", json={"Email": "not-an-email"})
    assert bad.json()["message"].endswith("ERROR_PARAMETER_INVALID")


def test_change_email_keeps_id_and_opt_outs(client: httpx.Client, account: Account, book_id: int) -> None:
    ann = account.unsubscribe(book_id, "ann@example.com")
    account.change_email("ann@example.com", "ann.new@example.com")
    rows = client.get(f"/address-books/{book_id}/contacts/unsubscribed-since/2000-01-01").json()
    assert (rows[0]["suppressedContact"]["id"], rows[0]["suppressedContact"]["email"]) == (
        ann.id,
        "ann.new@example.com",
    )


def test_paging_a_big_book_is_consistent(client: httpx.Client, account: Account) -> None:
    book = account.create_book("Big")
    account.add_contacts(book, [f"p{n}@example.com" for n in range(2500)])
    seen: list[str] = []
    skip = 0
    while True:
        page = client.get(f"/address-books/{book.id}/contacts", params={"select": 1000, "skip": skip}).json()
        seen += [c["email"] for c in page]
        if len(page) < 1000:
            break
        skip += 1000
    assert len(seen) == len(set(seen)) == 2500
    all_contacts = client.get(f"/address-books/{account.all_contacts.id}").json()
    assert all_contacts["contacts"] == 2500
