"""Runs a sync body (import, export, or both) for each integration: lock, run history, API client, outcome.

This is where the cron contract lives: one integration's failure does not stop the next; a locked
integration is skipped (exit 75); the overall exit is failure (1) if any run failed, else 75 if any was
skipped for the lock, else 0.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from dotsync import logcontext
from dotsync.db.models import Integration, RunKind, RunOutcome
from dotsync.dotmailer.errors import ApiUsageExceededError, AuthenticationError, BudgetExhaustedError
from dotsync.errors import ConfigError, DotsyncError, LockedError, SyncFailedError
from dotsync.progress import Progress, no_progress
from dotsync.sync import runs
from dotsync.sync.context import SyncContext
from dotsync.sync.lock import integration_lock

if TYPE_CHECKING:
    from dotsync.dotmailer.client import DotmailerClient
    from dotsync.secret import SecretBox

log = logging.getLogger("dotsync.sync")

ClientFactory = Callable[[Integration], "DotmailerClient"]
"""A connected API client for a stored integration: built by the CLI's AppContext (which holds the secret key and
the transport), called here per integration and by the services that talk to Dotmailer outside a run."""


D = TypeVar("D")


@dataclass
class BodyResult(Generic[D]):
    """What a sync body reports back: counts for the run row, failures, why it stopped early, and ``details``
    (whatever typed results its caller wants to show)."""

    counts: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    stopped_early: str | None = None
    details: D | None = None


Body = Callable[[SyncContext, int], BodyResult[D]]
AfterRun = Callable[[int, int], None]


class SyncOutcome(StrEnum):
    """How one integration's run of a sync command ended, as the command reports it."""

    SUCCESS = "success"
    FAILED = "failed"
    STOPPED = "stopped_early"
    CONFIG_ERROR = "config_error"  # credentials refused, endpoint wrong: recorded as a failed run
    LOCKED = "locked"  # another run held the lock: recorded as a skipped run

    @property
    def run_outcome(self) -> RunOutcome:
        """The outcome the run history records for it."""
        if self is SyncOutcome.CONFIG_ERROR:
            return RunOutcome.FAILED
        if self is SyncOutcome.LOCKED:
            return RunOutcome.SKIPPED
        return RunOutcome(self.value)


@dataclass
class IntegrationOutcome(Generic[D]):
    """One integration's run of a sync command."""

    integration: str
    outcome: SyncOutcome
    run_id: int | None = None
    api_calls: int = 0
    result: BodyResult[D] | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def details(self) -> D | None:
        return self.result.details if self.result is not None else None

    def as_dict(self) -> dict[str, Any]:
        """The JSON of ``--json``: the run's counts as the run history keeps them."""
        return {
            "integration": self.integration,
            "outcome": self.outcome,
            "run_id": self.run_id,
            "api_calls": self.api_calls,
            "error": self.error,
            "notes": self.notes,
            "counts": self.result.counts if self.result else {},
        }


@dataclass
class SyncReport(Generic[D]):
    kind: RunKind
    outcomes: list[IntegrationOutcome[D]] = field(default_factory=list)

    def raise_for_outcome(self) -> None:
        """Turn the outcomes into the command's exit: SyncFailedError (1), ConfigError (3) or LockedError (75)."""
        failed = [o for o in self.outcomes if o.outcome == SyncOutcome.FAILED]
        config = [o for o in self.outcomes if o.outcome == SyncOutcome.CONFIG_ERROR]
        locked = [o for o in self.outcomes if o.outcome == SyncOutcome.LOCKED]
        if config:
            raise ConfigError("; ".join(f"{o.integration}: {o.error}" for o in config))
        if failed:
            # A locked integration's line (who holds it since when) must not be lost behind a failure.
            raise SyncFailedError(
                "; ".join([f"{o.integration}: {o.error}" for o in failed] + [o.error or "" for o in locked])
            )
        if locked:
            raise LockedError("; ".join(o.error or o.integration for o in locked))


def run_per_integration(
    *,
    engine: Engine,
    sessions: sessionmaker[Session],
    integration_ids: list[int],
    kind: RunKind,
    make_client: ClientFactory,
    body: Body[D],
    now: Callable[[], datetime],
    box: SecretBox | None = None,
    progress: Progress = no_progress,
    force: bool = False,
    safety_margin: int = 50,
    after_run: AfterRun | None = None,
) -> SyncReport[D]:
    """Run ``body`` for each integration under its lock; ``after_run(integration_id, run_id)`` is called once
    the run is recorded, still under the lock (alerts); its failure is logged, never the run's."""
    report: SyncReport[D] = SyncReport(kind=kind)
    for integration_id in integration_ids:
        with sessions() as session:
            integration = session.get(Integration, integration_id)
            if integration is None:
                continue
            session.expunge(integration)
        with logcontext.bind(integration=integration.name):
            report.outcomes.append(
                _run_one(
                    engine,
                    sessions,
                    integration,
                    kind,
                    make_client,
                    body,
                    now,
                    box,
                    progress,
                    force,
                    safety_margin,
                    after_run,
                )
            )
    return report


def _run_one(
    engine: Engine,
    sessions: sessionmaker[Session],
    integration: Integration,
    kind: RunKind,
    make_client: ClientFactory,
    body: Body[D],
    clock: Callable[[], datetime],
    box: SecretBox | None,
    progress: Progress,
    force: bool,
    safety_margin: int,
    after_run: AfterRun | None = None,
) -> IntegrationOutcome[D]:
    name = integration.name
    started = clock()
    outcome: IntegrationOutcome[D] = IntegrationOutcome(integration=name, outcome=SyncOutcome.SUCCESS)
    try:
        with integration_lock(engine, integration.id, name, kind):
            outcome.run_id = run_id = runs.start_run(sessions, kind, integration.id, started)
            logcontext.update(run_id=run_id)
            client = make_client(integration)
            client.safety_margin = safety_margin  # the client checks it before every call
            ctx = SyncContext(
                sessions=sessions,
                client=client,
                integration_id=integration.id,
                integration_name=name,
                now=started,
                box=box,
                clock=clock,
                progress=progress,
                force=force,
            )
            error: str | None = None
            result: BodyResult[D] | None = None
            refused: dict[str, Any] = {}
            try:
                with client:
                    client.connect()
                    _remember_endpoint(sessions, integration.id, client.endpoint)
                    result = body(ctx, run_id)
                if result.failures:
                    outcome.outcome = SyncOutcome.FAILED
                    error = "; ".join(result.failures)
                elif result.stopped_early:
                    outcome.outcome = SyncOutcome.STOPPED
                    error = result.stopped_early
            except ConfigError as exc:  # bad credentials, wrong endpoint
                outcome.outcome = SyncOutcome.CONFIG_ERROR
                error = str(exc)
                refused = {"credentials_refused": isinstance(exc, AuthenticationError)}
            except (BudgetExhaustedError, ApiUsageExceededError) as exc:  # a limit before any step ran
                outcome.outcome = SyncOutcome.STOPPED
                error = str(exc)
                ctx.note(str(exc))
            except DotsyncError as exc:
                outcome.outcome = SyncOutcome.FAILED
                error = str(exc)
            except Exception as exc:
                log.exception("%s for %r failed unexpectedly", kind, name)
                outcome.outcome = SyncOutcome.FAILED
                error = f"unexpected {type(exc).__name__}: {exc}"
            outcome.error = error
            outcome.result = result
            outcome.api_calls = int(client.calls_made)
            outcome.notes = list(ctx.notes)
            _remember_rate_limits(sessions, integration.id, client, clock())
            counts = dict(result.counts) if result else dict(refused)
            if ctx.notes:
                counts["notes"] = list(ctx.notes)  # the run history keeps what the summary said
            runs.finish_run(
                sessions,
                run_id,
                outcome=outcome.outcome.run_outcome,
                counts=counts,
                api_calls=outcome.api_calls,
                error=error,
                finished_at=clock(),
            )
            log.info(
                "%s of %r finished: %s",
                kind,
                name,
                outcome.outcome,
                extra={
                    "kind": kind,
                    "outcome": outcome.outcome,
                    "counts": result.counts if result else refused,
                    "api_calls": outcome.api_calls,
                },
            )
            if after_run is not None:
                # Still under the lock, so one integration's alert state is never updated by two runs at once.
                try:
                    after_run(integration.id, run_id)
                except Exception as exc:  # alerts must never fail a sync
                    log.warning("after-run hook for %r failed: %s", name, exc)
    except LockedError as exc:
        outcome.outcome = SyncOutcome.LOCKED
        outcome.error = str(exc)
        log.info("%s", exc)  # the CLI prints it once, as the run's error line
        run_id = runs.start_run(sessions, kind, integration.id, started)
        runs.finish_run(
            sessions,
            run_id,
            outcome=outcome.outcome.run_outcome,
            counts={},
            api_calls=0,
            error=str(exc),
            finished_at=clock(),
        )
    return outcome


def _remember_rate_limits(
    sessions: sessionmaker[Session], integration_id: int, client: DotmailerClient, now: datetime
) -> None:
    """Store the rate-limit scheme seen, the last limit hit and until when no call may be made (``status``)."""
    limits = getattr(client, "rate_limits", None)
    if limits is None:
        return

    def stamp(epoch: float | None) -> datetime | None:
        return datetime.fromtimestamp(epoch, UTC) if epoch is not None else None

    with sessions.begin() as session:
        integration = session.get(Integration, integration_id)
        if integration is None:
            return
        # account-info's hourly figure alone does not overrule a per-minute scheme seen in an earlier run.
        if limits.scheme is not None and (limits.scheme_certain or integration.rate_limit_scheme is None):
            integration.rate_limit_scheme = limits.scheme
        if limits.last_hit is not None:
            integration.rate_limit_hit = limits.last_hit.describe()
            integration.rate_limit_hit_at = stamp(limits.last_hit.at)
        until = stamp(limits.blocked_until)
        integration.rate_limited_until = until if until is not None and until > now else None


def _remember_endpoint(sessions: sessionmaker[Session], integration_id: int, endpoint: str | None) -> None:
    if not endpoint:
        return
    with sessions.begin() as session:
        integration = session.get(Integration, integration_id)
        if integration is not None and integration.api_endpoint != endpoint:
            integration.api_endpoint = endpoint
