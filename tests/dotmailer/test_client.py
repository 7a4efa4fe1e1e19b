"""The client against respx: every method's request (path, query, auth, body) and response handling."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
import respx

from dotsync import __version__
from dotsync.dotmailer import (
    ApiCall,
    DotmailerClient,
    format_path_date,
)
from dotsync.dotmailer.client import normalise_base_url
from dotsync.dotmailer.errors import (
    ApiNotFoundError,
    AuthenticationError,
    BadRequestError,
    BudgetExhaustedError,
    DotmailerError,
    DuplicateError,
    InvalidEndpointError,
    MalformedResponseError,
    OutcomeUnknownError,
    PagingLoopError,
    RateLimitedError,
    ReportGoneError,
    ServerError,
    TooManyActiveImportsError,
    TransportError,
    UploadOutcomeUnknownError,
)
from dotsync.errors import EXIT_CONFIG, exit_code_for
from tests.support import API, CLIENT_NOW, ENDPOINT, PASSWORD, USERNAME
from tests.support.fakes import FakeSleep, FixedRandom
from tests.support.fixtures import MakeClient

from .conftest import (
    ACCOUNT_INFO,
    ACTIVITIES_LOWER,
    ADDRESS_BOOKS,
    CAMPAIGNS,
    CLICKS,
    CONTACTS,
    FAULTS_CSV,
    OPENS,
    SUMMARY,
    SUPPRESSED_M2,
    UNSUBSCRIBED,
)

V2 = f"{ENDPOINT}/v2"
AUTH = "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
SINCE = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
SINCE_PATH = "2024-01-02T03:04:05Z"


def _params(route: respx.Route, index: int = 0) -> dict[str, str]:
    return dict(route.calls[index].request.url.params)


def _assert_standard_headers(request: httpx.Request) -> None:
    assert request.headers["Authorization"] == AUTH
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"] == f"dotsync/{__version__}"


# --- construction and endpoint discovery ----------------------------------------------------------------------


def test_connect_discovers_the_endpoint_and_uses_it_for_later_calls(
    respx_mock: respx.MockRouter, make_client: MakeClient
) -> None:
    info_route = respx_mock.get(f"{API}/v2/account-info").mock(
        return_value=httpx.Response(200, json=ACCOUNT_INFO)
    )
    books = respx_mock.get(f"{V2}/address-books").mock(return_value=httpx.Response(200, json=ADDRESS_BOOKS))
    client = make_client(endpoint=None)
    assert client.endpoint is None
    assert client.calls_remaining is None

    info = client.connect()

    assert info.name == "Demo"
    assert info.main_email == "demo@apiconnector.com"
    assert client.endpoint == "https://r1-api.dotmailer.com"
    assert client.account_info is info
    _assert_standard_headers(info_route.calls[0].request)
    assert [b.id for b in client.iter_address_books()] == [1, 2, 3, 4]
    assert books.call_count == 1
    _assert_standard_headers(books.calls[0].request)
    assert client.calls_remaining == 1985 - 1


def test_a_stored_endpoint_skips_discovery(respx_mock: respx.MockRouter, make_client: MakeClient) -> None:
    route = respx_mock.get(f"{V2}/address-books/1").mock(
        return_value=httpx.Response(200, json=ADDRESS_BOOKS[0])
    )
    client = make_client(endpoint="https://r1-api.dotmailer.com/v2/")
    assert client.endpoint == ENDPOINT
    assert client.get_address_book(1).name == "Address book 1"
    assert route.call_count == 1
    assert client.calls_made == 1


def test_connect_still_works_with_a_stored_endpoint_and_follows_a_moved_account(
    respx_mock: respx.MockRouter, make_client: MakeClient
) -> None:
    moved = {"id": 1, "properties": [{"name": "ApiEndpoint", "value": "https://r2-api.dotdigital.com/v2/"}]}
    respx_mock.get(f"{API}/v2/account-info").mock(return_value=httpx.Response(200, json=moved))
    client = make_client()
    client.connect()
    assert client.endpoint == "https://r2-api.dotdigital.com"


def test_first_call_without_an_endpoint_connects_first(
    respx_mock: respx.MockRouter, make_client: MakeClient
) -> None:
    respx_mock.get(f"{API}/v2/account-info").mock(return_value=httpx.Response(200, json=ACCOUNT_INFO))
    route = respx_mock.get(f"{V2}/campaigns/6").mock(return_value=httpx.Response(200, json=CAMPAIGNS[0]))
    client = make_client(endpoint=None)
    assert client.get_campaign(6).name == "Financial update"
    assert route.call_count == 1
    assert client.calls_by_endpoint == {"GET /v2/account-info": 1, "GET /v2/campaigns/{id}": 1}


def test_missing_api_endpoint_falls_back_to_the_configured_url(
    respx_mock: respx.MockRouter, make_client: MakeClient
) -> None:
    respx_mock.get(f"{API}/v2/account-info").mock(
        return_value=httpx.Response(200, json={"id": 3, "properties": []})
    )
    client = make_client(endpoint=None, api_url=f"{API}/v2/")
    client.connect()
    assert client.endpoint == API
    assert client.api_url == API


def test_an_insecure_discovered_endpoint_is_refused(
    respx_mock: respx.MockRouter, make_client: MakeClient
) -> None:
    evil = {"properties": [{"name": "ApiEndpoint", "value": "http://attacker.example.com"}]}
    respx_mock.get(f"{API}/v2/account-info").mock(return_value=httpx.Response(200, json=evil))
    client = make_client(endpoint=None)
    with pytest.raises(InvalidEndpointError) as info:
        client.connect()
    assert exit_code_for(info.value) == EXIT_CONFIG
    assert client.endpoint is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://r1-api.dotdigital.com", "https://r1-api.dotdigital.com"),
        (" https://api.dotmailer.com/v2/ ", "https://api.dotmailer.com"),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("http://localhost:8765/v2", "http://localhost:8765"),
        ("http://[::1]:9000", "http://[::1]:9000"),
    ],
)
def test_allowed_api_urls(url: str, expected: str) -> None:
    assert normalise_base_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://r1-api.dotdigital.com",
        "ftp://example.com",
        "r1-api.dotdigital.com",
        "https://",
        "https://u:p@host.com",
    ],
)
def test_refused_api_urls(url: str) -> None:
    with pytest.raises(InvalidEndpointError) as info:
        normalise_base_url(url)
    assert "u:p" not in str(info.value)


def test_missing_credentials_are_a_config_error() -> None:
    with pytest.raises(AuthenticationError) as info:
        DotmailerClient(USERNAME, "")
    assert exit_code_for(info.value) == EXIT_CONFIG


def test_invalid_page_size_is_refused() -> None:
    with pytest.raises(ValueError, match="page_size must be between 1 and 1000"):
        DotmailerClient(USERNAME, PASSWORD, page_size=1001)


def test_context_manager_closes_the_http_client() -> None:
    with DotmailerClient(USERNAME, PASSWORD) as client:
        assert not client._http.is_closed
    assert client._http.is_closed
    assert PASSWORD not in repr(client)


def test_bad_credentials_on_connect(respx_mock: respx.MockRouter, make_client: MakeClient) -> None:
    route = respx_mock.get(f"{API}/v2/account-info").mock(
        return_value=httpx.Response(401, json={"message": "Authorization has been denied for this request."})
    )
    client = make_client(endpoint=None)
    with pytest.raises(AuthenticationError) as info:
        client.connect()
    assert route.call_count == 1  # 401 is never retried
    assert exit_code_for(info.value) == EXIT_CONFIG
    assert "check the API user name and password" in str(info.value)


def test_account_info_with_a_message_body_is_an_error(
    respx_mock: respx.MockRouter, make_client: MakeClient
) -> None:
    respx_mock.get(f"{API}/v2/account-info").mock(
        return_value=httpx.Response(200, json={"message": "Error: ERROR_ACCOUNT_INVALID"})
    )
    with pytest.raises(AuthenticationError):
        make_client(endpoint=None).connect()


# --- address books --------------------------------------------------------------------------------------------


def test_iter_address_books_pages_with_overlap_and_dedupe(
    respx_mock: respx.MockRouter, make_client: MakeClient
) -> None:
    pages = [ADDRESS_BOOKS[0:2], ADDRESS_BOOKS[1:3], ADDRESS_BOOKS[3:4]]
    route = respx_mock.get(f"{V2}/address-books").mock(
        side_effect=[httpx.Response(200, json=p) for p in pages]
    )
    client = make_client(page_size=2)
    assert [b.id for b in client.iter_address_books()] == [1, 2, 3, 4]
    assert [_params(route, i) for i in range(3)] == [
        {"select": "2", "skip": "0"},
        {"select": "2", "skip": "2"},
        {"select": "2", "skip": "4"},
    ]
    assert client.calls_by_endpoint["GET /v2/address-books"] == 3


def test_iter_address_books_detects_a_server_that_ignores_skip(
    respx_mock: respx.MockRouter, make_client: MakeClient
) -> None:
    respx_mock.get(f"{V2}/address-books").mock(return_value=httpx.Response(200, json=ADDRESS_BOOKS[:2]))
    client = make_client(page_size=2)
    with pytest.raises(PagingLoopError) as info:
        list(client.iter_address_books())
    assert "GET /v2/address-books" in str(info.value)
    assert client.calls_made == 3


def test_get_address_book(respx_mock: respx.MockRouter, client: DotmailerClient) -> None:
    route = respx_mock.get(f"{V2}/address-books/3").mock(
        return_value=httpx.Response(200, json=ADDRESS_BOOKS[2])
    )
    book = client.get_address_book(3)
    assert (book.id, book.name, book.visibility, book.contacts) == (3, "Address book 3", "Private", 7)
    _assert_standard_headers(route.calls[0].request)


def test_create_address_book(respx_mock: respx.MockRouter, client: DotmailerClient) -> None:
    created = {"id": 1, "name": "My Address Book", "visibility": "Public", "contacts": 0}
    route = respx_mock.post(f"{V2}/address-books").mock(return_value=httpx.Response(201, json=created))
    book = client.create_address_book("My Address Book", visibility="Public")
    assert (book.id, book.contacts) == (1, 0)
    request = route.calls[0].request
    assert json.loads(request.content) == {"Name": "My Address Book", "Visibility": "Public"}
    assert request.headers["Content-Type"] == "application/json"
    _assert_standard_headers(request)


def test_create_address_book_duplicate_name(respx_mock: respx.MockRouter, client: DotmailerClient) -> None:
    message = "That name is in use already, please choose another. ERROR_ADDRESSBOOK_DUPLICATE"
    respx_mock.post(f"{V2}/address-books").mock(return_value=httpx.Response(400, json={"message": message}))
    with pytest.raises(DuplicateError) as info:
        client.create_address_book("Test")
    assert info.value.code == "ERROR_ADDRESSBOOK_DUPLICATE"


# --- contacts -------------------------------------------------------------------------------------------------


def test_iter_address_book_contacts_all(respx_mock: respx.MockRouter, client: DotmailerClient) -> None:
    route = respx_mock.get(f"{V2}/address-books/25/contacts").mock(
        return_value=httpx.Response(200, json=CONTACTS)
    )
    contacts = list(client.iter_address_book_contacts(25))
    assert [c.id for c in contacts] == [11, 67, 75]
    assert contacts[1].data_field_map["FIRSTNAME"] == "Alex"
    assert _params(route) == {"withFullData": "true", "select": "1000", "skip": "0"}


def test_iter_address_book_contacts_modified_since(
    respx_mock: respx.MockRouter, client: DotmailerClient
) -> None:
    route = respx_mock.get(f"{V2}/address-books/25/contacts/modified-since/{SINCE_PATH}").mock(
        return_value=httpx.Response(200, json=[])
    )
    plus_two = SINCE.astimezone(timezone(timedelta(hours=2)))
    assert list(client.iter_address_book_contacts(25, modified_since=plus_two, with_full_data=False)) == []
    assert _params(route) == {"withFullData": "false", "select": "1000", "skip": "0"}
    assert client.calls_by_endpoint == {"GET /v2/address-books/{id}/contacts/modified-since/{date}": 1}


def test_contact_pages_overlap_by_100_rows(respx_mock: respx.MockRouter, client: DotmailerClient) -> None:
    first = [{"id": i, "email": f"c{i}@x.com"} for i in range(1000)]
    second = [{"id": i, "email": f"c{i}@x.com"} for i in range(900, 1500)]
    route = respx_mock.get(f"{V2}/address-books/25/contacts").mock(
        side_effect=[httpx.Response(200, json=first), httpx.Response(200, json=second)]
    )
    ids = [c.id for c in client.iter_address_book_contacts(25)]
    assert ids == list(range(1500))
    assert [_params(route, i)["skip"] for i in range(2)] == ["0", "900"]


@pytest.mark.parametrize(
    ("key", "raw_path"),
    [
        (67, "/v2/contacts/67"),
        ("a+b@x.com", "/v2/contacts/a%2Bb%40x.com"),
        ("o'neil/x@y.z", "/v2/contacts/o%27neil%2Fx%40y.z"),
    ],
)
def test_get_contact_encodes_emails(
    respx_mock: respx.MockRouter, client: DotmailerClient, key: int | str, raw_path: str
) -> None:
    route = respx_mock.get(url__regex=r".*/v2/contacts/.*").mock(
        return_value=httpx.Response(200, json=CONTACTS[1])
    )
    assert client.get_contact(key).id == 67
    assert route.calls[0].request.url.raw_path.decode() == raw_path


def test_get_contact_not_found(respx_mock: respx.MockRouter, client: DotmailerClient) -> None:
    route = respx_mock.get(f"{V2}/contacts/9").mock(
        return_value=httpx.Response(404, json={"message": "Error: ERROR_CONTACT_NOT_FOUND"})
    )
    with pytest.raises(ApiNotFoundError) as info:
        client.get_contact(9)
    assert info.value.code == "ERROR_CONTACT_NOT_FOUND"
    assert route.call_count == 1


def test_remove_contacts_in_batches(
    respx_mock: respx.MockRouter, client: DotmailerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("dotsync.dotmailer.client.REMOVE_BATCH_SIZE", 2)
    route = respx_mock.post(f"{V2}/address-books/25/contacts/delete").mock(return_value=httpx.Response(204))
    assert client.remove_contacts_from_address_book(25, iter([145, 149, 150])) == 3
    assert [json.loads(call.request.content) for call in route.calls] == [[145, 149], [150]]
    assert client.remove_contacts_from_address_book(25, []) == 0
    assert route.call_count == 2


def test_remove_contacts_is_retried_as_idempotent(
    respx_mock: respx.MockRouter, client: DotmailerClient, fake_sleep: FakeSleep
) -> None:
    route = respx_mock.post(f"{V2}/address-books/25/contacts/delete").mock(
        side_effect=[httpx.ReadTimeout("timed out"), httpx.Response(500), httpx.Response(204)]
    )
    client.remove_contacts_from_address_book(25, [1])
    assert route.call_count == 3
    assert fake_sleep.calls == [2.0, 4.0]


def test_unsubscribed_since(respx_mock: respx.MockRouter, client: DotmailerClient) -> None:
    route = respx_mock.get(f"{V2}/address-books/25/contacts/unsubscribed-since/{SINCE_PATH}").mock(
        return_value=httpx.Response(200, json=UNSUBSCRIBED)
    )
    rows = list(client.iter_address_book_unsubscribed_since(25, SINCE))
    assert [(r.contact_id, r.email, r.reason) for r in rows] == [(42, "second@mail.com", "Unsubscribed")]
    assert _params(route) == {"select": "1000", "skip": "0"}


def test_suppressed_since(respx_mock: respx.MockRouter, client: DotmailerClient) -> None:
    route = respx_mock.get(f"{V2}/contacts/suppressed-since/1971-01-01T00:00:00Z").mock(
        return_value=httpx.Response(200, json=SUPPRESSED_M2)
    )
    rows = list(client.iter_suppressed_since(datetime(1971, 1, 1)))
    assert [r.email for r in rows][1:] == ["test-suppress@emailsim.io", "i@resubscribedrecently.com"]
    assert _params(route) == {"select": "1000", "skip": "0"}


# --- contact imports ------------------------------------------------------------------------------------------

IMPORT_ID = "2d2cac85-e292-4f35-988c-ddb5ba40dda0"
CSV_BYTES = b"Email,FIRSTNAME\r\nann@example.com,Ann\r\n"


def test_start_contact_import_uploads_multipart(
    respx_mock: respx.MockRouter, client: DotmailerClient
) -> None:
    route = respx_mock.post(f"{V2}/address-books/25/contacts/import").mock(
        return_value=httpx.Response(202, json={"id": IMPORT_ID, "status": "NotFinished"})
    )
    result = client.start_contact_import(25, CSV_BYTES, filename="export-1.csv")
    assert (result.id, result.status) == (IMPORT_ID, "NotFinished")
    request = route.calls[0].request
    _assert_standard_headers(request)
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    body = request.content
    assert b'Content-Disposition: form-data; name="file"; filename="export-1.csv"' in body
    assert b"Content-Type: text/csv" in body
    assert CSV_BYTES in body


def test_start_contact_import_too_many_active(respx_mock: respx.MockRouter, client: DotmailerClient) -> None:
    route = respx_mock.post(f"{V2}/address-books/25/contacts/import").mock(
        return_value=httpx.Response(400, json={"message": "Error: ERROR_IMPORT_TOOMANYACTIVEIMPORTS"})
    )
    with pytest.raises(TooManyActiveImportsError):
        client.start_contact_import(25, CSV_BYTES)
    assert route.call_count == 1


def test_import_error_message_in_a_2xx_body(respx_mock: respx.MockRouter, client: DotmailerClient) -> None:
    respx_mock.post(f"{V2}/address-books/25/contacts/import").mock(
        return_value=httpx.Response(200, json={"message": "file must be valid"})
    )
    with pytest.raises(BadRequestError) as info:
        client.start_contact_import(25, CSV_BYTES)
    assert "file must be valid" in str(info.value)


def test_get_contact_import_and_report(respx_mock: respx.MockRouter, client: DotmailerClient) -> None:
    respx_mock.get(f"{V2}/contacts/import/{IMPORT_ID}").mock(
        return_value=httpx.Response(200, json={"id": IMPORT_ID, "status": "Finished"})
    )
    respx_mock.get(f"{V2}/contacts/import/{IMPORT_ID}/report").mock(
        return_value=httpx.Response(200, json={"newContacts": 3, "updatedContacts": 0, "invalidEntries": 1})
    )
    assert client.get_contact_import(IMPORT_ID).status == "Finished"
    report = client.get_contact_import_report(IMPORT_ID)
    assert (report.new_contacts, report.invalid_entries, report.hard_bounced) == (3, 1, 0)


def test_import_report_not_ready(respx_mock: respx.MockRouter, client: DotmailerClient) -> None:
    message = "Import is not processed yet or completed with error. ERROR_IMPORT_REPORT_NOT_FOUND"
    respx_mock.get(f"{V2}/contacts/import/{IMPORT_ID}/report").mock(
        return_value=httpx.Response(404, json={"message": message})
    )
    with pytest.raises(ApiNotFoundError):
        client.get_contact_import_report(IMPORT_ID)


def test_import_faults_csv_with_bom(respx_mock: respx.MockRouter, client: DotmailerClient) -> None:
    route = respx_mock.get(f"{V2}/contacts/import/{IMPORT_ID}/report-faults").mock(
        return_value=httpx.Response(
            200, content=b"\xef\xbb\xbf" + FAULTS_CSV.encode(), headers={"Content-Type": "text/csv"}
        )
    )
    faults = client.get_contact_import_faults(IMPORT_ID)
    assert [(f.reason, f.email) for f in faults] == [
        ("Hard bounced", "test1@ex.com"),
        ("Hard bounced", "catherinejhinojosa@armyspy.com"),
        ("Hard bounced", "frankjclarke@gustr.com"),
    ]
    assert faults[0].columns == {
        "firstname": "Bonnie",
        "lastname": "Ibrahim",
        "gender": "",
        "fullname": "",
        "postcode": "",
    }
    assert "text/csv" in route.calls[0].request.headers["Accept"]


def test_import_faults_header_order_and_case_do_not_matter(
    respx_mock: respx.MockRouter, client: DotmailerClient
) -> None:
    text = "EMAIL,FIRSTNAME,REASON\r\nx@y.z,Ann,Invalid Email\r\n\r\nshort@y.z\r\n"
    respx_mock.get(f"{V2}/contacts/import/{IMPORT_ID}/report-faults").mock(
        return_value=httpx.Response(200, text=text)
    )
    faults = client.get_contact_import_faults(IMPORT_ID)
    assert [(f.email, f.reason, f.columns) for f in faults] == [
        ("x@y.z", "Invalid Email", {"FIRSTNAME": "Ann"}),
        ("short@y.z", "", {"FIRSTNAME": ""}),
    ]


def test_import_faults_without_a_header_row_use_column_positions(
    respx_mock: respx.MockRouter, client: DotmailerClient
) -> None:
    respx_mock.get(f"{V2}/contacts/import/{IMPORT_ID}/report-faults").mock(
        return_value=httpx.Response(200, text="Why,Who\nInvalid Email,invisible\n")
    )
    faults = client.get_contact_import_faults(IMPORT_ID)
    assert [(f.reason, f.email) for f in faults] == [("Invalid Email", "invisible")]


def test_import_faults_empty_body_means_the_report_is_gone(
    respx_mock: respx.MockRouter, client: DotmailerClient
) -> None:
    # A report without faults still has its header row; an expired one has come back with nothing at all.
    respx_mock.get(f"{V2}/contacts/import/{IMPORT_ID}/report-faults").mock(
        return_value=httpx.Response(200, text="\ufeff")
    )
    with pytest.raises(ReportGoneError, match="no longer available"):
        client.get_contact_import_faults(IMPORT_ID)


def test_import_faults_header_only_means_no_faults(
    respx_mock: respx.MockRouter, client: DotmailerClient
) -> None:
    respx_mock.get(f"{V2}/contacts/import/{IMPORT_ID}/report-faults").mock(
        return_value=httpx.Response(200, text="\ufeffReason,Email\r\n")
    )
    assert client.get_contact_import_faults(IMPORT_ID) == []


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (httpx.Response(200, json={"message": "Error: ERROR_IMPORT_NOT_FOUND"}), ApiNotFoundError),
        (httpx.Response(200, json={"message": "something odd"}), BadRequestError),
        (httpx.Response(200, json=[1, 2]), MalformedResponseError),
        (httpx.Response(200, text="<html><body>Oops</body></html>"), MalformedResponseError),
        (httpx.Response(200, text="justonecolumn\nrow\n"), MalformedResponseError),
    ],
)
def test_import_faults_errors(
    respx_mock: respx.MockRouter, client: DotmailerClient, response: httpx.Response, expected: type[Exception]
) -> None:
    respx_mock.get(f"{V2}/contacts/import/{IMPORT_ID}/report-faults").mock(return_value=response)
    with pytest.raises(expected):
        client.get_contact_import_faults(IMPORT_ID)


# --- data fields ----------------------------------------------------------------------------------------------


def test_list_data_fields(respx_mock: respx.MockRouter, client: DotmailerClient) -> None:
    fields = [{"name": "FIRSTNAME", "type": "String", "visibility": "Public", "defaultValue": None}]
    route = respx_mock.get(f"{V2}/data-fields").mock(return_value=httpx.Response(200, json=fields))
    assert [(f.name, f.type) for f in client.list_data_fields()] == [("FIRSTNAME", "String")]
    assert _params(route) == {}


def test_create_data_field(respx_mock: respx.MockRouter, client: DotmailerClient) -> None:
    answer = {"name": "SCORE", "type": "Numeric", "visibility": "Private", "defaultValue": 0}
    route = respx_mock.post(f"{V2}/data-fields").mock(return_value=httpx.Response(201, json=answer))
    field = client.create_data_field("SCORE", "Numeric", default_value=0)
    assert (field.name, field.default_value) == ("SCORE", 0)
    assert json.loads(route.calls[0].request.content) == {
        "Name": "SCORE",
        "Type": "Numeric",
        "Visibility": "Private",
        "DefaultValue": 0,
    }
    client.create_data_field("NICK", "String", visibility="Public")
    assert json.loads(route.calls[1].request.content) == {
        "Name": "NICK",
        "Type": "String",
        "Visibility": "Public",
    }


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (httpx.Response(200, json={"result": True, "dependencies": []}), True),
        (
            httpx.Response(
                200, json={"result": False, "dependencies": [{"type": "Campaign", "objectId": 5}]}
            ),
            False,
        ),
        (httpx.Response(409, json={"result": False, "dependencies": None}), False),
        (httpx.Response(409), False),
        (httpx.Response(204), True),
    ],
)
def test_delete_data_field(
    respx_mock: respx.MockRouter, client: DotmailerClient, response: httpx.Response, expected: bool
) -> None:
    route = respx_mock.delete(f"{V2}/data-fields/MY_FIELD").mock(return_value=response)
    assert client.delete_data_field("MY_FIELD") is expected
    assert route.call_count == 1


def test_delete_system_data_field_is_not_found(respx_mock: respx.MockRouter, client: DotmailerClient) -> None:
    respx_mock.delete(f"{V2}/data-fields/FIRSTNAME").mock(
        return_value=httpx.Response(404, json={"message": "Error: ERROR_DATAFIELD_NOTFOUND"})
    )
    with pytest.raises(ApiNotFoundError):
        client.delete_data_field("FIRSTNAME")


# --- campaigns ------------------------------------------------------------------------------------------------


def test_campaign_lists_and_details(respx_mock: respx.MockRouter, client: DotmailerClient) -> None:
    by_book = respx_mock.get(f"{V2}/address-books/25/campaigns").mock(
        return_value=httpx.Response(200, json=CAMPAIGNS)
    )
    active = respx_mock.get(f"{V2}/campaigns/with-activity-since/{SINCE_PATH}").mock(
        return_value=httpx.Response(200, json=CAMPAIGNS[1:])
    )
    one = respx_mock.get(f"{V2}/campaigns/4").mock(return_value=httpx.Response(200, json=CAMPAIGNS[1]))
    summary = respx_mock.get(f"{V2}/campaigns/4/summary").mock(return_value=httpx.Response(200, json=SUMMARY))

    assert [c.status for c in client.iter_address_book_campaigns(25)] == ["Unsent", "Sent"]
    assert [c.id for c in client.iter_campaigns_with_activity_since(SINCE)] == [4]
    assert client.get_campaign(4).reply_action == "WebMailForward"
    assert client.get_campaign_summary(4).num_total_sent == 18
    assert _params(by_book) == {"select": "1000", "skip": "0"}
    assert _params(active) == {"select": "1000", "skip": "0"}
    assert one.call_count == summary.call_count == 1
    assert client.calls_by_endpoint["GET /v2/campaigns/{id}/summary"] == 1


@pytest.mark.parametrize(
    ("method", "feed", "payload", "check"),
    [
        (
            "iter_campaign_activities",
            "activities",
            ACTIVITIES_LOWER,
            lambda r: r.contact_id == 147 and r.num_opens == 3,
        ),
        ("iter_campaign_clicks", "clicks", CLICKS, lambda r: r.url == "https://example.com/offer"),
        ("iter_campaign_opens", "opens", OPENS, lambda r: r.mail_client == "Outlook"),
    ],
)
def test_campaign_feeds_full_and_since(
    respx_mock: respx.MockRouter,
    client: DotmailerClient,
    method: str,
    feed: str,
    payload: list[dict[str, object]],
    check: Callable[[object], bool],
) -> None:
    full = respx_mock.get(f"{V2}/campaigns/4/{feed}").mock(return_value=httpx.Response(200, json=payload))
    since = respx_mock.get(f"{V2}/campaigns/4/{feed}/since-date/{SINCE_PATH}").mock(
        return_value=httpx.Response(200, json=payload)
    )
    rows = list(getattr(client, method)(4))
    assert len(rows) == 1
    assert check(rows[0])
    rows = list(getattr(client, method)(4, since=SINCE))
    assert len(rows) == 1
    assert check(rows[0])
    assert _params(full) == _params(since) == {"select": "1000", "skip": "0"}


def test_repeated_events_across_pages_are_yielded_once(
    respx_mock: respx.MockRouter, make_client: MakeClient
) -> None:
    other = {**CLICKS[0], "url": "https://example.com/other"}
    third = {**CLICKS[0], "dateClicked": "2015-04-17T00:00:00Z"}
    respx_mock.get(f"{V2}/campaigns/4/clicks").mock(
        side_effect=[httpx.Response(200, json=[CLICKS[0], other]), httpx.Response(200, json=[other, third]),
                     httpx.Response(200, json=[])]
    )  # fmt: skip
    clicks = list(make_client(page_size=2).iter_campaign_clicks(4))
    assert [c.url for c in clicks] == [
        "https://example.com/offer",
        "https://example.com/other",
        "https://example.com/offer",
    ]


def test_activities_without_contact_id_are_keyed_by_email(
    respx_mock: respx.MockRouter, make_client: MakeClient
) -> None:
    rows = [{"email": "A@x.com", "numOpens": 1}, {"email": "b@x.com"}]
    respx_mock.get(f"{V2}/campaigns/4/activities").mock(
        side_effect=[httpx.Response(200, json=rows), httpx.Response(200, json=[{"email": "a@X.com"}])]
    )
    assert [r.email for r in make_client(page_size=2).iter_campaign_activities(4)] == ["A@x.com", "b@x.com"]


def test_path_dates_are_utc_with_z() -> None:
    assert format_path_date(datetime(2015, 10, 10)) == "2015-10-10T00:00:00Z"
    assert (
        format_path_date(datetime(2015, 10, 10, 1, 0, tzinfo=timezone(timedelta(hours=2))))
        == "2015-10-09T23:00:00Z"
    )


# --- malformed responses --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "fragment"),
    [
        (
            httpx.Response(
                200, text="<html><body>Maintenance</body></html>", headers={"Content-Type": "text/html"}
            ),
            "text/html",
        ),
        (
            httpx.Response(200, text='{"id": 3, "name": "Bo', headers={"Content-Type": "application/json"}),
            "unreadable JSON",
        ),
        (httpx.Response(200, json={"id": "three", "name": "Book"}), "id:"),
        (httpx.Response(200, text=""), "empty body"),
        (httpx.Response(200, json=[1, 2]), "unexpected shape"),
    ],
)
def test_malformed_single_responses(
    respx_mock: respx.MockRouter, client: DotmailerClient, response: httpx.Response, fragment: str
) -> None:
    respx_mock.get(f"{V2}/address-books/3").mock(return_value=response)
    with pytest.raises(MalformedResponseError) as info:
        client.get_address_book(3)
    assert fragment in str(info.value)
    assert info.value.exit_code == 1


@pytest.mark.parametrize(
    ("response", "expected", "fragment"),
    [
        (httpx.Response(200, json={"items": []}), MalformedResponseError, "dict where a JSON array"),
        (httpx.Response(200, json=[{"id": 1}]), MalformedResponseError, "row 0: name: Field required"),
        (
            httpx.Response(200, json={"message": "Error: ERROR_FEATURENOTACTIVE"}),
            BadRequestError,
            "FEATURENOTACTIVE",
        ),
    ],
)
def test_malformed_list_responses(
    respx_mock: respx.MockRouter,
    client: DotmailerClient,
    response: httpx.Response,
    expected: type[DotmailerError],
    fragment: str,
) -> None:
    respx_mock.get(f"{V2}/address-books").mock(return_value=response)
    with pytest.raises(expected) as info:
        list(client.iter_address_books())
    assert fragment in str(info.value)


def test_html_error_page_is_described_not_dumped(
    respx_mock: respx.MockRouter, make_client: MakeClient
) -> None:
    html = "<html><head><title>502 Bad Gateway</title></head><body>" + "x" * 5000 + "</body></html>"
    respx_mock.get(f"{V2}/address-books/3").mock(
        return_value=httpx.Response(502, text=html, headers={"Content-Type": "text/html; charset=utf-8"})
    )
    with pytest.raises(ServerError) as info:
        make_client(max_attempts=1).get_address_book(3)
    assert (
        str(info.value)
        == "Dotmailer API call GET /v2/address-books/{id} failed: HTTP 502: non-JSON response (text/html)"
    )


def test_error_json_without_message(respx_mock: respx.MockRouter, make_client: MakeClient) -> None:
    respx_mock.get(f"{V2}/address-books/3").mock(return_value=httpx.Response(400, json={"error": "x"}))
    with pytest.raises(BadRequestError, match="JSON response without a message"):
        make_client().get_address_book(3)


# --- retries --------------------------------------------------------------------------------------------------


def test_429_then_200_waits_as_told(
    respx_mock: respx.MockRouter,
    client: DotmailerClient,
    fake_sleep: FakeSleep,
    caplog: pytest.LogCaptureFixture,
) -> None:
    route = respx_mock.get(f"{V2}/address-books/1").mock(
        side_effect=[
            httpx.Response(429, json={"message": "Too many requests"}, headers={"Retry-After": "7"}),
            httpx.Response(429, headers={"x-ratelimit-reset": str(int(CLIENT_NOW) + 30)}),
            httpx.Response(200, json=ADDRESS_BOOKS[0]),
        ]
    )
    with caplog.at_level(logging.WARNING, logger="dotsync.dotmailer"):
        assert client.get_address_book(1).id == 1
    assert fake_sleep.calls == [7.0, 30.0]
    assert route.call_count == 3
    assert client.calls_made == 3
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "HTTP 429" in warnings[0].getMessage()
    assert "attempt 2 of 5" in warnings[0].getMessage()


def test_503_then_200_backs_off(
    respx_mock: respx.MockRouter, make_client: MakeClient, fake_sleep: FakeSleep
) -> None:
    respx_mock.get(f"{V2}/address-books/1").mock(
        side_effect=[httpx.Response(503), httpx.Response(503), httpx.Response(200, json=ADDRESS_BOOKS[0])]
    )
    client = make_client(rng=FixedRandom(0.5))
    assert client.get_address_book(1).id == 1
    # base 2 s doubling, jitter 25 % * 0.5 takes 12.5 % off each wait
    assert fake_sleep.calls == [1.75, 3.5]


def test_a_long_rate_limit_is_not_slept_through(
    respx_mock: respx.MockRouter, client: DotmailerClient, fake_sleep: FakeSleep
) -> None:
    route = respx_mock.get(f"{V2}/address-books/1").mock(
        return_value=httpx.Response(429, headers={"Retry-After": "3600"})
    )
    with pytest.raises(RateLimitedError) as info:
        client.get_address_book(1)
    assert info.value.retry_after == 3600.0
    assert route.call_count == 1
    assert fake_sleep.calls == []


def test_persistent_server_errors_give_up_after_max_attempts(
    respx_mock: respx.MockRouter, make_client: MakeClient, fake_sleep: FakeSleep
) -> None:
    route = respx_mock.get(f"{V2}/address-books/1").mock(
        return_value=httpx.Response(500, json={"message": "Some error"})
    )
    with pytest.raises(ServerError, match="Some error"):
        make_client(max_attempts=4).get_address_book(1)
    assert route.call_count == 4
    assert fake_sleep.calls == [2.0, 4.0, 8.0]


def test_400_is_not_retried(
    respx_mock: respx.MockRouter, client: DotmailerClient, fake_sleep: FakeSleep
) -> None:
    route = respx_mock.get(f"{V2}/address-books/1").mock(
        return_value=httpx.Response(400, json={"message": "invalid data"})
    )
    with pytest.raises(BadRequestError):
        client.get_address_book(1)
    assert route.call_count == 1
    assert fake_sleep.calls == []


def test_api_usage_exceeded_is_not_retried(respx_mock: respx.MockRouter, client: DotmailerClient) -> None:
    message = "Your account has generated excess API activity and is being temporarily capped. ERROR_APIUSAGE_EXCEEDED"
    route = respx_mock.get(f"{V2}/address-books/1").mock(
        return_value=httpx.Response(429, json={"message": message})
    )
    with pytest.raises(DotmailerError) as info:
        client.get_address_book(1)
    assert type(info.value).__name__ == "ApiUsageExceededError"
    assert route.call_count == 1


def test_transport_errors_are_retried_then_raised(
    respx_mock: respx.MockRouter, make_client: MakeClient, fake_sleep: FakeSleep
) -> None:
    route = respx_mock.get(f"{V2}/address-books/1").mock(side_effect=httpx.ConnectError("connection refused"))
    with pytest.raises(TransportError) as info:
        make_client(max_attempts=3).get_address_book(1)
    assert route.call_count == 3
    assert fake_sleep.calls == [2.0, 4.0]
    assert "ConnectError: connection refused" in str(info.value)
    assert info.value.sent is False
    assert info.value.status is None


# --- the non-idempotent POST rule -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("read timed out"),
        httpx.RemoteProtocolError("server disconnected"),
        httpx.Response(500, json={"message": "Some error"}),
        httpx.Response(502),
        httpx.Response(504),
    ],
)
def test_upload_that_may_have_landed_is_not_repeated(
    respx_mock: respx.MockRouter, client: DotmailerClient, fake_sleep: FakeSleep, failure: object
) -> None:
    route = respx_mock.post(f"{V2}/address-books/25/contacts/import").mock(side_effect=[failure])
    with pytest.raises(UploadOutcomeUnknownError) as info:
        client.start_contact_import(25, CSV_BYTES)
    assert route.call_count == 1
    assert fake_sleep.calls == []
    assert isinstance(info.value.cause, ServerError | TransportError)
    assert "not repeated" in str(info.value)
    assert info.value.exit_code == 1


@pytest.mark.parametrize(
    "refusal",
    [
        httpx.ConnectError("connection refused"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.Response(429, headers={"Retry-After": "5"}),
        httpx.Response(503),
        httpx.Response(500, json={"message": "Error: ERROR_SYSTEM_SERVICETEMPORARILYUNAVAILABLE"}),
    ],
)
def test_upload_refused_before_any_work_is_retried(
    respx_mock: respx.MockRouter, client: DotmailerClient, fake_sleep: FakeSleep, refusal: object
) -> None:
    route = respx_mock.post(f"{V2}/address-books/25/contacts/import").mock(
        side_effect=[refusal, httpx.Response(202, json={"id": IMPORT_ID, "status": "NotFinished"})]
    )
    assert client.start_contact_import(25, CSV_BYTES).id == IMPORT_ID
    assert route.call_count == 2
    assert len(fake_sleep.calls) == 1
    # The re-sent upload carries the whole file again.
    assert CSV_BYTES in route.calls[1].request.content


def test_upload_accepted_but_unreadable_answer(respx_mock: respx.MockRouter, client: DotmailerClient) -> None:
    respx_mock.post(f"{V2}/address-books/25/contacts/import").mock(
        return_value=httpx.Response(
            202, text='{"id": "2d2cac85-e292', headers={"Content-Type": "application/json"}
        )
    )
    with pytest.raises(UploadOutcomeUnknownError) as info:
        client.start_contact_import(25, CSV_BYTES)
    assert isinstance(info.value.cause, MalformedResponseError)


def test_upload_rejected_outright_is_a_plain_error(
    respx_mock: respx.MockRouter, client: DotmailerClient
) -> None:
    respx_mock.post(f"{V2}/address-books/25/contacts/import").mock(
        return_value=httpx.Response(400, json={"message": "file must be valid"})
    )
    with pytest.raises(BadRequestError) as info:
        client.start_contact_import(25, CSV_BYTES)
    assert not isinstance(info.value, OutcomeUnknownError)


@pytest.mark.parametrize("method", ["create_address_book", "create_data_field"])
def test_creating_posts_follow_the_same_rule(
    respx_mock: respx.MockRouter, client: DotmailerClient, fake_sleep: FakeSleep, method: str
) -> None:
    path = "address-books" if method == "create_address_book" else "data-fields"
    route = respx_mock.post(f"{V2}/{path}").mock(side_effect=[httpx.Response(502)])
    args = ("NEWS",) if method == "create_address_book" else ("NEWS", "String")
    with pytest.raises(OutcomeUnknownError) as info:
        getattr(client, method)(*args)
    assert not isinstance(info.value, UploadOutcomeUnknownError)
    assert route.call_count == 1
    assert fake_sleep.calls == []


def test_create_with_unreadable_success_answer(respx_mock: respx.MockRouter, client: DotmailerClient) -> None:
    respx_mock.post(f"{V2}/address-books").mock(return_value=httpx.Response(201, text="<html>ok</html>"))
    with pytest.raises(OutcomeUnknownError):
        client.create_address_book("NEWS")


# --- budget, hooks, logging -----------------------------------------------------------------------------------


def test_call_counting_and_on_call_hook(respx_mock: respx.MockRouter, make_client: MakeClient) -> None:
    respx_mock.get(f"{API}/v2/account-info").mock(return_value=httpx.Response(200, json=ACCOUNT_INFO))
    respx_mock.get(f"{V2}/campaigns/4/summary").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=SUMMARY)]
    )
    seen: list[ApiCall] = []
    client = make_client(endpoint=None, on_call=seen.append)
    client.connect()
    client.get_campaign_summary(4)
    assert client.calls_made == 3
    assert client.calls_by_endpoint == {"GET /v2/account-info": 1, "GET /v2/campaigns/{id}/summary": 2}
    assert [(c.method, c.endpoint, c.status, c.attempt) for c in seen] == [
        ("GET", "GET /v2/account-info", 200, 1),
        ("GET", "GET /v2/campaigns/{id}/summary", 503, 1),
        ("GET", "GET /v2/campaigns/{id}/summary", 200, 2),
    ]
    assert all(c.elapsed >= 0 for c in seen)
    assert client.calls_remaining == 1985 - 2


def test_no_call_is_made_while_fewer_calls_than_the_safety_margin_remain(
    respx_mock: respx.MockRouter, make_client: MakeClient
) -> None:
    low = {
        "properties": [
            {"name": "ApiCallsRemaining", "value": "3"},
            {"name": "ApiEndpoint", "value": ENDPOINT},
        ]
    }
    respx_mock.get(f"{API}/v2/account-info").mock(return_value=httpx.Response(200, json=low))
    route = respx_mock.get(f"{V2}/address-books/1").mock(
        return_value=httpx.Response(200, json=ADDRESS_BOOKS[0])
    )
    client = make_client(endpoint=None, safety_margin=2)
    client.connect()
    client.get_address_book(1)
    assert client.calls_remaining == 2
    client.get_address_book(1)
    assert client.calls_remaining == 1
    with pytest.raises(
        BudgetExhaustedError, match=r"only 1 Dotmailer API calls remain .* safety margin of 2"
    ):
        client.get_address_book(1)
    assert route.call_count == 2


def test_the_safety_margin_stops_a_paged_read_at_the_page_it_refuses(
    respx_mock: respx.MockRouter, make_client: MakeClient
) -> None:
    low = {
        "properties": [
            {"name": "ApiCallsRemaining", "value": "4"},
            {"name": "ApiEndpoint", "value": ENDPOINT},
        ]
    }
    respx_mock.get(f"{API}/v2/account-info").mock(return_value=httpx.Response(200, json=low))
    route = respx_mock.get(f"{V2}/address-books").mock(
        side_effect=[
            httpx.Response(200, json=ADDRESS_BOOKS[0:2]),
            httpx.Response(200, json=ADDRESS_BOOKS[2:4]),
        ]
    )
    client = make_client(endpoint=None, page_size=2, safety_margin=3)
    client.connect()
    books = client.iter_address_books()
    assert [next(books).id for _ in range(4)] == [1, 2, 3, 4]  # two pages (4 calls left, then 3), then 2 < 3
    with pytest.raises(BudgetExhaustedError, match="not making GET /v2/address-books"):
        next(books)
    assert route.call_count == 2


def test_debug_log_lines(
    respx_mock: respx.MockRouter, client: DotmailerClient, caplog: pytest.LogCaptureFixture
) -> None:
    respx_mock.get(f"{V2}/address-books/1").mock(return_value=httpx.Response(200, json=ADDRESS_BOOKS[0]))
    with caplog.at_level(logging.DEBUG, logger="dotsync.dotmailer"):
        client.get_address_book(1)
    lines = [r.getMessage() for r in caplog.records if r.name == "dotsync.dotmailer"]
    assert any(
        line.startswith("GET /v2/address-books/1 -> 200 in ") and line.endswith(" s") for line in lines
    )


def test_credentials_never_reach_logs_or_messages(
    respx_mock: respx.MockRouter, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    token = AUTH.split()[1]
    echo = {"message": f"Authorization has been denied for {USERNAME}:{PASSWORD} ({token})."}
    respx_mock.get(f"{API}/v2/account-info").mock(return_value=httpx.Response(401, json=echo))
    respx_mock.get(f"{V2}/address-books/1").mock(
        side_effect=[
            httpx.Response(500, json={"message": f"boom {PASSWORD}"}),
            httpx.ConnectError(f"no {PASSWORD}"),
        ]
    )
    messages: list[str] = []
    with caplog.at_level(logging.DEBUG):
        client = make_client(endpoint=None, max_attempts=2)
        with pytest.raises(AuthenticationError) as auth:
            client.connect()
        messages.append(str(auth.value))
        client._endpoint = ENDPOINT
        with pytest.raises(TransportError) as transport:
            client.get_address_book(1)
        messages.append(str(transport.value))
    text = caplog.text + "\n".join(messages) + repr(client)
    assert caplog.records  # the calls were logged
    assert PASSWORD not in text
    assert token not in text
    assert "Authorization: " not in text
    assert "***" in messages[0]
    assert "***" in messages[1]
    assert auth.value.api_message is not None
    assert PASSWORD not in auth.value.api_message


def test_error_body_that_is_a_json_array(respx_mock: respx.MockRouter, client: DotmailerClient) -> None:
    respx_mock.get(f"{V2}/address-books/3").mock(return_value=httpx.Response(404, json=["nope"]))
    with pytest.raises(ApiNotFoundError, match="JSON response without a message"):
        client.get_address_book(3)


def test_unreadable_faults_csv(respx_mock: respx.MockRouter, client: DotmailerClient) -> None:
    # A field beyond the csv module's size limit is what a corrupted, unterminated quote produces.
    respx_mock.get(f"{V2}/contacts/import/{IMPORT_ID}/report-faults").mock(
        return_value=httpx.Response(200, text='Reason,Email\nx,"' + "y" * 200_000 + "\n")
    )
    with pytest.raises(MalformedResponseError, match="unreadable CSV"):
        client.get_contact_import_faults(IMPORT_ID)


def test_an_injected_transport_carries_every_call(fake_sleep: FakeSleep) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url}")
        if request.url.path == "/v2/account-info":
            info = {"properties": [{"name": "ApiEndpoint", "value": "http://127.0.0.1:8765"}]}
            return httpx.Response(200, json=info)
        return httpx.Response(200, json=[])

    with DotmailerClient(
        USERNAME, PASSWORD, "http://localhost:8765", transport=httpx.MockTransport(handler), sleep=fake_sleep
    ) as client:
        assert list(client.iter_address_books()) == []
    assert seen == [
        "GET http://localhost:8765/v2/account-info",
        "GET http://127.0.0.1:8765/v2/address-books?select=1000&skip=0",
    ]
