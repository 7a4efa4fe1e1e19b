"""Import (Dotmailer -> dotsync): the connectors of SPEC §4 and the runner that runs them in order.

Each connector is a module of this package with a function ``run(ctx, session) -> counts``; the runner gives
each its own transaction and run-history step, so a failing connector is recorded, rolls back alone (its
watermark does not move), and the others still run.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from typing import Any

from dotsync.db.models import StepOutcome
from dotsync.dotmailer.errors import ApiUsageExceededError, AuthenticationError, BudgetExhaustedError
from dotsync.errors import DotsyncError
from dotsync.sync import runs
from dotsync.sync.context import StepFunction, SyncContext

log = logging.getLogger("dotsync.sync.import")

CONNECTORS: tuple[str, ...] = (
    "address_book",
    "datafield",
    "campaign",
    "contact",
    "unsubscribed_contact",
    "activity_contact",
    "campaign_summary",
    "campaign_click",
    "campaign_open",
)


def connector_function(name: str) -> StepFunction:
    module = importlib.import_module(f"dotsync.sync.importer.{name}")
    function: StepFunction = module.run
    return function


@dataclass
class StepResult:
    name: str
    outcome: StepOutcome
    counts: dict[str, int] = field(default_factory=dict)
    api_calls: int = 0
    error: str | None = None


@dataclass
class ImportResult:
    steps: list[StepResult] = field(default_factory=list)
    stopped_early: str | None = None

    @property
    def failed(self) -> list[StepResult]:
        return [s for s in self.steps if s.outcome == StepOutcome.FAILED]

    def counts(self) -> dict[str, Any]:
        return {s.name: {"outcome": s.outcome, **s.counts} for s in self.steps}


def run_import(ctx: SyncContext, run_id: int, only: list[str] | None = None) -> ImportResult:
    """Run the connectors in SPEC order (or just ``only``), each in its own transaction."""
    result = ImportResult()
    for name in CONNECTORS:
        if only and name not in only:
            continue
        started = ctx.clock()
        calls_before = ctx.calls_made
        skipped_before = len(ctx.client.skipped_rows)
        step = StepResult(name=name, outcome=StepOutcome.SUCCESS)
        try:
            if result.stopped_early is not None:
                step.outcome = StepOutcome.SKIPPED
                step.error = result.stopped_early
            else:
                with ctx.sessions.begin() as session:
                    step.counts = connector_function(name)(ctx, session)
        except (BudgetExhaustedError, ApiUsageExceededError) as exc:
            step.outcome = StepOutcome.SKIPPED
            step.error = str(exc)
            result.stopped_early = str(exc)
            ctx.note(str(exc))
        except AuthenticationError:
            raise
        except DotsyncError as exc:
            step.outcome = StepOutcome.FAILED
            step.error = str(exc)
            log.error("connector %s failed: %s", name, exc)
        except Exception as exc:  # a bug in one connector must not stop the others
            step.outcome = StepOutcome.FAILED
            step.error = f"unexpected {type(exc).__name__}: {exc}"
            log.exception("connector %s failed unexpectedly", name)
        step.api_calls = ctx.calls_made - calls_before
        _report_skipped_rows(ctx, step, ctx.client.skipped_rows[skipped_before:])
        runs.record_step(
            ctx.sessions,
            run_id,
            name,
            started_at=started,
            outcome=step.outcome,
            counts=step.counts,
            api_calls=step.api_calls,
            error=step.error,
            finished_at=ctx.clock(),
        )
        if step.outcome == StepOutcome.SUCCESS:
            log.info("connector %s: %s (%d API calls)", name, _fmt(step.counts), step.api_calls)
        result.steps.append(step)
    return result


# Rows with unreadable values noted one by one in the run history per step; beyond that, a count.
NOTED_ROWS = 20


def _report_skipped_rows(ctx: SyncContext, step: StepResult, skipped: list[Any]) -> None:
    """Rows of a feed left out because a value could not be parsed: counted on the step, each one noted
    (feed, row, value) in the run history; the rest of their pages was kept."""
    if not skipped:
        return
    if step.outcome == StepOutcome.SUCCESS:
        kept = sum(1 for row in skipped if row.kept)
        extra = {"skipped_rows": len(skipped) - kept, "values_ignored": kept}
        step.counts = {**step.counts, **{k: v for k, v in extra.items() if v}}
    for row in skipped[:NOTED_ROWS]:
        ctx.note(f"{step.name}: {row.describe()}")
    if len(skipped) > NOTED_ROWS:
        ctx.note(f"{step.name}: {len(skipped) - NOTED_ROWS} more rows with unreadable values (see the log)")


def _fmt(counts: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in counts.items()) or "nothing to do"
