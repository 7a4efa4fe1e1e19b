"""Run history: one ``run`` row per command run, one ``run_step`` row per connector or export step.

Each write here commits on its own, so the history survives a failing step (whose own transaction rolls
back) and shows a run that was killed as still ``running``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from dotsync.db.models import Run, RunKind, RunOutcome, RunStep, StepOutcome
from dotsync.db.types import utcnow


def start_run(
    sessions: sessionmaker[Session], kind: RunKind, integration_id: int | None, now: datetime
) -> int:
    with sessions.begin() as session:
        run = Run(
            kind=kind,
            integration_id=integration_id,
            started_at=now,
            outcome=RunOutcome.RUNNING,
            host=socket.gethostname(),
            pid=os.getpid(),
        )
        session.add(run)
        session.flush()
        return run.id


def record_step(
    sessions: sessionmaker[Session],
    run_id: int,
    name: str,
    *,
    started_at: datetime,
    outcome: StepOutcome,
    counts: dict[str, Any] | None = None,
    api_calls: int = 0,
    error: str | None = None,
    scope: str | None = None,
    finished_at: datetime | None = None,
) -> None:
    with sessions.begin() as session:
        session.add(
            RunStep(
                run_id=run_id,
                name=name,
                scope=scope,
                started_at=started_at,
                finished_at=finished_at or utcnow(),
                outcome=outcome,
                counts=counts or {},
                api_calls=api_calls,
                error=error,
            )
        )


def finish_run(
    sessions: sessionmaker[Session],
    run_id: int,
    *,
    outcome: RunOutcome,
    counts: dict[str, Any],
    api_calls: int,
    error: str | None = None,
    finished_at: datetime | None = None,
) -> None:
    with sessions.begin() as session:
        run = session.get(Run, run_id)
        if run is None:
            return
        run.finished_at = finished_at or utcnow()
        run.outcome = outcome
        run.counts = counts
        run.api_calls = api_calls
        run.error = error


def prune_history(sessions: sessionmaker[Session], now: datetime, days: int) -> int:
    """Delete runs (with their steps) and settled uploads older than ``days``; returns rows deleted."""
    from datetime import timedelta

    from sqlalchemy import delete

    from dotsync.db.models import ContactExport

    cutoff = now - timedelta(days=days)
    with sessions.begin() as session:
        old_runs = select(Run.id).where(Run.started_at < cutoff, Run.outcome != RunOutcome.RUNNING)
        steps = session.execute(delete(RunStep).where(RunStep.run_id.in_(old_runs)))
        deleted_runs = session.execute(
            delete(Run).where(Run.started_at < cutoff, Run.outcome != RunOutcome.RUNNING)
        )
        exports = session.execute(
            delete(ContactExport).where(ContactExport.faults_processed, ContactExport.updated_at < cutoff)
        )
        return sum(int(getattr(r, "rowcount", 0) or 0) for r in (steps, deleted_runs, exports))


def killed_run_ids(session: Session, engine: Engine, candidates: Iterable[Run]) -> set[int]:
    """Which of these runs died: still ``running`` in the history, but their process is gone.

    A run is killed when its integration's lock is free (the lock dies with its holder), or when a later run
    of the same integration got the lock (it started after this one and was not skipped). The row itself is
    left as it is: "killed" is what the history shows, not a write made by whoever looks.
    """
    running = [r for r in candidates if r.outcome == RunOutcome.RUNNING and r.integration_id is not None]
    if not running:
        return set()
    from dotsync.sync.lock import is_lock_free

    killed: set[int] = set()
    free: dict[int, bool] = {}
    for run in running:
        assert run.integration_id is not None
        later = session.scalar(
            select(Run.id)
            .where(
                Run.integration_id == run.integration_id,
                Run.id > run.id,
                Run.outcome != RunOutcome.SKIPPED,
            )
            .limit(1)
        )
        if later is not None:
            killed.add(run.id)
            continue
        if run.integration_id not in free:
            free[run.integration_id] = is_lock_free(engine, run.integration_id)
        if free[run.integration_id]:
            killed.add(run.id)
    return killed
