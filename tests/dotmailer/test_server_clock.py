"""The client's view of Dotmailer's clock: the last answer's ``Date`` header plus the time elapsed since."""

from __future__ import annotations

from datetime import UTC, datetime

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
    assert client.server_now() == datetime(2026, 12, 1, 16, 56, 18, tzinfo=UTC)


@pytest.mark.parametrize("header", [None, "not a date", ""])
def test_an_answer_without_a_readable_date_leaves_no_server_time(
    client: DotmailerClient, header: str | None
) -> None:
    """Then the sync falls back to its own clock rather than trust an older answer's time."""
    with respx.mock(base_url=f"{ENDPOINT}/v2") as api:
        api.get("/address-books/1").respond(
            json={"id": 1, "name": "B"}, headers={"Date": "Tue, 01 Dec 2026 16:56:18 GMT"}
        )
        api.get("/address-books/2").respond(
            json={"id": 2, "name": "C"}, headers={} if header is None else {"Date": header}
        )
        client.get_address_book(1)
        assert client.server_now() == datetime(2026, 12, 1, 16, 56, 18, tzinfo=UTC)
        client.get_address_book(2)
    assert client.server_now() is None
