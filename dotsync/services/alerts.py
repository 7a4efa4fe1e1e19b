"""Alerts: one JSON POST to ``DOTSYNC_ALERT_WEBHOOK`` when a problem appears, and one when it clears.

After each run, still under the integration's lock, the integration's problems (:mod:`dotsync.services.health`)
are compared with the ``alert_state`` rows: a new problem is announced once, a cleared one is announced as
resolved once, whatever the number of runs in between. A post that fails is logged and retried by the next run
(the row remembers it was not delivered). All posts of one run share a short deadline, so a receiver that is
down or slow never delays a sync by more than that, and never fails it.

The webhook URL often carries a secret token (Slack's do), so it is never logged: only its host is.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dotsync import __version__
from dotsync.db.models import AlertState, Integration
from dotsync.errors import ConfigError, SyncFailedError
from dotsync.services.health import Problem, check_health
from dotsync.urls import transport_problem

log = logging.getLogger("dotsync.alerts")

PROBLEM, RESOLVED, TEST = "problem", "resolved", "test"


def validate_webhook(url: str) -> str:
    """Accept an https URL, or http to a loopback address; anything else is a configuration error (exit 3)."""
    parts = urlsplit(url.strip())
    try:
        parts.port  # noqa: B018  (raises ValueError on a malformed port)
    except ValueError as exc:
        raise ConfigError(f"invalid DOTSYNC_ALERT_WEBHOOK: {exc}") from exc
    problem = transport_problem(parts)
    if problem:
        raise ConfigError(f"invalid DOTSYNC_ALERT_WEBHOOK: {problem}")
    return url.strip()


@dataclass
class Webhook:
    """Where alerts go and how long the posts of one run may take in total."""

    url: str
    timeout: float = 5.0
    transport: httpx.BaseTransport | None = None

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "?"


@dataclass
class _Delivery:
    """Posts under one deadline; after the first failure it stops trying (the next run retries)."""

    webhook: Webhook
    deadline: float = 0.0
    error: str | None = None
    _client: httpx.Client | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.webhook.timeout

    def post(self, payload: dict[str, Any]) -> bool:
        if self.error is not None:
            return False
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            self.error = f"no time left (alert timeout {self.webhook.timeout:g} s)"
            return False
        try:
            if self._client is None:
                self._client = httpx.Client(transport=self.webhook.transport, follow_redirects=False)
            response = self._client.post(self.webhook.url, json=payload, timeout=remaining)
            if response.status_code >= 300:
                self.error = f"HTTP {response.status_code} from {self.webhook.host}"
                return False
        except httpx.HTTPError as exc:
            self.error = f"{type(exc).__name__} posting to {self.webhook.host}: {exc}"
            return False
        return True

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def message(
    event: str, problem: Problem | AlertState, integration: str, run_id: int | None
) -> dict[str, Any]:
    """The JSON an alert posts: ``text`` for Slack-compatible receivers, and the fields for machines."""
    text_problem = problem.message if isinstance(problem, Problem) else problem.problem
    book = problem.book
    where = integration if book is None else f"{integration} / {book}"
    since = problem.since
    return {
        "text": f"[dotsync] {event.upper()} {where}: {text_problem}",
        "event": event,
        "integration": integration,
        "book": book,
        "problem": text_problem,
        "kind": str(problem.kind) if isinstance(problem, Problem) else problem.key.rsplit(":", 1)[-1],
        "since": since.isoformat() if since else None,
        "run_id": run_id,
    }


@dataclass
class AlertOutcome:
    """What one evaluation did (for tests and logs)."""

    announced: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    undelivered: list[str] = field(default_factory=list)
    error: str | None = None


def evaluate_alerts(
    sessions: sessionmaker[Session],
    integration_id: int,
    run_id: int | None,
    now: datetime,
    webhook: Webhook,
    *,
    max_age: timedelta,
) -> AlertOutcome:
    """Announce the integration's new problems and the ones that cleared, once each (see the module doc).

    Three phases, so no database transaction stays open while a receiver is slow: read what to send, post it,
    then record what was delivered.
    """
    outcome = AlertOutcome()
    with sessions() as session:
        integration = session.get(Integration, integration_id)
        if integration is None:
            return outcome
        name = integration.name
        current = {
            p.key: p
            for p in check_health(session, now, max_age=max_age, integration_id=integration_id).problems
        }
        states = {
            s.key: s
            for s in session.scalars(select(AlertState).where(AlertState.integration_id == integration_id))
        }
        for state in states.values():
            session.expunge(state)
    to_announce = [p for key, p in current.items() if key not in states or states[key].announced_at is None]
    to_resolve = [s for key, s in states.items() if key not in current and s.announced_at is not None]
    forgotten = [key for key, s in states.items() if key not in current and s.announced_at is None]

    delivery = _Delivery(webhook)
    delivered: set[str] = set()
    try:
        for problem in to_announce:
            if delivery.post(message(PROBLEM, problem, name, run_id)):
                delivered.add(problem.key)
                outcome.announced.append(problem.key)
        for state in to_resolve:
            if delivery.post(message(RESOLVED, state, name, run_id)):
                delivered.add(state.key)
                outcome.resolved.append(state.key)
    finally:
        delivery.close()
    outcome.undelivered = [p.key for p in to_announce if p.key not in delivered] + [
        s.key for s in to_resolve if s.key not in delivered
    ]
    outcome.error = delivery.error
    if outcome.undelivered:
        log.warning(
            "alert for %r not delivered (%s); %d message(s) will be retried with the next run",
            name,
            delivery.error,
            len(outcome.undelivered),
        )

    with sessions.begin() as session:
        rows = {
            s.key: s
            for s in session.scalars(select(AlertState).where(AlertState.integration_id == integration_id))
        }
        for key, problem in current.items():
            row = rows.get(key)
            if row is None:
                row = AlertState(
                    key=key,
                    integration_id=integration_id,
                    book=problem.book,
                    problem=problem.message,
                    since=problem.since or now,
                    run_id=run_id,
                    first_seen_at=now,
                )
                session.add(row)
            row.cleared_at = None
            if key in delivered:
                row.announced_at = now
                row.last_error = None
            elif row.announced_at is None:
                row.last_error = delivery.error
        for key in forgotten:
            session.delete(rows[key])
        for state in to_resolve:
            row = rows[state.key]
            if state.key in delivered:
                session.delete(row)
            else:
                row.cleared_at = row.cleared_at or now
                row.last_error = delivery.error
    return outcome


def after_run_hook(
    sessions: sessionmaker[Session],
    clock: Callable[[], datetime],
    webhook: Webhook,
    *,
    max_age: timedelta,
) -> Callable[[int, int], None]:
    """The orchestrator's ``after_run``: evaluate alerts for the integration that just ran."""

    def after_run(integration_id: int, run_id: int) -> None:
        evaluate_alerts(sessions, integration_id, run_id, clock(), webhook, max_age=max_age)

    return after_run


@dataclass(frozen=True)
class AlertTestResult:
    """``alerts test``: the test message, delivered to the webhook's host."""

    delivered: bool
    host: str
    message: dict[str, Any]  # the JSON posted


def send_test(webhook: Webhook, now: datetime) -> AlertTestResult:
    """``dotsync alerts test``: post one test message; a failure is the command's failure (exit 1)."""
    payload = {
        "text": f"[dotsync] TEST alert from dotsync {__version__}: alerts reach this receiver.",
        "event": TEST,
        "integration": None,
        "book": None,
        "problem": None,
        "kind": None,
        "since": now.isoformat(),
        "run_id": None,
    }
    delivery = _Delivery(webhook)
    try:
        if not delivery.post(payload):
            raise SyncFailedError(f"the test alert was not delivered: {delivery.error}")
    finally:
        delivery.close()
    return AlertTestResult(delivered=True, host=webhook.host, message=payload)
