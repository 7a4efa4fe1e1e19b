"""Typed errors of the Dotmailer HTTP layer, and the one table that turns a failed response into one of them.

This package is the HTTP layer only: it knows Dotmailer's REST API v2 and nothing about dotsync's database.
Every exception here subclasses :class:`dotsync.errors.DotsyncError`, so the CLI's single exit-code translator
handles them: credential and endpoint problems exit 3 (``EXIT_CONFIG``), every other API failure exits 1.

Dotmailer reports errors as ``{"message": "<text> ERROR_SOME_CODE"}`` with an HTTP status that is not documented
per code, so :data:`ERROR_TABLE` matches on the ``ERROR_*`` code first and on the status second. Messages built
here name the call (``GET /v2/address-books/{id}``), never the URL's credentials or the Authorization header;
the client additionally redacts the password from any text that came from the network.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from dotsync.errors import EXIT_CONFIG, EXIT_FAILURE, ConfigError, DotsyncError

_CODE_PATTERN = re.compile(r"\bERROR_[A-Z0-9_]+\b")


class DotmailerError(DotsyncError):
    """Base of every Dotmailer API failure. Attributes say what failed so callers can decide without parsing text.

    ``status`` is the HTTP status (None when no response came back), ``code`` the ``ERROR_*`` code found in the
    body (or None), ``api_message`` the body's ``message`` text, ``call`` the endpoint as ``"GET /v2/..."``.
    """

    exit_code = EXIT_FAILURE

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        api_message: str | None = None,
        call: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.api_message = api_message
        self.call = call


class AuthenticationError(DotmailerError, ConfigError):
    """The API user name or password was refused (HTTP 401 or a credentials ``ERROR_*`` code)."""

    exit_code = EXIT_CONFIG


class AccessDeniedError(AuthenticationError):
    """HTTP 403: Dotmailer answers this when the call went to another region's endpoint, or the user lacks access."""


class InvalidEndpointError(DotmailerError, ConfigError):
    """The configured API URL or the discovered ``ApiEndpoint`` is not one we may send credentials to."""

    exit_code = EXIT_CONFIG


class ApiNotFoundError(DotmailerError):
    """HTTP 404 or an ``ERROR_*_NOT_FOUND`` code: the book, contact, campaign, import or field does not exist."""


class BadRequestError(DotmailerError):
    """Any other 4xx: Dotmailer refused the request as invalid. Never retried."""


class DuplicateError(BadRequestError):
    """The name is taken (``ERROR_ADDRESSBOOK_DUPLICATE``, ``ERROR_NON_UNIQUE_DATAFIELD``)."""


class RateLimitedError(DotmailerError):
    """HTTP 429 (tiered rate limit). ``retry_after`` is the wait the server asked for, in seconds, when known."""

    retry_after: float | None = None


class ApiUsageExceededError(DotmailerError):
    """``ERROR_APIUSAGE_EXCEEDED``: the account's hourly call allowance is spent. Stop and resume next run."""


class TooManyActiveImportsError(DotmailerError):
    """``ERROR_IMPORT_TOOMANYACTIVEIMPORTS``: Dotmailer is busy with other imports; try again next run."""


class ServerError(DotmailerError):
    """HTTP 5xx, or ``ERROR_SYSTEM_SERVICETEMPORARILYUNAVAILABLE`` (maintenance)."""


class TransportError(DotmailerError):
    """No HTTP response: DNS, connection, TLS or timeout failure.

    ``sent`` is False only when the request certainly never reached the server (the connection was never made).
    """

    sent: bool = True


class MalformedResponseError(DotmailerError):
    """The response was not what the API promises: HTML, truncated JSON, wrong types, an empty body."""


class PagingLoopError(MalformedResponseError):
    """The server kept returning pages with nothing new in them; paging stopped instead of looping for ever."""


class BudgetExhaustedError(DotmailerError):
    """The client refused to make a call: fewer calls than its safety margin remain of the hourly allowance."""


class RateLimitWaitError(RateLimitedError, BudgetExhaustedError):
    """The rate limit asks for a wait longer than a run may sleep (the cron interval): stop, resume next run.

    Raised before the call is made; ``retry_after`` is the wait that was refused. Being a
    :class:`BudgetExhaustedError`, it stops a sync early (exit 0) instead of failing it.
    """


class ReportGoneError(ApiNotFoundError):
    """An import's faults report is no longer available (Dotmailer keeps it about a week).

    Answered as ``ERROR_IMPORT_REPORT_NOT_FOUND``, a 404, or an empty body for an import that finished.
    """


class OutcomeUnknownError(DotmailerError):
    """A non-idempotent POST may or may not have been carried out (timeout after sending, 5xx).

    It is not retried automatically, because a retry could create a second book, field or import; the caller
    must find out (list books, poll imports) or wait for the next run. ``cause`` is the underlying error.
    """

    def __init__(self, message: str, *, cause: DotmailerError) -> None:
        super().__init__(
            message, status=cause.status, code=cause.code, api_message=cause.api_message, call=cause.call
        )
        self.cause = cause


class UploadOutcomeUnknownError(OutcomeUnknownError):
    """A contact-import upload may or may not have been accepted; Dotmailer gave no import id to track it by."""


@dataclass(frozen=True)
class ErrorRule:
    """One row of :data:`ERROR_TABLE`: matches a response by ``ERROR_*`` code, by status range, or both."""

    exc: type[DotmailerError]
    codes: frozenset[str] = frozenset()
    code_suffix: str | None = None
    statuses: range | None = None

    def matches(self, status: int | None, code: str | None) -> bool:
        if self.codes and code not in self.codes:
            return False
        if self.code_suffix is not None and (code is None or not code.endswith(self.code_suffix)):
            return False
        return not (self.statuses is not None and (status is None or status not in self.statuses))


def _status(low: int, high: int | None = None) -> range:
    return range(low, (high if high is not None else low) + 1)


# First match wins. Codes come first because Dotmailer's status per code is undocumented (the flat-rate cap
# may arrive as 400, 403 or 429); statuses then catch everything that carries no recognised code.
ERROR_TABLE: tuple[ErrorRule, ...] = (
    ErrorRule(ApiUsageExceededError, codes=frozenset({"ERROR_APIUSAGE_EXCEEDED"})),
    ErrorRule(TooManyActiveImportsError, codes=frozenset({"ERROR_IMPORT_TOOMANYACTIVEIMPORTS"})),
    ErrorRule(ServerError, codes=frozenset({"ERROR_SYSTEM_SERVICETEMPORARILYUNAVAILABLE"})),
    ErrorRule(
        AuthenticationError,
        codes=frozenset(
            {
                "ERROR_ACCOUNT_INVALID",
                "ERROR_INVALID_LOGIN",
                "ERROR_APIUSER_INVALID",
                "ERROR_USERACCOUNT_UNKNOWN",
            }
        ),
    ),
    ErrorRule(DuplicateError, codes=frozenset({"ERROR_ADDRESSBOOK_DUPLICATE", "ERROR_NON_UNIQUE_DATAFIELD"})),
    ErrorRule(ApiNotFoundError, code_suffix="_NOT_FOUND"),
    ErrorRule(ApiNotFoundError, code_suffix="_NOTFOUND"),
    ErrorRule(AuthenticationError, statuses=_status(401)),
    ErrorRule(AccessDeniedError, statuses=_status(403)),
    ErrorRule(ApiNotFoundError, statuses=_status(404)),
    ErrorRule(RateLimitedError, statuses=_status(429)),
    ErrorRule(BadRequestError, statuses=_status(400, 499)),
    ErrorRule(ServerError, statuses=_status(500, 599)),
)

_HINTS: Mapping[type[DotmailerError], str] = {
    AuthenticationError: "check the API user name and password",
    AccessDeniedError: "check the account's API endpoint (region) and the API user's access",
    ApiUsageExceededError: "the account's hourly API allowance is spent; the next run resumes",
    TooManyActiveImportsError: "Dotmailer is busy with other imports; the next run retries",
    RateLimitedError: "Dotmailer's rate limit was hit",
}


def extract_code(text: str | None) -> str | None:
    """Return the ``ERROR_*`` code in a Dotmailer message, if there is one."""
    if not text:
        return None
    match = _CODE_PATTERN.search(text)
    return match.group(0) if match else None


def classify(status: int | None, code: str | None) -> type[DotmailerError]:
    """Pick the exception class for a failed call; falls back to :class:`MalformedResponseError` (e.g. a 3xx)."""
    for rule in ERROR_TABLE:
        if rule.matches(status, code):
            return rule.exc
    return MalformedResponseError


def error_for_response(
    *,
    call: str,
    status: int | None,
    api_message: str | None,
    detail: str | None = None,
    retry_after: float | None = None,
) -> DotmailerError:
    """Build the typed exception for a failed call. ``detail`` describes a body that carried no ``message``."""
    code = extract_code(api_message)
    exc_type = classify(status, code)
    parts = [f"Dotmailer API call {call} failed"]
    if status is not None:
        parts.append(f"HTTP {status}")
    if api_message:
        parts.append(api_message.strip())
    elif detail:
        parts.append(detail)
    message = ": ".join(parts)
    hint = _HINTS.get(exc_type)
    if hint:
        message = f"{message} ({hint})"
    exc = exc_type(message, status=status, code=code, api_message=api_message, call=call)
    if isinstance(exc, RateLimitedError):
        exc.retry_after = retry_after
    return exc
