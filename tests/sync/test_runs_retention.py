"""Run history retention: old runs, their steps and settled uploads are pruned; recent ones are kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from dotsync.db.models import ContactExport, Integration, Run, RunStep
from dotsync.sync import runs


def test_prune_history_keeps_recent_and_running(sessions) -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    with sessions.begin() as s:
        integration = Integration(name="i", username="u", password_encrypted="x", api_url="https://x")
        s.add(integration)
        s.flush()
        old = Run(
            kind="import",
            integration_id=integration.id,
            started_at=now - timedelta(days=100),
            outcome="success",
        )
        killed = Run(
            kind="export",
            integration_id=integration.id,
            started_at=now - timedelta(days=100),
            outcome="running",
        )
        recent = Run(
            kind="import",
            integration_id=integration.id,
            started_at=now - timedelta(days=1),
            outcome="success",
        )
        s.add_all([old, killed, recent])
        s.flush()
        s.add(RunStep(run_id=old.id, name="address_book", started_at=old.started_at, outcome="success"))
        s.add(
            ContactExport(
                import_id="a",
                integration_id=integration.id,
                faults_processed=True,
                created_at=now - timedelta(days=100),
                updated_at=now - timedelta(days=100),
            )
        )
        s.add(
            ContactExport(
                import_id="b",
                integration_id=integration.id,
                faults_processed=False,
                created_at=now - timedelta(days=100),
                updated_at=now - timedelta(days=100),
            )
        )
    assert runs.prune_history(sessions, now, 90) == 3
    with sessions() as s:
        assert {r.outcome for r in s.scalars(select(Run))} == {"running", "success"}
        assert s.scalar(select(func.count()).select_from(Run)) == 2
        assert s.scalar(select(func.count()).select_from(RunStep)) == 0
        assert [e.import_id for e in s.scalars(select(ContactExport))] == ["b"]
