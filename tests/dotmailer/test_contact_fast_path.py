"""ApiContactRow (a book listing's contact as the contact import uses it) reads every shape as ApiContact does:
the API's exact shape is built directly, anything unusual goes through ApiContact."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from dotsync.dotmailer.models import ApiContact, ApiContactRow, _contact_row_fast

CANONICAL = {
    "id": 7,
    "email": "Ann@Example.com",
    "optInType": "Single",
    "emailType": "Html",
    "status": "Subscribed",
    "dataFields": [
        {"key": "FIRSTNAME", "value": "Ann"},
        {"key": "SCORE", "value": 3},
        {"key": "X", "value": None},
    ],
}

SHAPES: list[dict[str, Any]] = [
    CANONICAL,
    {"email": "a@example.com"},
    {**CANONICAL, "dataFields": None},
    {**CANONICAL, "dataFields": []},
    {**CANONICAL, "id": None, "status": None},
    {**CANONICAL, "dataFields": [{"key": "FIRSTNAME", "value": "null"}]},  # user data: kept as text
    {**CANONICAL, "dataFields": [{"key": "A", "value": 1}, {"key": "A", "value": 2}]},  # the last wins
    # Not the API's exact shape: ApiContact reads them.
    {**CANONICAL, "status": "null"},
    {**CANONICAL, "id": "7"},
    {**CANONICAL, "id": ""},
    {**CANONICAL, "optInType": 3},
    {"Email": "a@example.com", "ID": 3, "Status": "Subscribed"},
    {**CANONICAL, "unknownKey": 1},
    {**CANONICAL, "dataFields": [{"Key": "A", "Value": 1}]},
    {**CANONICAL, "dataFields": [{"key": "A"}]},
    {**CANONICAL, "id": True},
]


def _through_contact(data: dict[str, Any]) -> ApiContactRow:
    return ApiContactRow.model_validate(data, context={})  # a context forces the general path


@pytest.mark.parametrize("data", SHAPES)
def test_a_row_reads_every_shape_as_api_contact_does(data: dict[str, Any]) -> None:
    row = ApiContactRow.model_validate(data)
    contact = ApiContact.model_validate(data)
    assert (row.id, row.email, row.opt_in_type, row.email_type, row.status) == (
        contact.id,
        contact.email,
        contact.opt_in_type,
        contact.email_type,
        contact.status,
    )
    assert row.data_fields == contact.data_field_map
    assert row.model_dump() == _through_contact(data).model_dump()
    assert row.model_fields_set == _through_contact(data).model_fields_set


def test_only_the_exact_shape_is_built_directly() -> None:
    assert _contact_row_fast(ApiContactRow, CANONICAL) is not None
    assert _contact_row_fast(ApiContactRow, {**CANONICAL, "status": "null"}) is None
    assert _contact_row_fast(ApiContactRow, {"Email": "a@example.com"}) is None
    assert _contact_row_fast(ApiContactRow, {"id": 1}) is None
    assert _contact_row_fast(ApiContactRow, [CANONICAL]) is None


@pytest.mark.parametrize(
    "data", [{"id": 1}, {"email": None}, {"email": "null"}, {**CANONICAL, "dataFields": 3}]
)
def test_invalid_contacts_are_still_refused(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match=r"email|data_fields|dataFields"):
        ApiContactRow.model_validate(data)
