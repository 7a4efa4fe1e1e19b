"""account-info, auth, routing errors, address books and paging, through the in-process transport."""

from __future__ import annotations

import httpx
import pytest

from dotsync.sandbox import Account, Sandbox
from tests.support import PASSWORD, USERNAME


def props(response: httpx.Response) -> dict[str, str]:
    return {p["name"]: p["value"] for p in response.json()["properties"]}


def test_account_info_reports_endpoint_and_call_budget(client: httpx.Client, account: Account) -> None:
    first = client.get("/account-info")
    assert first.status_code == 200
    body = first.json()
    assert body["id"] == account.id
    assert all(set(p) == {"name", "type", "value"} for p in body["properties"])
    values = props(first)
    assert (
        values["ApiEndpoint"] == "http://sandbox.test/"
    )  # with the trailing slash, as the real API writes it
    assert (values["ApiCallsInLastHour"], values["ApiCallsRemaining"]) == ("1", "1999")
    client.get("/address-books")
    assert props(client.get("/account-info"))["ApiCallsRemaining"] == "1997"


def test_account_info_endpoint_can_be_configured(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.api_endpoint = "https://r1-api.dotdigital.com"
    assert props(client.get("/account-info"))["ApiEndpoint"] == "https://r1-api.dotdigital.com/"


def test_calls_age_out_of_the_rolling_hour(sandbox: Sandbox, client: httpx.Client) -> None:
    client.get("/address-books")
    sandbox.advance(minutes=61)
    assert props(client.get("/account-info"))["ApiCallsInLastHour"] == "1"


@pytest.mark.parametrize("auth", [None, (USERNAME, "wrong"), ("nobody@x.com", PASSWORD)])
def test_bad_credentials_get_401(sandbox: Sandbox, account: Account, auth: tuple[str, str] | None) -> None:
    with httpx.Client(transport=sandbox.transport(), base_url="http://s.test/v2", auth=auth) as c:
        response = c.get("/account-info")
    assert response.status_code == 401
    assert response.json() == {"message": "Authorization has been denied for this request."}


def test_accounts_are_separate(sandbox: Sandbox, account: Account, client: httpx.Client) -> None:
    other = sandbox.add_account("other@apiconnector.com", "pw")
    other.create_book("Theirs")
    with httpx.Client(
        transport=sandbox.transport(), base_url="http://s.test/v2", auth=("other@apiconnector.com", "pw")
    ) as c:
        assert "Theirs" in [b["name"] for b in c.get("/address-books").json()]
    assert "Theirs" not in [b["name"] for b in client.get("/address-books").json()]
    assert sandbox.calls.count(account="other@apiconnector.com") == 1


def test_unknown_path_is_404_and_wrong_method_405(client: httpx.Client) -> None:
    assert client.get("/no-such-thing").status_code == 404
    assert client.get("/address-books/abc").status_code == 404
    assert client.patch("/address-books").status_code == 405


def test_system_books_are_listed_and_protected(client: httpx.Client, account: Account) -> None:
    names = [b["name"] for b in client.get("/address-books").json()]
    assert names[:2] == ["All Contacts", "Test"]
    for name in ("Test", "all contacts", "TEST"):
        response = client.post("/address-books", json={"Name": name})
        assert response.status_code == 400
        assert response.json()["message"].endswith("ERROR_ADDRESSBOOK_DUPLICATE")
    test_id = account.test_book.id
    response = client.post(f"/address-books/{test_id}/contacts/delete", json=[1])
    assert response.json()["message"].endswith("ERROR_ADDRESSBOOK_NOTWRITABLE")


def test_create_get_update_delete_book(client: httpx.Client) -> None:
    created = client.post("/address-books", json={"name": "Newsletter", "visibility": "Public"})
    assert created.status_code == 201
    book = created.json()
    assert book == {"id": book["id"], "name": "Newsletter", "visibility": "Public", "contacts": 0}
    assert client.get(f"/address-books/{book['id']}").json() == book
    dup = client.post("/address-books", json={"NAME": "newsletter"})
    assert dup.json() == {
        "message": "That name is in use already, please choose another. ERROR_ADDRESSBOOK_DUPLICATE"
    }
    assert [b["name"] for b in client.get("/address-books/public").json()] == ["Newsletter"]
    renamed = client.put(f"/address-books/{book['id']}", json={"Name": "Weekly", "Visibility": "Private"})
    assert renamed.json()["name"] == "Weekly"
    assert client.delete(f"/address-books/{book['id']}").status_code == 204
    missing = client.get(f"/address-books/{book['id']}")
    assert (missing.status_code, missing.json()) == (404, {"message": "Error: ERROR_ADDRESSBOOK_NOT_FOUND"})


def test_create_book_rejects_bad_input(client: httpx.Client) -> None:
    assert client.post("/address-books", json={"Visibility": "Private"}).status_code == 400
    assert client.post("/address-books", json={"Name": "X", "Visibility": "Secret"}).status_code == 400
    assert client.post("/address-books", content=b"{not json").status_code == 400


@pytest.mark.parametrize("query", ["select=0", "select=1001", "select=abc", "skip=-1"])
def test_paging_bounds(client: httpx.Client, query: str) -> None:
    response = client.get(f"/address-books?{query}")
    assert response.status_code == 400
    assert response.json()["message"]


def test_paging_select_and_skip(client: httpx.Client, account: Account) -> None:
    for n in range(5):
        account.create_book(f"Book {n}")
    assert len(client.get("/address-books?select=1000").json()) == 7
    page = client.get("/address-books", params={"select": 3, "skip": 3}).json()
    assert [b["name"] for b in page] == ["Book 1", "Book 2", "Book 3"]
    assert client.get("/address-books?select=3&skip=7").json() == []
    assert client.get("/address-books?Select=2&SKIP=0").json()[1]["name"] == "Test"
