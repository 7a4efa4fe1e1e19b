"""The error table: every row, through the client as users meet it, with exit codes and clear messages."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
import respx

from dotsync.dotmailer import DotmailerClient
from dotsync.dotmailer.errors import (
    ERROR_TABLE,
    AccessDeniedError,
    ApiNotFoundError,
    ApiUsageExceededError,
    AuthenticationError,
    BadRequestError,
    DotmailerError,
    DuplicateError,
    MalformedResponseError,
    RateLimitedError,
    RateLimitWaitError,
    ServerError,
    TooManyActiveImportsError,
    classify,
    error_for_response,
    extract_code,
)
from dotsync.errors import ConfigError, DotsyncError, exit_code_for
from tests.support import API, ENDPOINT, PASSWORD, USERNAME

from .conftest import (
    ACCOUNT_INFO,
)

CAPPED = (
    "Your account has generated excess API activity and is being temporarily capped. Please contact support. "
    "ERROR_APIUSAGE_EXCEEDED"
)

ROWS = [
    (401, {"message": "Authorization has been denied for this request."}, AuthenticationError, 3),
    (400, {"message": "Error: ERROR_INVALID_LOGIN"}, AuthenticationError, 3),
    (403, {"message": "Forbidden: Access is denied"}, AccessDeniedError, 3),
    (404, None, ApiNotFoundError, 1),
    (400, {"message": "Error: ERROR_ADDRESSBOOK_NOT_FOUND"}, ApiNotFoundError, 1),
    (400, {"message": "Error: ERROR_DATAFIELD_NOTFOUND"}, ApiNotFoundError, 1),
    (400, {"message": "invalid data"}, BadRequestError, 1),
    (409, {"message": "conflict"}, BadRequestError, 1),
    (
        400,
        {"message": "That name is in use already, please choose another. ERROR_ADDRESSBOOK_DUPLICATE"},
        DuplicateError,
        1,
    ),
    (400, {"message": "Field already exists. ERROR_NON_UNIQUE_DATAFIELD"}, DuplicateError, 1),
    # Out of attempts on a 429: a RateLimitedError that also stops the run early (resuming next run).
    (429, {"message": "Too many requests"}, RateLimitWaitError, 1),
    (500, {"message": "Some error"}, ServerError, 1),
    (503, {"message": "Error: ERROR_SYSTEM_SERVICETEMPORARILYUNAVAILABLE"}, ServerError, 1),
    (400, {"message": "Error: ERROR_IMPORT_TOOMANYACTIVEIMPORTS"}, TooManyActiveImportsError, 1),
    (400, {"message": CAPPED}, ApiUsageExceededError, 1),
    (403, {"message": CAPPED}, ApiUsageExceededError, 1),
    (429, {"message": CAPPED}, ApiUsageExceededError, 1),
    (302, None, MalformedResponseError, 1),
]


@pytest.mark.parametrize(("status", "body", "expected", "exit_code"), ROWS)
def test_error_table_through_the_client(
    respx_mock: respx.MockRouter,
    make_client: Callable[..., DotmailerClient],
    status: int,
    body: dict[str, str] | None,
    expected: type[DotmailerError],
    exit_code: int,
) -> None:
    respx_mock.get(f"{ENDPOINT}/v2/address-books/5").mock(return_value=httpx.Response(status, json=body))
    # A 401/403 makes the client ask account-info once whether the endpoint moved; here it did not.
    respx_mock.get(f"{API}/v2/account-info").mock(return_value=httpx.Response(200, json=ACCOUNT_INFO))
    client = make_client(max_attempts=1)
    with pytest.raises(DotmailerError) as info:
        client.get_address_book(5)
    error = info.value
    assert type(error) is expected
    assert isinstance(error, DotsyncError)
    assert exit_code_for(error) == exit_code
    assert error.status == status
    assert error.call == "GET /v2/address-books/{id}"
    assert str(error).startswith("Dotmailer API call GET /v2/address-books/{id} failed: HTTP ")
    if body is not None:
        assert body["message"] in str(error)
        assert error.api_message == body["message"]
    assert PASSWORD not in str(error)
    assert USERNAME not in str(error)


def test_credential_errors_are_config_errors() -> None:
    assert issubclass(AuthenticationError, ConfigError)
    assert issubclass(AccessDeniedError, AuthenticationError)


def test_every_table_row_is_reachable() -> None:
    # Each row must win for at least one input, or it is dead weight in the one table.
    probes = [(None, "ERROR_APIUSAGE_EXCEEDED"), (None, "ERROR_IMPORT_TOOMANYACTIVEIMPORTS"),
              (None, "ERROR_SYSTEM_SERVICETEMPORARILYUNAVAILABLE"), (None, "ERROR_ACCOUNT_INVALID"),
              (None, "ERROR_NON_UNIQUE_DATAFIELD"), (None, "ERROR_CONTACT_NOT_FOUND"),
              (None, "ERROR_DATAFIELD_NOTFOUND"), (401, None), (403, None), (404, None), (429, None),
              (418, None), (599, None)]  # fmt: skip
    winners = set()
    for status, code in probes:
        for index, rule in enumerate(ERROR_TABLE):
            if rule.matches(status, code):
                winners.add(index)
                break
    assert winners == set(range(len(ERROR_TABLE)))


def test_classify_falls_back_to_malformed_for_unmapped_statuses() -> None:
    assert classify(200, None) is MalformedResponseError
    assert classify(None, None) is MalformedResponseError
    assert classify(None, "ERROR_UNKNOWN") is MalformedResponseError


def test_extract_code() -> None:
    assert extract_code("Contact is suppressed. ERROR_CONTACT_SUPPRESSED") == "ERROR_CONTACT_SUPPRESSED"
    assert extract_code("Authorization has been denied for this request.") is None
    assert extract_code(None) is None


def test_error_for_response_builds_hints_and_detail() -> None:
    error = error_for_response(call="GET /v2/x", status=401, api_message=None, detail="empty response body")
    assert str(error) == (
        "Dotmailer API call GET /v2/x failed: HTTP 401: empty response body (check the API user name and password)"
    )
    limited = error_for_response(call="GET /v2/x", status=429, api_message="slow", retry_after=9.0)
    assert isinstance(limited, RateLimitedError)
    assert limited.retry_after == 9.0
