"""The client's whole method list against the sandbox served on loopback: the respx fixtures the client was
written against and the sandbox (written from the API reference) must agree."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from dotsync.dotmailer.client import DotmailerClient
from dotsync.dotmailer.errors import ApiNotFoundError, AuthenticationError, DuplicateError
from dotsync.sandbox import Sandbox
from tests.support import PASSWORD, START, USERNAME


@pytest.fixture
def served(sandbox: Sandbox) -> Iterator[tuple[Sandbox, str]]:
    """The shared sandbox (its time stands at START) served on loopback, with an account named 'Served'."""
    sandbox.imports.keep_files = True
    sandbox.add_account(USERNAME, PASSWORD, name="Served")
    with sandbox.serve() as handle:
        yield sandbox, handle.url


def test_every_client_method_against_the_served_sandbox(served) -> None:
    sandbox, url = served
    account = sandbox.account()
    with DotmailerClient(USERNAME, PASSWORD, url, sleep=lambda _s: None) as client:
        info = client.connect()
        assert info.name == "Served"
        assert client.endpoint == url.rstrip("/")
        assert client.get_account_info().calls_remaining is not None

        book = client.create_address_book("Served book", "Public")
        assert client.get_address_book(book.id).name == "Served book"
        assert {"Served book", "Test"} <= {b.name for b in client.iter_address_books()}
        with pytest.raises(DuplicateError):
            client.create_address_book("Served book")

        assert client.create_data_field("SHOE_SIZE", "Numeric").name == "SHOE_SIZE"
        assert "SHOE_SIZE" in {f.name for f in client.list_data_fields()}

        csv_bytes = (
            b"Email,FIRSTNAME,SHOE_SIZE\r\na@example.com,Ann,41\r\nb@example.com,Bob,44\r\nbad-email,X,1\r\n"
        )
        started = client.start_contact_import(book.id, csv_bytes)
        assert started.id
        status = client.get_contact_import(started.id).status
        while status == "NotFinished":
            status = client.get_contact_import(started.id).status
        assert status == "Finished"
        report = client.get_contact_import_report(started.id)
        assert report.new_contacts == 2
        assert report.invalid_entries == 1
        faults = client.get_contact_import_faults(started.id)
        assert [f.email for f in faults] == ["bad-email"]

        contacts = list(client.iter_address_book_contacts(book.id))
        assert {c.email for c in contacts} == {"a@example.com", "b@example.com"}
        ann = client.get_contact("a@example.com")
        assert ann.data_field("FIRSTNAME") == "Ann"
        assert client.get_contact(ann.id).email == "a@example.com"
        assert (
            list(client.iter_address_book_contacts(book.id, modified_since=START + timedelta(days=1))) == []
        )

        sandbox.advance(timedelta(hours=1))
        account.unsubscribe(book.id, "b@example.com")
        account.suppress("c@example.com", reason="HardBounced")
        assert [s.email for s in client.iter_address_book_unsubscribed_since(book.id, START)] == [
            "b@example.com"
        ]
        assert "c@example.com" in {s.email for s in client.iter_suppressed_since(START)}

        assert client.remove_contacts_from_address_book(book.id, [ann.id]) == 1
        assert book.id in {b.id for b in client.iter_contact_address_books(ann.id)}  # still listed
        sandbox.advance(seconds=5)  # applied a little later (202)
        assert list(client.iter_address_book_contacts(book.id)) == []
        assert book.id not in {b.id for b in client.iter_contact_address_books(ann.id)}

        account.add_contacts(book.id, ["d@example.com", "e@example.com"])
        campaign = account.send_campaign(
            "Served campaign", [book.id], opens=["d@example.com"], clicks=["d@example.com"]
        )
        assert [c.id for c in client.iter_address_book_campaigns(book.id)] == [campaign.id]
        assert client.get_campaign(campaign.id).status == "Sent"
        assert campaign.id in {c.id for c in client.iter_campaigns_with_activity_since(START)}
        summary = client.get_campaign_summary(campaign.id)
        assert summary.num_total_sent == 2
        assert summary.num_total_unique_opens == 1
        activities = {a.email: a for a in client.iter_campaign_activities(campaign.id)}
        assert activities["d@example.com"].num_opens >= 1
        assert activities["e@example.com"].num_opens == 0
        assert list(client.iter_campaign_activities(campaign.id, since=START))
        assert {c.email for c in client.iter_campaign_clicks(campaign.id)} == {"d@example.com"}
        assert {o.email for o in client.iter_campaign_opens(campaign.id, since=START)} == {"d@example.com"}

        assert client.delete_data_field("SHOE_SIZE") is True
        with pytest.raises(ApiNotFoundError):
            client.get_address_book(999_999)
    assert sandbox.internal_errors == []


def test_bad_credentials_against_the_served_sandbox(served) -> None:
    _sandbox, url = served
    with (
        DotmailerClient(USERNAME, "wrong-password", url, sleep=lambda _s: None) as client,
        pytest.raises(AuthenticationError) as caught,
    ):
        client.connect()
    assert "wrong-password" not in str(caught.value)
