"""The :class:`Sandbox`: accounts, clock, knobs, logs, and the one ``handle`` that answers every request.

Order of work for a request: route it (pure), decide its faults (seeded, before anything is applied), then
unknown path -> 404, wrong method -> 405, bad credentials -> 401, due asynchronous removals applied, tiered
limit -> 429 (``rate_limit``), hourly limit -> ``ERROR_APIUSAGE_EXCEEDED``, then the handler. A fault that replaces the answer never reaches the handler, so it never changes state.
Everything runs under one lock, so the transport and the threaded server are safe to use from many threads.
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from dotsync.sandbox.api import build_router
from dotsync.sandbox.api.context import Ctx
from dotsync.sandbox.calllog import CallLog, CallRecord
from dotsync.sandbox.dates import Clock
from dotsync.sandbox.errors import ApiError
from dotsync.sandbox.faults import FaultConfig, FaultDecision, fault_response
from dotsync.sandbox.history import History
from dotsync.sandbox.imports import ImportConfig, finish_through
from dotsync.sandbox.messages import Outcome, SandboxRequest, SandboxResponse
from dotsync.sandbox.ratelimit import TOO_MANY, RateLimit, RateLimiter
from dotsync.sandbox.server import ServerHandle, serve
from dotsync.sandbox.state import Account, Env
from dotsync.sandbox.transport import SandboxTransport

log = logging.getLogger(__name__)

UNAUTHORIZED = "Authorization has been denied for this request."
USAGE_EXCEEDED = (
    "Your account has generated excess API activity and is being temporarily capped. "
    "Please contact support. ERROR_APIUSAGE_EXCEEDED"
)
UNKNOWN_TEMPLATE = "<unknown>"
# The real service removes "some minutes" after answering 202 (reference §15); a short delay by default keeps
# the asynchronous case exercised everywhere while a demo or a test advancing its clock is not slowed down.
REMOVAL_DELAY = 5.0


class Sandbox:
    """A stateful fake Dotmailer API v2 for one or more accounts.

    ``clock``: a ``now()`` callable (default: real UTC time); ``advance``/``set_time`` shift it. ``sleep``:
    what slow responses call (tests pass a fake). ``seed``: seeds the world RNG and, unless given explicitly,
    the fault and import RNGs. ``api_endpoint``: the ``ApiEndpoint`` account-info reports for accounts with no
    endpoint of their own (default: the scheme+host the request came in on). ``enforce_endpoint``: answer
    403 to calls (other than account-info) that do not come in on an account's configured endpoint.
    ``rate_limit``: the tiered per-minute limit (``RateLimit(35, 60)``; None = off, the default).
    ``removal_delay``: seconds of sandbox time before a bulk removal (``contacts/delete``, answered 202) takes
    the contacts out of the book (default ``REMOVAL_DELAY``, 5 s, as served; 0 applies it at once). ``faults_ttl``: seconds a finished import's faults
    report is kept (default ``imports.faults_ttl``, a week).
    """

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] | None = None,
        seed: int = 0,
        faults: FaultConfig | None = None,
        imports: ImportConfig | None = None,
        api_endpoint: str | None = None,
        enforce_endpoint: bool = False,
        rate_limit: RateLimit | None = None,
        removal_delay: float = REMOVAL_DELAY,
        faults_ttl: float | None = None,
    ) -> None:
        self.clock = Clock(clock)
        self.history = History()
        self.env = Env(self.clock, self.history, seed)
        self.faults = faults or FaultConfig(seed=seed)
        self.imports = imports or ImportConfig(seed=seed)
        self.calls = CallLog()
        self.accounts: dict[str, Account] = {}
        self.api_endpoint = api_endpoint
        self.enforce_endpoint = enforce_endpoint
        self.removal_delay = removal_delay
        if faults_ttl is not None:
            self.imports.faults_ttl = faults_ttl
        self.tiers: RateLimiter | None = RateLimiter(rate_limit) if rate_limit is not None else None
        self.internal_errors: list[BaseException] = []
        self.lock = threading.RLock()
        self._sleep = sleep or time.sleep
        self._router = build_router()

    # ----------------------------------------------------------------- accounts and world
    def add_account(self, username: str, password: str, **details: Any) -> Account:
        """Add an account reached with these credentials (``details``: name, main_email, api_endpoint)."""
        with self.lock:
            if username.lower() in self.accounts:
                raise ValueError(f"account {username!r} exists already")
            account = Account(self.env, username, password, **details)
            self.accounts[username.lower()] = account
            return account

    def account(self, username: str | None = None) -> Account:
        """The account for ``username`` (default: the first one added)."""
        if username is None:
            if not self.accounts:
                raise LookupError("the sandbox has no account; call add_account first")
            return next(iter(self.accounts.values()))
        return self.accounts[username.lower()]

    def now(self) -> datetime:
        """The sandbox time."""
        return self.clock.now()

    @property
    def rate_limit(self) -> RateLimit | None:
        """The tiered per-minute limit, or None (off)."""
        return self.tiers.limit if self.tiers is not None else None

    @rate_limit.setter
    def rate_limit(self, limit: RateLimit | None) -> None:
        self.tiers = RateLimiter(limit) if limit is not None else None

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move the sandbox clock forward (``advance(minutes=5)``); removals that fall due are applied."""
        moved = self.clock.advance(delta, **kwargs)
        with self.lock:
            for account in self.accounts.values():
                account.apply_due_removals()
        return moved

    def set_time(self, when: datetime) -> None:
        """Set the sandbox clock."""
        self.clock.set(when)

    def finish_imports(self, username: str | None = None) -> None:
        """Finish every unfinished import (of one account, or of all), as if Dotmailer caught up."""
        with self.lock:
            targets = [self.account(username)] if username else list(self.accounts.values())
            for account in targets:
                finish_through(account)

    # ----------------------------------------------------------------- front ends
    def transport(self) -> SandboxTransport:
        """An ``httpx.BaseTransport`` answering from this sandbox in-process."""
        return SandboxTransport(self)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> ServerHandle:
        """Serve this sandbox over HTTP on loopback in a background thread (see :func:`server.serve`)."""
        return serve(self, host, port)

    # ----------------------------------------------------------------- request handling
    def handle(self, request: SandboxRequest) -> Outcome:
        """Answer one request (the transport and the server both call this)."""
        matched = self._router.match(request.path)
        template = matched[0].template if matched else UNKNOWN_TEMPLATE
        with self.lock:
            decision = self.faults.decide(request.method, template)
        if decision.delay:
            self._sleep(decision.delay)
        with self.lock:
            now = self.now()
            if decision.kind == "drop":
                self._log(request, template, None, None, decision)
                return Outcome(None)
            if decision.kind is not None:
                response = fault_response(decision, now, self.faults.retry_after)
                self._log(request, template, response.status, None, decision)
                return Outcome(_dated(response, now))
            response, username = self._answer(request, matched, template, now)
            self._log(request, template, response.status, username, decision)
            return Outcome(_dated(response, now), drop_after=decision.drop_after)

    def _log(
        self, request: SandboxRequest, template: str, status: int | None, user: str | None, d: FaultDecision
    ) -> None:
        self.calls.append(CallRecord(request.method, template, status, user, self.now(), d.label))

    def _authenticate(self, request: SandboxRequest) -> Account | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            username, _, password = (
                base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
            )
        except (binascii.Error, UnicodeDecodeError):
            return None
        account = self.accounts.get(username.lower())
        return account if account is not None and account.password == password else None

    def _answer(
        self, request: SandboxRequest, matched: Any, template: str, now: datetime
    ) -> tuple[SandboxResponse, str | None]:
        if matched is None:
            message = (
                f"No HTTP resource was found that matches the request URI '{request.base_url}{request.path}'."
            )
            return SandboxResponse.message(404, message), None
        route, params = matched
        handler = route.handlers.get(request.method)
        if handler is None:
            message = f"The requested resource does not support http method '{request.method}'."
            return SandboxResponse.message(405, message, {"allow": ", ".join(sorted(route.handlers))}), None
        account = self._authenticate(request)
        if account is None:
            return SandboxResponse.message(
                401, UNAUTHORIZED, {"www-authenticate": 'Basic realm="sandbox"'}
            ), None
        endpoint = account.api_endpoint or self.api_endpoint
        if (
            self.enforce_endpoint
            and endpoint
            and template != "/v2/account-info"
            and request.base_url.rstrip("/").lower() != endpoint.rstrip("/").lower()
        ):
            return SandboxResponse.message(403, "Forbidden: Access is denied"), account.username
        account.apply_due_removals()
        tier_headers: dict[str, str] = {}
        if self.tiers is not None:
            allowed, tier_headers = self.tiers.take(account.username.lower(), now)
            if not allowed:
                return SandboxResponse.message(429, TOO_MANY, tier_headers), account.username
        limit = self.faults.hourly_call_limit
        if limit is not None and account.calls_in_last_hour(now) >= limit:
            return SandboxResponse.message(
                self.faults.usage_exceeded_status, USAGE_EXCEEDED
            ), account.username
        account.call_times.append(now)
        ctx = Ctx(account, request, params, self.imports, self.api_endpoint, limit, self.removal_delay)
        try:
            answer = handler(ctx)
            answer.headers.update(tier_headers)
            return answer, account.username
        except ApiError as error:
            return SandboxResponse.message(error.status, error.message, error.headers), account.username
        except Exception as error:  # a sandbox bug: answer like the API would, keep it for tests to see
            log.exception("sandbox handler failed for %s %s", request.method, request.path)
            self.internal_errors.append(error)
            return SandboxResponse.message(500, "An error has occurred."), account.username


def _dated(response: SandboxResponse, now: datetime) -> SandboxResponse:
    """Every answer carries the sandbox clock in ``Date`` (RFC 7231), as a real server carries its own."""
    response.headers.setdefault("date", format_datetime(now.astimezone(UTC), usegmt=True))
    return response
