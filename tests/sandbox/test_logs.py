"""The call log and the history log."""

from __future__ import annotations

import httpx

from dotsync.sandbox import Account, Sandbox


def test_call_log_counts_per_endpoint(sandbox: Sandbox, client: httpx.Client, account: Account) -> None:
    book = account.create_book("B")
    client.get("/account-info")
    client.get(f"/address-books/{book.id}/contacts")
    client.get(f"/address-books/{book.id}/contacts?skip=1000")
    client.get("/campaigns/12/summary")
    assert sandbox.calls.count("/v2/address-books/{id}/contacts") == 2
    assert sandbox.calls.counts()["GET /v2/campaigns/{id}/summary"] == 1
    assert sandbox.calls.count(status=404) == 1
    record = sandbox.calls.records[0]
    assert (record.method, record.template, record.status, record.account) == (
        "GET",
        "/v2/account-info",
        200,
        account.username,
    )
    sandbox.calls.reset()
    assert len(sandbox.calls) == 0


def test_history_records_changes(sandbox: Sandbox, account: Account) -> None:
    book = account.create_book("B")
    account.add_contacts(book, ["a@example.com"])
    account.unsubscribe(book, "a@example.com")
    account.suppress("b@example.com", "IspComplained")
    account.change_email("b@example.com", "b2@example.com")
    actions = [(e.action, e.email, e.detail) for e in sandbox.history]
    assert actions == [
        ("add", "a@example.com", ""),
        ("unsubscribe", "a@example.com", ""),
        ("suppress", "b@example.com", "IspComplained"),
        ("email_change", "b2@example.com", "b@example.com"),
    ]
    assert sandbox.history.events(book_id=book.id, action="add")[0].source == "world"
    sandbox.history.clear()
    sandbox.history.enabled = False
    account.add_contacts(book, ["c@example.com"])
    assert len(sandbox.history) == 0
