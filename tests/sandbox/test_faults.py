"""Fault injection: 5xx, 429, slow, drops, drop-after-apply, the hourly limit; faults never change state."""

from __future__ import annotations

import httpx
import pytest

from dotsync.sandbox import Account, FaultConfig, Sandbox
from tests.support.fakes import FakeSleep

from .helpers import csv_bytes, upload_json


def test_injected_errors_never_change_state(sandbox: Sandbox, client: httpx.Client, account: Account) -> None:
    sandbox.faults.server_error_rate = 1.0
    sandbox.faults.html_error_share = 0.0
    response = client.post("/address-books", json={"Name": "Lost"})
    assert response.status_code in (500, 502, 503)
    assert response.json() == {"message": "An error has occurred."}
    sandbox.faults.html_error_share = 1.0
    html = client.post("/address-books", json={"Name": "Lost"})
    assert html.headers["content-type"].startswith("text/html")
    sandbox.faults.clear()
    sandbox.faults.rate_limit_rate = 1.0
    limited = client.post("/address-books", json={"Name": "Lost"})
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "2"
    assert int(limited.headers["x-ratelimit-reset"]) > 0
    sandbox.faults.clear()
    assert "Lost" not in [b.name for b in account.books.values()]
    assert [r.fault for r in sandbox.calls] == ["5xx", "5xx_html", "429"]
    assert client.post("/address-books", json={"Name": "Lost"}).status_code == 201


def test_dropped_connection_in_process(sandbox: Sandbox, client: httpx.Client, account: Account) -> None:
    sandbox.faults.schedule("drop", "/v2/address-books", method="POST")
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/address-books", json={"Name": "Lost"})
    assert "Lost" not in [b.name for b in account.books.values()]
    assert sandbox.calls.records[-1].status is None


def test_drop_after_apply_applies_then_loses_the_answer(
    sandbox: Sandbox, client: httpx.Client, account: Account
) -> None:
    book = account.create_book("Newsletter")
    sandbox.faults.schedule("drop_after_apply", "/v2/address-books/{id}/contacts/import")
    with pytest.raises(httpx.ReadError):
        upload_json(client, book.id, csv_bytes(["Email"], [["a@example.com"]]))
    assert len(account.imports) == 1  # the upload exists although the client never saw its id
    assert sandbox.calls.records[-1].fault == "drop_after_apply"
    assert upload_json(client, book.id, csv_bytes(["Email"], [["b@example.com"]])).status_code == 202


def test_slow_responses_use_the_injected_sleep(
    sandbox: Sandbox, client: httpx.Client, sandbox_sleep: FakeSleep
) -> None:
    sandbox.faults.slow_rate = 1.0
    sandbox.faults.slow_seconds = 30
    assert client.get("/address-books").status_code == 200
    assert sandbox_sleep.calls == [30]
    assert sandbox.calls.records[-1].fault == "slow"


def test_faults_can_target_endpoints(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.faults.server_error_rate = 1.0
    sandbox.faults.endpoints = frozenset({"/v2/data-fields"})
    assert client.get("/address-books").status_code == 200
    assert client.get("/data-fields").status_code >= 500


def test_random_faults_are_reproducible(account: Account) -> None:
    def statuses(seed: int) -> list[int]:
        sandbox = Sandbox(
            seed=seed, faults=FaultConfig(seed=seed, server_error_rate=0.3, rate_limit_rate=0.2)
        )
        sandbox.add_account("u", "p")
        with httpx.Client(transport=sandbox.transport(), base_url="http://s.test/v2", auth=("u", "p")) as c:
            return [c.get("/address-books").status_code for _ in range(40)]

    assert statuses(1) == statuses(1)
    assert statuses(1) != statuses(2)
    assert {200, 429} <= set(statuses(1))


def test_hourly_call_limit(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.faults.hourly_call_limit = 3
    assert [client.get("/address-books").status_code for _ in range(3)] == [200, 200, 200]
    capped = client.get("/account-info")
    assert capped.status_code == 400
    assert capped.json()["message"].endswith("ERROR_APIUSAGE_EXCEEDED")
    sandbox.advance(minutes=61)
    info = {p["name"]: p["value"] for p in client.get("/account-info").json()["properties"]}
    assert (info["ApiCallsInLastHour"], info["ApiCallsRemaining"]) == ("1", "2")


def test_endpoint_enforcement(sandbox: Sandbox, account: Account) -> None:
    account.api_endpoint = "https://r2-api.dotdigital.com"
    sandbox.enforce_endpoint = True
    with httpx.Client(transport=sandbox.transport(), auth=(account.username, account.password)) as c:
        info = c.get("https://r1-api.dotdigital.com/v2/account-info").json()
        endpoint = next(p["value"] for p in info["properties"] if p["name"] == "ApiEndpoint")
        assert endpoint == "https://r2-api.dotdigital.com/"
        assert c.get("https://r1-api.dotdigital.com/v2/address-books").status_code == 403
        assert c.get(endpoint + "v2/address-books").status_code == 200


def test_unknown_fault_kind(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="unknown fault kind 'explode'"):
        sandbox.faults.schedule("explode")
