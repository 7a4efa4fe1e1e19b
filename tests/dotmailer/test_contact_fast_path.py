"""ApiContact's fast path (a contact in the API's exact shape built without validators) gives the same model as
the general path for every shape, and leaves anything unusual to the general path."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from dotsync.dotmailer.models import ApiContact, ApiContactSuppression, _contact_fast

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
    # Not the API's exact shape: the general path decides.
    {**CANONICAL, "status": "null"},
    {**CANONICAL, "id": "7"},
    {**CANONICAL, "id": ""},
    {**CANONICAL, "optInType": 3},
    {"Email": "a@example.com", "ID": 3, "Status": "Subscribed"},
    {**CANONICAL, "unknownKey": 1},
    {**CANONICAL, "dataFields": [{"Key": "A", "Value": 1}]},
    {**CANONICAL, "id": True},
]


def _general(data: dict[str, Any]) -> ApiContact:
    return ApiContact.model_validate(data, context={})  # a context forces the general path


@pytest.mark.parametrize("data", SHAPES)
def test_fast_and_general_paths_agree(data: dict[str, Any]) -> None:
    fast = ApiContact.model_validate(data)
    general = _general(data)
    assert fast.model_dump() == general.model_dump()
    assert fast.model_fields_set == general.model_fields_set
    assert fast.data_field_map == general.data_field_map


def test_only_the_exact_shape_takes_the_fast_path() -> None:
    assert _contact_fast(ApiContact, CANONICAL) is not None
    assert _contact_fast(ApiContact, {**CANONICAL, "status": "null"}) is None
    assert _contact_fast(ApiContact, {"Email": "a@example.com"}) is None
    assert _contact_fast(ApiContact, {"id": 1}) is None


@pytest.mark.parametrize(
    "data", [{"id": 1}, {"email": None}, {"email": "null"}, {**CANONICAL, "dataFields": 3}]
)
def test_invalid_contacts_are_still_refused(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match=r"email|data_fields|dataFields"):
        ApiContact.model_validate(data)


def test_nested_contacts_validate_as_before() -> None:
    row = ApiContactSuppression.model_validate(
        {"suppressedContact": CANONICAL, "dateRemoved": "2026-01-01T00:00:00Z", "reason": "Unsubscribed"}
    )
    assert row.suppressed_contact.model_dump() == _general(CANONICAL).model_dump()
