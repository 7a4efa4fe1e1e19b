"""The client's view of Dotmailer's clock: the last answer's ``Date`` header plus the time elapsed since."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import respx

from dotsync.dotmailer.client import DotmailerClient

ENDPOINT = "https://r1-api.dotmailer.com"


@pytest.fixture
def client() -> DotmailerClient:
    return DotmailerClient("apiuser@apiconnector.com", "Pa55word-x", ENDPOINT, endpoint=ENDPOINT)


def test_server_now_follows_the_date_header(client: DotmailerClient) -> None:
    assert client.server_now() is None  # no answer yet
    with respx.mock(base_url=f"{ENDPOINT}/v2") as api:
        api.get("/address-books/1").respond(
            json={"id": 1, "name": "B"}, headers={"Date": "Tue, 01 Dec 2026 16:56:18 GMT"}
        )
        client.get_address_book(1)
    now = client.server_now()
    assert now is not None
    assert timedelta(0) <= now - datetime(2026, 12, 1, 16, 56, 18, tzinfo=UTC) < timedelta(seconds=5)


@pytest.mark.parametrize("header", [None, "not a date", ""])
def test_an_answer_without_a_readable_date_keeps_the_last_one(
    client: DotmailerClient, header: str | None
) -> None:
    with respx.mock(base_url=f"{ENDPOINT}/v2") as api:
        api.get("/address-books/1").respond(
            json={"id": 1, "name": "B"}, headers={"Date": "Tue, 01 Dec 2026 16:56:18 GMT"}
        )
        api.get("/address-books/2").respond(
            json={"id": 2, "name": "C"}, headers={} if header is None else {"Date": header}
        )
        client.get_address_book(1)
        client.get_address_book(2)
    now = client.server_now()
    assert now is not None and now.date() == datetime(2026, 12, 1).date()
