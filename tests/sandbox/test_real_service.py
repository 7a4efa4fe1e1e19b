"""The sandbox behaves like the real service where the vendor's current document says how (reference §15):
202 asynchronous bulk removal (with a delay knob), the tiered per-minute rate limit (knob, off by default),
faults reports that expire, 15 import-report counters, ``0001-01-01`` for dates that are not there, and
``ApiEndpoint`` with a trailing slash."""

from __future__ import annotations

import httpx
import pytest

from dotsync.sandbox import Account, Sandbox
from dotsync.sandbox.ratelimit import RateLimit

from .helpers import csv_bytes, upload_multipart, wait_finished


def test_bulk_removal_is_asynchronous_with_a_delay(
    client: httpx.Client, account: Account, sandbox: Sandbox
) -> None:
    book = account.create_book("News")
    account.add_contacts(book, ["ann@example.com", "bob@example.com"])
    ann = account.find_contact("ann@example.com")
    sandbox.removal_delay = 20
    answer = client.post(f"/address-books/{book.id}/contacts/delete", json=[ann.id])
    assert answer.status_code == 202
    assert answer.json()["status"] == "Started"
    # Still listed until the delay has passed, as the vendor says ("may take some minutes").
    listed = {c["email"] for c in client.get(f"/address-books/{book.id}/contacts").json()}
    assert listed == {"ann@example.com", "bob@example.com"}
    sandbox.advance(seconds=19)
    assert "ann@example.com" in {c["email"] for c in client.get(f"/address-books/{book.id}/contacts").json()}
    sandbox.advance(seconds=2)
    assert {c["email"] for c in client.get(f"/address-books/{book.id}/contacts").json()} == {
        "bob@example.com"
    }


def test_tiered_rate_limit(client: httpx.Client, account: Account, sandbox: Sandbox) -> None:
    sandbox.rate_limit = RateLimit(3, 60)
    remaining = [client.get("/address-books").headers["x-ratelimit-remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    refused = client.get("/address-books")
    assert refused.status_code == 429
    assert refused.headers["x-ratelimit-limit"] == "3"
    assert refused.headers["x-ratelimit-reset"] == "60"  # seconds until the window resets
    assert refused.headers["retry-after"] == "60"
    assert refused.headers["x-ratelimit-scope"] == "medium"
    sandbox.advance(seconds=30)
    assert client.get("/address-books").headers.get("x-ratelimit-reset") == "30"  # refused again, not counted
    sandbox.advance(seconds=30)
    assert client.get("/address-books").status_code == 200
    sandbox.rate_limit = None
    assert "x-ratelimit-limit" not in client.get("/address-books").headers


def test_rate_limit_parse() -> None:
    assert RateLimit.parse("35/60") == RateLimit(35, 60.0)
    with pytest.raises(ValueError, match="CALLS/SECONDS"):
        RateLimit.parse("35")
    with pytest.raises(ValueError, match="at least 1 call"):
        RateLimit.parse("0/60")


def test_faults_report_expires(client: httpx.Client, account: Account, sandbox: Sandbox) -> None:
    book = account.create_book("News")
    sandbox.imports.faults_ttl = 3600
    started = upload_multipart(client, book.id, csv_bytes(["Email"], [["ann@example.com"], ["not-an-email"]]))
    import_id = started.json()["id"]
    wait_finished(client, import_id)
    assert client.get(f"/contacts/import/{import_id}/report").json()["suppressedContacts"] == 0
    assert "Invalid" in client.get(f"/contacts/import/{import_id}/report-faults").text
    sandbox.advance(seconds=3601)
    gone = client.get(f"/contacts/import/{import_id}/report-faults")
    assert gone.status_code == 404
    assert gone.json()["message"].endswith("ERROR_IMPORT_REPORT_NOT_FOUND")


def test_never_opened_is_year_one_and_endpoint_has_a_slash(client: httpx.Client, account: Account) -> None:
    book = account.create_book("News")
    account.add_contacts(book, ["ann@example.com", "bob@example.com"])
    campaign = account.send_campaign("Spring", [book], opens=["ann@example.com"])
    rows = {r["email"]: r for r in client.get(f"/campaigns/{campaign.id}/activities").json()}
    assert rows["bob@example.com"]["dateFirstOpened"] == "0001-01-01T00:00:00"
    assert rows["bob@example.com"]["dateLastOpened"] == "0001-01-01T00:00:00"
    assert rows["ann@example.com"]["dateFirstOpened"].startswith("20")
    info = client.get("/account-info").json()
    endpoint = next(p["value"] for p in info["properties"] if p["name"] == "ApiEndpoint")
    assert endpoint.endswith("/")
