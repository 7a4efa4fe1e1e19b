"""The client's calls for asynchronous removal (reference §15): ``contacts/delete`` answered 202 with a job, and
``contacts/{id}/address-books``, which the export uses to confirm a removal was applied."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from dotsync.dotmailer.errors import ApiNotFoundError
from tests.support import ENDPOINT
from tests.support.fixtures import MakeClient

V2 = f"{ENDPOINT}/v2"
DATA = Path(__file__).parents[1] / "data"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def test_books_of_a_contact_vendor_shape(respx_mock: respx.MockRouter, make_client: MakeClient) -> None:
    route = respx_mock.get(f"{V2}/contacts/67/address-books").mock(
        return_value=httpx.Response(200, json=load("address_books.json"))
    )
    books = list(make_client().iter_contact_address_books(67))
    assert [b.id for b in books] == [1, 2, 3, 4]
    assert route.calls[0].request.url.params["select"] == "1000"


def test_books_of_a_contact_gone_from_the_account(
    respx_mock: respx.MockRouter, make_client: MakeClient
) -> None:
    respx_mock.get(f"{V2}/contacts/67/address-books").mock(
        return_value=httpx.Response(404, json={"message": "Error: ERROR_CONTACT_NOT_FOUND"})
    )
    with pytest.raises(ApiNotFoundError, match="ERROR_CONTACT_NOT_FOUND"):
        list(make_client().iter_contact_address_books(67))


def test_bulk_removal_answered_202_with_a_job(respx_mock: respx.MockRouter, make_client: MakeClient) -> None:
    route = respx_mock.post(f"{V2}/address-books/5/contacts/delete").mock(
        return_value=httpx.Response(
            202, json={"id": "5d7c1c43-2a3b-4a55-9c51-d1c8b5b0e1a2", "status": "Started"}
        )
    )
    assert make_client().remove_contacts_from_address_book(5, [21, 567]) == 2
    assert json.loads(route.calls[0].request.content) == [21, 567]
