"""The Dotmailer (Dotdigital) REST API v2 client: one method per API call dotsync uses, returning ``Api*`` models.

This is the HTTP layer only. It knows paths, payloads, paging, retries and the call budget, and nothing about
dotsync's database: sync code calls these methods and maps the models to rows.

Decisions worth knowing:

* **Endpoint discovery.** :meth:`DotmailerClient.connect` calls ``account-info`` on the configured API URL and
  then sends every other call to the account's ``ApiEndpoint`` + ``/v2`` (calling another region's host gives
  403). The caller stores :attr:`DotmailerClient.endpoint` and passes it back as ``endpoint=`` next run, which
  saves the discovery call. A call made before any endpoint is known connects first.
* **Credentials** go only into the ``httpx`` Basic-auth handler. URLs must be ``https://`` (or ``http://`` on a
  loopback address, for the sandbox); TLS verification is always on; redirects are not followed. Text that
  came from the network is scrubbed of the password before it reaches an exception message or a log line.
* **Contact import upload** uses ``multipart/form-data`` (one part named ``file``, with a filename and
  ``text/csv``) rather than the JSON ``{FileName, Data: base64}`` form: base64 makes a 10 MB file a 13.4 MB body
  and, with the JSON text around it, keeps about three copies of the file in memory during an upload; the
  multipart body is the file's bytes as they are. It is also the form the vendor's own integration posts. The
  part carries a filename because Dotmailer rejects a file part without one (400 ``file must be valid``).
* **Retries** follow :mod:`dotsync.dotmailer.retry`. Idempotent calls (every GET, DELETE, and the bulk
  ``contacts/delete`` POST, which removes the same ids however often it runs) are retried on transport errors,
  5xx and 429. The three creating POSTs (:meth:`~DotmailerClient.start_contact_import`,
  :meth:`~DotmailerClient.create_address_book`, :meth:`~DotmailerClient.create_data_field`) are re-sent only
  when the server certainly did not act (no connection, 429, 503); when the request may have been carried out
  (timeout after sending, other 5xx, an unreadable 2xx answer) they raise
  :class:`~dotsync.dotmailer.errors.OutcomeUnknownError` (for uploads :class:`UploadOutcomeUnknownError`).
* **Budget.** Every HTTP attempt is counted (:attr:`~DotmailerClient.calls_made`,
  :attr:`~DotmailerClient.calls_by_endpoint` keyed ``"GET /v2/campaigns/{id}/summary"``);
  :attr:`~DotmailerClient.calls_remaining` is ``ApiCallsRemaining`` from the last account-info minus the calls
  made since. With ``safety_margin=N`` (a sync sets ``DOTSYNC_API_SAFETY_MARGIN``) every attempt is refused
  with :class:`~dotsync.dotmailer.errors.BudgetExhaustedError` while fewer than N calls remain: the check is
  made in one place, on the request path, so no call can skip it.
* **Rate limits** (both schemes) live in :mod:`dotsync.dotmailer.ratelimit`: after a 429 no call is made until
  the reset; answers that announce what remains are paced; a wait longer than ``max_wait`` raises
  :class:`~dotsync.dotmailer.errors.RateLimitWaitError` (stop, resume next run). :attr:`DotmailerClient.rate_limits`
  says which scheme was seen and the last limit hit.
* **Endpoint rediscovery.** A stored regional endpoint that answers 401/403 (the account moved, or the stored
  value is stale) is rediscovered once per client through account-info on the configured URL; the call is
  repeated on the new endpoint only if it differs, else the 401/403 stands.
* **Bad rows.** In the campaign feeds (activities, clicks, opens) a row that does not parse (a malformed date,
  a wrong type) is skipped and described in :attr:`DotmailerClient.skipped_rows` (call, row number, field,
  value) while the rest of the page is kept; everywhere else a malformed answer is an error naming the call.
"""

from __future__ import annotations

import base64
import csv
import io
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import IO, Any, TypeVar
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel, ValidationError

from dotsync import __version__
from dotsync.dotmailer.errors import (
    ApiNotFoundError,
    ApiUsageExceededError,
    AuthenticationError,
    BadRequestError,
    BudgetExhaustedError,
    DotmailerError,
    InvalidEndpointError,
    MalformedResponseError,
    OutcomeUnknownError,
    RateLimitedError,
    RateLimitWaitError,
    ReportGoneError,
    TransportError,
    UploadOutcomeUnknownError,
    error_for_response,
)
from dotsync.dotmailer.models import (
    ApiAccountInfo,
    ApiAddressBook,
    ApiCampaign,
    ApiCampaignContactClick,
    ApiCampaignContactOpen,
    ApiCampaignContactSummary,
    ApiCampaignSummary,
    ApiContact,
    ApiContactImport,
    ApiContactImportReport,
    ApiContactRow,
    ApiContactSuppression,
    ApiDataField,
    ApiDependencyResult,
    ApiImportFault,
)
from dotsync.dotmailer.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, iter_paged
from dotsync.dotmailer.ratelimit import DEFAULT_MAX_WAIT, RateLimiter
from dotsync.dotmailer.retry import RetryPolicy, retry_after_seconds, server_did_not_act
from dotsync.urls import transport_problem

logger = logging.getLogger("dotsync.dotmailer")

DEFAULT_API_URL = "https://r1-api.dotdigital.com"
DEFAULT_TIMEOUT = 121.0  # the vendor's advice: allow 121 s before treating a call as timed out
# Oro re-read 100 rows of each contact/unsubscribe page to catch rows that shift while paging.
CONTACT_PAGE_OVERLAP = 100
REMOVE_BATCH_SIZE = 1000

M = TypeVar("M", bound=BaseModel)
_ContactT = TypeVar("_ContactT", ApiContact, ApiContactRow)

# The connection was never made, so the server cannot have seen the request.
_NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class SkippedRow:
    """A row of a feed that could not be parsed and was left out (the rest of its page was kept)."""

    call: str  # "GET /v2/campaigns/{id}/activities"
    path: str  # the path asked, e.g. "/v2/campaigns/7/activities"
    row: int  # 1-based position in the feed (skip + index + 1)
    field: str
    value: str
    problem: str
    kept: bool = False  # True: only the value was dropped (an opt-out's date), the row itself was kept

    def describe(self) -> str:
        what = "value ignored, row kept" if self.kept else "row skipped"
        return f"{self.path} row {self.row}: {self.field} = {self.value!r} ({self.problem}); {what}"


@dataclass(frozen=True)
class DataFieldDeletion:
    """What a data-field delete did: ``deleted``, or refused because the field is in use (``reasons``)."""

    deleted: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApiCall:
    """One HTTP attempt, as passed to the ``on_call`` hook. ``status`` is None when no response came back."""

    method: str
    endpoint: str
    status: int | None
    elapsed: float
    attempt: int


def format_path_date(value: datetime) -> str:
    """A datetime as Dotmailer wants it in a path: UTC ``YYYY-MM-DDTHH:MM:SSZ`` (naive values are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def normalise_base_url(url: str) -> str:
    """Strip whitespace, trailing slashes and a trailing ``/v2``; refuse URLs credentials must not go to.

    Allowed: ``https://`` anything, or ``http://`` on a loopback address (the sandbox and tests).
    """
    text = url.strip().rstrip("/")
    if text.lower().endswith("/v2"):
        text = text[:-3].rstrip("/")
    parts = urlsplit(text)
    if parts.username or parts.password:
        raise InvalidEndpointError("the Dotmailer API URL must not contain a user name or password")
    if transport_problem(parts) is None:
        return text
    raise InvalidEndpointError(
        f"refusing Dotmailer API URL {_safe_url(text)!r}: it must start with https:// "
        "(http:// is allowed only on a loopback address)"
    )


def _safe_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{parts.path}" if parts.scheme else url[:80]


def _quote(value: object) -> str:
    return quote(str(value), safe="")


def _row_key(row: BaseModel) -> Hashable:
    # Events (clicks, opens) have no id: two rows equal in every field are the same event read twice.
    return tuple(row.model_dump().values())


def _activity_key(row: ApiCampaignContactSummary) -> Hashable:
    return row.contact_id if row.contact_id is not None else (row.email or "").lower()


def _suppression_key(row: ApiContactSuppression) -> Hashable:
    contact = row.suppressed_contact
    who = contact.id if contact.id is not None else contact.email.lower()
    return (who, row.date_removed, row.reason)


def _contact_key(row: ApiContact | ApiContactRow) -> Hashable:
    return row.id if row.id is not None else row.email.lower()


class DotmailerClient:
    """A Dotmailer REST API v2 client for one API user. Use as a context manager or call :meth:`close`."""

    def __init__(
        self,
        username: str,
        password: str,
        api_url: str = DEFAULT_API_URL,
        *,
        endpoint: str | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = DEFAULT_TIMEOUT,
        max_attempts: int = 5,
        clock: Callable[[], float] = time.time,
        retry_policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        safety_margin: int | None = None,
        on_call: Callable[[ApiCall], None] | None = None,
        max_wait: float | None = DEFAULT_MAX_WAIT,
        blocked_until: float | None = None,
    ) -> None:
        if not username or not password:
            raise AuthenticationError("the Dotmailer API user name and password are both required")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        self._api_root = normalise_base_url(api_url)
        self._endpoint = normalise_base_url(endpoint) if endpoint else None
        self._sleep = sleep
        self._clock = clock
        self._rng = rng if rng is not None else random.Random()
        self.retry_policy = (
            retry_policy if retry_policy is not None else RetryPolicy(max_attempts=max_attempts)
        )
        self.page_size = page_size
        # Calls of the hourly allowance never used (None: no limit); a sync sets it for its run.
        self.safety_margin = safety_margin
        self.on_call = on_call
        # Kept only to scrub them from text that came back from the network.
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self._secrets = tuple(s for s in (password, token) if len(s) >= 3)
        self._http = httpx.Client(
            auth=httpx.BasicAuth(username, password),
            headers={"Accept": "application/json", "User-Agent": f"dotsync/{__version__}"},
            timeout=httpx.Timeout(timeout),
            verify=True,
            follow_redirects=False,
            transport=transport,
            event_hooks={"response": [self._note_server_time]},
        )
        # The server's time from the last answer's Date header: see server_now().
        self._server_time: datetime | None = None
        self.calls_made = 0
        self.calls_by_endpoint: Counter[str] = Counter()
        self.account_info: ApiAccountInfo | None = None
        self._remaining_at_info: int | None = None
        self._calls_at_info = 0
        self.rate_limits = RateLimiter(
            clock=clock, sleep=sleep, max_wait=max_wait, blocked_until=blocked_until
        )
        self.skipped_rows: list[SkippedRow] = []
        self._rediscovered = False

    # --- lifecycle and state ----------------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> DotmailerClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DotmailerClient(api_url={self._api_root!r}, endpoint={self._endpoint!r})"

    @property
    def api_url(self) -> str:
        """The configured API URL (where account-info is asked), without ``/v2``."""
        return self._api_root

    @property
    def endpoint(self) -> str | None:
        """The account's API endpoint (scheme + host, no ``/v2``) once known; store it for the next run."""
        return self._endpoint

    @property
    def calls_remaining(self) -> int | None:
        """Estimated calls left this hour: last ``ApiCallsRemaining`` minus calls made since; None if unknown."""
        if self._remaining_at_info is None:
            return None
        return max(0, self._remaining_at_info - (self.calls_made - self._calls_at_info))

    def server_now(self) -> datetime | None:
        """Dotmailer's clock: the last answer's ``Date`` header; None before any answer, or when the last one
        had no readable ``Date``.

        Whole seconds, rounded down: never ahead of the server, so safe for a "since" watermark, immune to our
        clock's skew, and the same for two runs over the same answers.
        """
        return self._server_time

    def _note_server_time(self, response: httpx.Response) -> None:
        self._server_time = _date_header(response)

    # --- account ----------------------------------------------------------------------------------------------

    def get_account_info(self) -> ApiAccountInfo:
        """``GET /v2/account-info`` on the configured API URL; also refreshes :attr:`calls_remaining`."""
        call = "GET /v2/account-info"
        response = self._request("GET", "/v2/account-info", base=self._api_root)
        info = self._parse(ApiAccountInfo, response, call)
        self.account_info = info
        self._remaining_at_info = info.calls_remaining
        self._calls_at_info = self.calls_made
        if info.calls_remaining is not None:
            self.rate_limits.saw_hourly_allowance()
        return info

    def connect(self) -> ApiAccountInfo:
        """Check the credentials and switch every later call to the account's own ``ApiEndpoint``."""
        info = self.get_account_info()
        discovered = info.api_endpoint
        self._endpoint = normalise_base_url(discovered) if discovered else self._api_root
        logger.debug("Dotmailer endpoint for this account: %s", self._endpoint)
        return info

    # --- address books ----------------------------------------------------------------------------------------

    def iter_address_books(self) -> Iterator[ApiAddressBook]:
        """Every address book of the account (including the system books "All Contacts" and "Test")."""
        return self._iter("/v2/address-books", ApiAddressBook, key=lambda book: book.id)

    def get_address_book(self, book_id: int) -> ApiAddressBook:
        return self._get("/v2/address-books/{id}", ApiAddressBook, path={"id": book_id})

    def create_address_book(self, name: str, visibility: str = "Private") -> ApiAddressBook:
        """Create a book. Not retried once it may have reached the server (see the module docstring)."""
        template = "/v2/address-books"
        response = self._request(
            "POST",
            template,
            json_body={"Name": name, "Visibility": visibility},
            outcome_error=OutcomeUnknownError,
        )
        return self._parse_created(ApiAddressBook, response, f"POST {template}", OutcomeUnknownError)

    # --- contacts ---------------------------------------------------------------------------------------------

    def iter_address_book_contacts(
        self, book_id: int, *, modified_since: datetime | None = None, with_full_data: bool = True
    ) -> Iterator[ApiContact]:
        """Contacts of a book, all of them or those modified since a time; with data fields by default."""
        return self._iter_book_contacts(ApiContact, book_id, modified_since, with_full_data)

    def iter_address_book_contact_rows(
        self, book_id: int, *, modified_since: datetime | None = None
    ) -> Iterator[ApiContactRow]:
        """As :meth:`iter_address_book_contacts` with full data, as :class:`ApiContactRow` (data fields in one
        dict): the cheap form for reading a whole book back."""
        return self._iter_book_contacts(ApiContactRow, book_id, modified_since, True)

    def _iter_book_contacts(
        self, model: type[_ContactT], book_id: int, modified_since: datetime | None, with_full_data: bool
    ) -> Iterator[_ContactT]:
        params = {"withFullData": "true" if with_full_data else "false"}
        if modified_since is None:
            template = "/v2/address-books/{id}/contacts"
            path: dict[str, object] = {"id": book_id}
        else:
            template = "/v2/address-books/{id}/contacts/modified-since/{date}"
            path = {"id": book_id, "date": format_path_date(modified_since)}
        return self._iter(
            template, model, key=_contact_key, path=path, params=params, overlap=CONTACT_PAGE_OVERLAP
        )

    def get_contact(self, id_or_email: int | str) -> ApiContact:
        """One contact by id or email. Dotmailer hides unsubscribed/suppressed contacts here (404)."""
        return self._get("/v2/contacts/{id_or_email}", ApiContact, path={"id_or_email": id_or_email})

    def remove_contacts_from_address_book(self, book_id: int, contact_ids: Iterable[int]) -> int:
        """Take contacts out of a book (they stay in the account), in batches; returns how many ids were sent.

        Idempotent (removing an id twice is harmless), so it is retried like a GET.
        """
        ids = [int(contact_id) for contact_id in contact_ids]
        template = "/v2/address-books/{id}/contacts/delete"
        for start in range(0, len(ids), REMOVE_BATCH_SIZE):
            self._request(
                "POST", template, path={"id": book_id}, json_body=ids[start : start + REMOVE_BATCH_SIZE]
            )
        return len(ids)

    def iter_contact_address_books(self, contact_id: int) -> Iterator[ApiAddressBook]:
        """The books a contact is in (``GET /v2/contacts/{id}/address-books``): how dotsync confirms that an
        asynchronous removal was applied. A contact gone from the account answers 404 (:class:`ApiNotFoundError`)."""
        return self._iter(
            "/v2/contacts/{id}/address-books",
            ApiAddressBook,
            key=lambda book: book.id,
            path={"id": contact_id},
        )

    def iter_address_book_unsubscribed_since(
        self, book_id: int, since: datetime
    ) -> Iterator[ApiContactSuppression]:
        """Contacts unsubscribed from one book since a time."""
        return self._iter(
            "/v2/address-books/{id}/contacts/unsubscribed-since/{date}",
            ApiContactSuppression,
            key=_suppression_key,
            path={"id": book_id, "date": format_path_date(since)},
            overlap=CONTACT_PAGE_OVERLAP,
            lenient=_OPT_OUT_LENIENT,
        )

    def iter_suppressed_since(self, since: datetime) -> Iterator[ApiContactSuppression]:
        """Contacts suppressed account-wide (any reason) since a time."""
        return self._iter(
            "/v2/contacts/suppressed-since/{date}",
            ApiContactSuppression,
            key=_suppression_key,
            path={"date": format_path_date(since)},
            overlap=CONTACT_PAGE_OVERLAP,
            lenient=_OPT_OUT_LENIENT,
        )

    # --- contact imports (dotsync's export direction) ---------------------------------------------------------

    def start_contact_import(
        self, book_id: int, csv_bytes: bytes, *, filename: str = "contacts.csv"
    ) -> ApiContactImport:
        """Upload a CSV into a book; returns the import's GUID and first status.

        Raises :class:`UploadOutcomeUnknownError` when the upload may have been accepted without us learning its
        id, and :class:`TooManyActiveImportsError` when Dotmailer is busy (retry next run).
        """
        template = "/v2/address-books/{id}/contacts/import"
        response = self._request(
            "POST",
            template,
            path={"id": book_id},
            # A file object, not bytes: httpx then sends the body in 64 KB pieces instead of joining a second
            # copy of a 10 MB file in memory (and seeks back to its start for a retry).
            files={"file": (filename, io.BytesIO(csv_bytes), "text/csv")},
            outcome_error=UploadOutcomeUnknownError,
        )
        return self._parse_created(ApiContactImport, response, f"POST {template}", UploadOutcomeUnknownError)

    def get_contact_import(self, import_id: str) -> ApiContactImport:
        return self._get("/v2/contacts/import/{id}", ApiContactImport, path={"id": import_id})

    def get_contact_import_report(self, import_id: str) -> ApiContactImportReport:
        return self._get("/v2/contacts/import/{id}/report", ApiContactImportReport, path={"id": import_id})

    def get_contact_import_faults(self, import_id: str) -> list[ApiImportFault]:
        """The rows an import rejected, from its faults CSV (kept by Dotmailer for about a week)."""
        template = "/v2/contacts/import/{id}/report-faults"
        call = f"GET {template}"
        try:
            response = self._request(
                "GET", template, path={"id": import_id}, headers={"Accept": "text/csv, application/json"}
            )
        except ApiNotFoundError as exc:
            raise _report_gone(call, import_id, exc) from exc
        text = response.content.decode("utf-8-sig", errors="replace")
        stripped = text.strip()
        if not stripped:
            # A report with no faults still has its header row; nothing at all is how an expired one answers.
            raise ReportGoneError(
                f"Dotmailer API call {call} returned an empty body: the faults report of import {import_id} "
                "is no longer available",
                status=response.status_code,
                call=call,
            )
        content_type = response.headers.get("content-type", "").lower()
        if "json" in content_type or stripped.startswith(("{", "[")):
            data = self._json(response, call)
            if isinstance(data, Mapping):
                try:
                    self._raise_for_message(data, response.status_code, call)
                except ApiNotFoundError as exc:
                    raise _report_gone(call, import_id, exc) from exc
            raise MalformedResponseError(
                f"Dotmailer API call {call} returned JSON instead of a faults CSV", call=call
            )
        if "html" in content_type or stripped.startswith("<"):
            raise MalformedResponseError(
                f"Dotmailer API call {call} returned HTML instead of a faults CSV", call=call
            )
        return _parse_faults_csv(text, call)

    # --- data fields ------------------------------------------------------------------------------------------

    def list_data_fields(self) -> list[ApiDataField]:
        call = "GET /v2/data-fields"
        response = self._request("GET", "/v2/data-fields")
        return self._parse_list(ApiDataField, self._json(response, call), response.status_code, call)

    def create_data_field(
        self, name: str, type: str, visibility: str = "Private", default_value: Any = None
    ) -> ApiDataField:
        """Create a data field (``type``: String, Numeric, Date, Boolean). Not retried once possibly sent."""
        template = "/v2/data-fields"
        body: dict[str, Any] = {"Name": name, "Type": type, "Visibility": visibility}
        if default_value is not None:
            body["DefaultValue"] = default_value
        response = self._request("POST", template, json_body=body, outcome_error=OutcomeUnknownError)
        return self._parse_created(ApiDataField, response, f"POST {template}", OutcomeUnknownError)

    def delete_data_field(self, name: str) -> bool:
        """Delete a data field; False when Dotmailer refuses because something still uses it."""
        return self.delete_data_field_result(name).deleted

    def delete_data_field_result(self, name: str) -> DataFieldDeletion:
        """Delete a data field: deleted, or in use with the reasons Dotmailer gave.

        Three answers are documented (reference §15): 200 ``{"result": true|false, "dependencies": [...]}`` with
        dependencies as strings or as ``{type, objectId}`` objects, and 409 with a problem-details body
        (``type``, ``title``, ``status``, maybe ``detail``).
        """
        template = "/v2/data-fields/{name}"
        call = f"DELETE {template}"
        response = self._request("DELETE", template, path={"name": name}, accept_statuses=frozenset({409}))
        if not response.content.strip():
            if response.status_code == 409:
                return DataFieldDeletion(False, ("Dotmailer answered 409 Conflict: the field is in use",))
            return DataFieldDeletion(True)
        if response.status_code == 409:
            data = self._json(response, call)
            return DataFieldDeletion(False, (_problem_text(data),))
        result = self._parse(ApiDependencyResult, response, call)
        if result.result:
            return DataFieldDeletion(True)
        return DataFieldDeletion(False, tuple(result.reasons) or ("Dotmailer refused to delete the field",))

    # --- campaigns --------------------------------------------------------------------------------------------

    def iter_address_book_campaigns(self, book_id: int) -> Iterator[ApiCampaign]:
        return self._iter(
            "/v2/address-books/{id}/campaigns", ApiCampaign, key=lambda c: c.id, path={"id": book_id}
        )

    def get_campaign(self, campaign_id: int) -> ApiCampaign:
        return self._get("/v2/campaigns/{id}", ApiCampaign, path={"id": campaign_id})

    def iter_campaigns_with_activity_since(self, since: datetime) -> Iterator[ApiCampaign]:
        """Campaigns with any activity since a time: lets a sync poll only campaigns that changed."""
        return self._iter(
            "/v2/campaigns/with-activity-since/{date}",
            ApiCampaign,
            key=lambda c: c.id,
            path={"date": format_path_date(since)},
        )

    def get_campaign_summary(self, campaign_id: int) -> ApiCampaignSummary:
        return self._get("/v2/campaigns/{id}/summary", ApiCampaignSummary, path={"id": campaign_id})

    def iter_campaign_activities(
        self, campaign_id: int, since: datetime | None = None
    ) -> Iterator[ApiCampaignContactSummary]:
        """Per-contact activity: every recipient (``since=None``) or only contacts active since a time."""
        return self._iter_campaign_feed(
            "activities", ApiCampaignContactSummary, campaign_id, since, _activity_key
        )

    def iter_campaign_clicks(
        self, campaign_id: int, since: datetime | None = None
    ) -> Iterator[ApiCampaignContactClick]:
        return self._iter_campaign_feed("clicks", ApiCampaignContactClick, campaign_id, since, _row_key)

    def iter_campaign_opens(
        self, campaign_id: int, since: datetime | None = None
    ) -> Iterator[ApiCampaignContactOpen]:
        return self._iter_campaign_feed("opens", ApiCampaignContactOpen, campaign_id, since, _row_key)

    def _iter_campaign_feed(
        self,
        feed: str,
        model: type[M],
        campaign_id: int,
        since: datetime | None,
        key: Callable[[M], Hashable],
    ) -> Iterator[M]:
        if since is None:
            return self._iter(
                f"/v2/campaigns/{{id}}/{feed}", model, key=key, path={"id": campaign_id}, skip_bad_rows=True
            )
        return self._iter(
            f"/v2/campaigns/{{id}}/{feed}/since-date/{{date}}",
            model,
            key=key,
            path={"id": campaign_id, "date": format_path_date(since)},
            skip_bad_rows=True,
        )

    # --- plumbing ---------------------------------------------------------------------------------------------

    def _get(self, template: str, model: type[M], *, path: Mapping[str, object]) -> M:
        response = self._request("GET", template, path=path)
        return self._parse(model, response, f"GET {template}")

    def _iter(
        self,
        template: str,
        model: type[M],
        *,
        key: Callable[[M], Hashable],
        path: Mapping[str, object] | None = None,
        params: Mapping[str, str] | None = None,
        overlap: int = 0,
        skip_bad_rows: bool = False,
        lenient: frozenset[str] = frozenset(),
    ) -> Iterator[M]:
        call = f"GET {template}"
        shown = template.format(**{k: _quote(v) for k, v in (path or {}).items()})

        def fetch(select: int, skip: int) -> list[M]:
            page_params = {**(params or {}), "select": str(select), "skip": str(skip)}
            response = self._request("GET", template, path=path, params=page_params)
            data = self._json(response, call)
            if not skip_bad_rows and not lenient:
                return self._parse_list(model, data, response.status_code, call)
            return self._parse_list(
                model,
                data,
                response.status_code,
                call,
                skipped=(shown, skip),
                lenient=lenient,
                drop_bad_rows=skip_bad_rows,
            )

        return iter_paged(
            fetch,
            key=key,
            page_size=self.page_size,
            overlap=overlap if overlap < self.page_size else 0,
            what=call,
        )

    def _request(
        self,
        method: str,
        template: str,
        *,
        path: Mapping[str, object] | None = None,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        files: Mapping[str, tuple[str, bytes | IO[bytes], str]] | None = None,
        headers: Mapping[str, str] | None = None,
        outcome_error: type[OutcomeUnknownError] | None = None,
        base: str | None = None,
        accept_statuses: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        """Send one logical call with retries; returns a 2xx (or accepted) response or raises a typed error.

        ``outcome_error`` marks a non-idempotent call: it is re-sent only when the server certainly did not act,
        and a failure that may hide a completed action raises that class instead of the plain error.
        """
        idempotent = outcome_error is None
        on_endpoint = base is None
        if base is None:
            if self._endpoint is None:
                self.connect()
            base = self._endpoint or self._api_root
        call = f"{method} {template}"
        url = base + template.format(**{k: _quote(v) for k, v in (path or {}).items()})
        attempt = 0
        while True:
            attempt += 1
            self.check_budget(call)
            self.rate_limits.before_call(call)
            request = self._http.build_request(
                method, url, params=params, json=json_body, files=files, headers=headers
            )
            shown = request.url.raw_path.decode("ascii", errors="replace")
            started = time.monotonic()
            error: DotmailerError
            try:
                response = self._http.send(request)
            except httpx.TransportError as exc:
                self._record(call, None, time.monotonic() - started, attempt)
                logger.debug("%s %s -> %s", method, shown, type(exc).__name__)
                error = TransportError(
                    f"Dotmailer API call {call} failed: {type(exc).__name__}: {self._redact(str(exc))}",
                    call=call,
                )
                error.sent = not isinstance(exc, _NOT_SENT_ERRORS)
                error.__cause__ = exc
            else:
                elapsed = time.monotonic() - started
                self._record(call, response.status_code, elapsed, attempt)
                logger.debug("%s %s -> %s in %.3f s", method, shown, response.status_code, elapsed)
                self.rate_limits.observe(response.headers)
                if response.is_success or response.status_code in accept_statuses:
                    return response
                error = self._error_from_response(call, response)
                if isinstance(error, ApiUsageExceededError):
                    self.rate_limits.hit_hourly(call)
                if on_endpoint and isinstance(error, AuthenticationError) and self._rediscover(base, error):
                    return self._request(
                        method,
                        template,
                        path=path,
                        params=params,
                        json_body=json_body,
                        files=files,
                        headers=headers,
                        outcome_error=outcome_error,
                        accept_statuses=accept_statuses,
                    )
                if isinstance(error, RateLimitedError):
                    self._wait_out_rate_limit(error, call, response.headers, attempt)
                    continue
            delay = self.retry_policy.next_delay(error, attempt, idempotent=idempotent, rng=self._rng)
            if delay is None:
                if outcome_error is not None and _may_have_acted(error):
                    raise outcome_error(
                        f"Dotmailer API call {call} may or may not have been carried out ({_short(error)}); "
                        "it was not repeated to avoid doing it twice",
                        cause=error,
                    ) from error
                raise error
            logger.warning(
                "Dotmailer API call %s failed (%s); attempt %d of %d in %.1f s",
                call,
                _short(error),
                attempt + 1,
                self.retry_policy.max_attempts,
                delay,
            )
            self._sleep(delay)

    def _wait_out_rate_limit(
        self, error: RateLimitedError, call: str, headers: Mapping[str, str], attempt: int
    ) -> None:
        """After a 429: no call until the reset; the next attempt's :meth:`RateLimiter.before_call` waits."""
        policy = self.retry_policy
        fallback = min(policy.max_delay, policy.base_delay * policy.multiplier ** (attempt - 1))
        self.rate_limits.hit_tiered(call, headers, error.retry_after, fallback)
        if attempt >= policy.max_attempts:
            stop = RateLimitWaitError(
                f"{error}; refused {attempt} time(s) in a row, stopping here, resuming next run",
                status=error.status,
                code=error.code,
                api_message=error.api_message,
                call=call,
            )
            stop.retry_after = error.retry_after
            raise stop from error
        logger.warning(
            "Dotmailer API call %s failed (%s); attempt %d of %d after the rate limit's reset",
            call,
            _short(error),
            attempt + 1,
            policy.max_attempts,
        )

    def _rediscover(self, failed_base: str, error: DotmailerError) -> bool:
        """A 401/403 from the account's endpoint: ask account-info (once) whether the endpoint moved."""
        if self._rediscovered or failed_base == self._api_root:
            return False
        self._rediscovered = True
        logger.warning(
            "Dotmailer endpoint %s refused %s (%s); asking account-info for the account's endpoint",
            failed_base,
            error.call,
            _short(error),
        )
        self.connect()
        return self._endpoint is not None and self._endpoint != failed_base

    def check_budget(self, call: str = "the next call") -> None:
        """Raise :class:`BudgetExhaustedError` while fewer than :attr:`safety_margin` calls are estimated to
        remain this hour (never when the allowance is unknown). Every attempt of every call runs it first."""
        remaining = self.calls_remaining
        if self.safety_margin is not None and remaining is not None and remaining < self.safety_margin:
            raise BudgetExhaustedError(
                f"only {remaining} Dotmailer API calls remain this hour, fewer than the safety margin of "
                f"{self.safety_margin}: not making {call}; stopping early, the next run resumes"
            )

    def _record(self, call: str, status: int | None, elapsed: float, attempt: int) -> None:
        self.calls_made += 1
        self.calls_by_endpoint[call] += 1
        if self.on_call is not None:
            self.on_call(ApiCall(call.split(" ", 1)[0], call, status, elapsed, attempt))

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _error_from_response(self, call: str, response: httpx.Response) -> DotmailerError:
        api_message: str | None = None
        detail: str | None = None
        if not response.content.strip():
            detail = "empty response body"
        else:
            try:
                data = response.json()
            except ValueError:
                content_type = response.headers.get("content-type", "unknown content type").split(";")[0]
                detail = f"non-JSON response ({content_type})"
            else:
                message = _message_of(data)
                if message is not None:
                    api_message = self._redact(message)
                else:
                    detail = "JSON response without a message"
        retry_after = None
        if response.status_code == 429:
            retry_after = retry_after_seconds(response.headers, self._clock())
        return error_for_response(
            call=call,
            status=response.status_code,
            api_message=api_message,
            detail=detail,
            retry_after=retry_after,
        )

    def _json(self, response: httpx.Response, call: str) -> Any:
        if not response.content.strip():
            raise MalformedResponseError(
                f"Dotmailer API call {call} returned an empty body where JSON was expected (HTTP "
                f"{response.status_code})",
                status=response.status_code,
                call=call,
            )
        try:
            return response.json()
        except ValueError as exc:
            content_type = response.headers.get("content-type", "unknown content type").split(";")[0]
            raise MalformedResponseError(
                f"Dotmailer API call {call} returned unreadable JSON ({content_type}, HTTP {response.status_code})",
                status=response.status_code,
                call=call,
            ) from exc

    def _raise_for_message(self, data: Mapping[str, Any], status: int, call: str) -> None:
        """A 2xx body ``{"message": ...}`` is Dotmailer reporting an error (the vendor's code treats it so)."""
        message = _message_of(data)
        if message is None:
            return
        error = error_for_response(call=call, status=status, api_message=self._redact(message))
        if type(error) is MalformedResponseError:
            error = BadRequestError(
                str(error), status=status, code=error.code, api_message=error.api_message, call=call
            )
        raise error

    def _parse(self, model: type[M], response: httpx.Response, call: str) -> M:
        data = self._json(response, call)
        if isinstance(data, Mapping) and "message" not in model.model_fields:
            self._raise_for_message(data, response.status_code, call)
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise _malformed(call, exc, response.status_code) from exc

    def _parse_list(
        self,
        model: type[M],
        data: Any,
        status: int,
        call: str,
        *,
        skipped: tuple[str, int] | None = None,
        lenient: frozenset[str] = frozenset(),
        drop_bad_rows: bool = True,
    ) -> list[M]:
        """Parse a JSON array of rows.

        With ``skipped=(path, skip)``: a row whose only bad values are in ``lenient`` fields (API names,
        lower case) is kept without them; otherwise, with ``drop_bad_rows``, a bad row is left out. Either is
        recorded in :attr:`skipped_rows` instead of failing the page, unless no row of the page parses (then the
        answer itself is broken)."""
        if isinstance(data, Mapping):
            self._raise_for_message(data, status, call)
        if not isinstance(data, list):
            raise MalformedResponseError(
                f"Dotmailer API call {call} returned {type(data).__name__} where a JSON array was expected",
                status=status,
                call=call,
            )
        rows: list[M] = []
        bad: list[SkippedRow] = []
        for index, item in enumerate(data):
            try:
                rows.append(model.model_validate(item))
            except ValidationError as exc:
                if skipped is None or not isinstance(item, Mapping):
                    raise _malformed(call, exc, status, where=f"row {index}: ") from exc
                report = _skipped_row(call, skipped[0], skipped[1] + index + 1, item, exc)
                repaired = _without_fields(model, item, exc, lenient)
                if repaired is not None:
                    rows.append(repaired)
                    self.skipped_rows.append(replace(report, kept=True))
                    logger.warning("Dotmailer API call %s: %s", call, self.skipped_rows[-1].describe())
                    continue
                if not drop_bad_rows:
                    raise _malformed(call, exc, status, where=f"row {index}: ") from exc
                bad.append(report)
        if bad and not rows and len(bad) > 1:
            # Every row of the page is wrong: that is a broken answer, not a bad value in one row.
            raise MalformedResponseError(
                f"Dotmailer API call {call} returned no readable row ({bad[0].describe()})",
                status=status,
                call=call,
            )
        for row in bad:
            logger.warning("Dotmailer API call %s: %s", call, row.describe())
        self.skipped_rows.extend(bad)
        return rows

    def _parse_created(
        self, model: type[M], response: httpx.Response, call: str, unknown: type[OutcomeUnknownError]
    ) -> M:
        """Parse a creating POST's 2xx answer; an unreadable one means it acted but we cannot tell the result."""
        try:
            return self._parse(model, response, call)
        except MalformedResponseError as exc:
            raise unknown(
                f"Dotmailer API call {call} succeeded (HTTP {response.status_code}) but its answer could not be "
                f"read, so its result is unknown: {exc}",
                cause=exc,
            ) from exc


def _date_header(response: httpx.Response) -> datetime | None:
    text = response.headers.get("date")
    if not text:
        return None
    try:
        stamp = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def _message_of(data: Any) -> str | None:
    if not isinstance(data, Mapping):
        return None
    for key, value in data.items():
        if str(key).lower() == "message" and value is not None:
            return str(value)
    return None


def _skipped_row(call: str, path: str, row: int, item: Mapping[str, Any], exc: ValidationError) -> SkippedRow:
    first = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"]) or "row"
    value = first.get("input")
    if isinstance(value, Mapping | list):
        value = None
    # Name the field as the API spelled it, and the email when the row has one, so the report is findable.
    email = next((str(v) for k, v in item.items() if str(k).lower() == "email" and v), None)
    text = "" if value is None else str(value)[:80]
    where = f"{field} (email {email})" if email else field
    return SkippedRow(call=call, path=path, row=row, field=where, value=text, problem=str(first["msg"])[:120])


# An opt-out must never be lost to a malformed date: its row is kept without the date (and reported).
_OPT_OUT_LENIENT = frozenset({"dateremoved"})


def _without_fields(
    model: type[M], item: Mapping[str, Any], exc: ValidationError, lenient: frozenset[str]
) -> M | None:
    """The row validated again without its bad values, when every bad value is in a ``lenient`` field."""
    if not lenient:
        return None
    bad = {str(err["loc"][0]).lower() for err in exc.errors() if err["loc"]}
    if not bad or not bad <= lenient:
        return None
    try:
        return model.model_validate({k: v for k, v in item.items() if str(k).lower() not in bad})
    except ValidationError:
        return None


def _report_gone(call: str, import_id: str, exc: ApiNotFoundError) -> ReportGoneError:
    return ReportGoneError(
        f"Dotmailer API call {call}: the faults report of import {import_id} is no longer available ({exc})",
        status=exc.status,
        code=exc.code,
        api_message=exc.api_message,
        call=call,
    )


def _problem_text(data: Any) -> str:
    """A problem-details body (RFC 7807) as one line: title, then detail."""
    if isinstance(data, Mapping):
        lowered = {str(k).lower(): v for k, v in data.items()}
        parts = [str(lowered[k]) for k in ("title", "detail", "message") if lowered.get(k)]
        if parts:
            return ": ".join(parts)
    return "Dotmailer answered 409 Conflict: the field is in use"


def _may_have_acted(error: DotmailerError) -> bool:
    """For a creating POST that failed: could the server have carried it out anyway?"""
    if isinstance(error, TransportError):
        return error.sent
    return error.status is not None and error.status >= 500 and not server_did_not_act(error)


def _short(error: DotmailerError) -> str:
    if error.status is not None:
        return f"HTTP {error.status}" + (f" {error.code}" if error.code else "")
    return type(error.__cause__).__name__ if error.__cause__ is not None else type(error).__name__


def _malformed(call: str, exc: ValidationError, status: int, *, where: str = "") -> MalformedResponseError:
    problems = "; ".join(
        f"{where}{'.'.join(str(part) for part in err['loc']) or 'body'}: {err['msg']}"
        for err in exc.errors(include_url=False, include_input=False)[:3]
    )
    return MalformedResponseError(
        f"Dotmailer API call {call} returned data of an unexpected shape: {problems}",
        status=status,
        call=call,
    )


def _parse_faults_csv(text: str, call: str) -> list[ApiImportFault]:
    """Column 1 is the reason and column 2 the email unless the header says otherwise; the rest are kept."""
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise MalformedResponseError(
            f"Dotmailer API call {call} returned an unreadable CSV: {exc}", call=call
        ) from exc
    header = [cell.strip() for cell in rows[0]]
    lowered = [cell.lower() for cell in header]
    if len(header) < 2:
        raise MalformedResponseError(
            f"Dotmailer API call {call} returned a faults CSV without reason and email columns", call=call
        )
    reason_at = lowered.index("reason") if "reason" in lowered else 0
    email_at = lowered.index("email") if "email" in lowered else 1
    faults: list[ApiImportFault] = []
    for row in rows[1:]:
        if not any(cell.strip() for cell in row):
            continue
        cells = [*row, *[""] * (len(header) - len(row))]
        columns = {name: cells[i] for i, name in enumerate(header) if i not in (reason_at, email_at) and name}
        faults.append(
            ApiImportFault(email=cells[email_at].strip(), reason=cells[reason_at].strip(), columns=columns)
        )
    return faults
