"""Helpers for the step tests: SyncContexts over respx or the sandbox, running one connector in its own
transaction, and a snapshot of the import's tables for idempotence checks. (The clock, the fake sleep, the
integration row and a connected list are shared by every suite: ``tests/support``.)"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dotsync.db.models import (
    Activity,
    AddressBook,
    AddressBookContact,
    Campaign,
    Contact,
    DataField,
    ListMember,
    MarketingEvent,
    MemberStatistics,
    Watermark,
    campaign_address_book,
    campaign_summary,
)
from dotsync.dotmailer.client import DotmailerClient
from dotsync.sync.context import SyncContext
from dotsync.sync.importer import connector_function


def make_ctx(
    sessions: sessionmaker[Session],
    client: DotmailerClient,
    integration_id: int,
    now: datetime,
    *,
    force: bool = False,
    safety_margin: int = 50,
) -> SyncContext:
    """A SyncContext as the orchestrator builds it (which also gives the client the run's safety margin)."""
    client.safety_margin = safety_margin
    return SyncContext(
        sessions=sessions,
        client=client,
        integration_id=integration_id,
        integration_name="main",
        now=now,
        force=force,
    )


def run_connector(ctx: SyncContext, name: str) -> dict[str, int]:
    """Run one connector as the runner does: in its own transaction (rolled back if it raises)."""
    with ctx.sessions.begin() as session:
        return connector_function(name)(ctx, session)


_IGNORED = {"id", "created_at", "updated_at"}


def snapshot(sessions: sessionmaker[Session]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables the import writes, without surrogate ids and timestamps, sorted."""
    tables = [
        AddressBook.__table__,
        Contact.__table__,
        AddressBookContact.__table__,
        Campaign.__table__,
        campaign_address_book,
        campaign_summary,
        Activity.__table__,
        MarketingEvent.__table__,
        MemberStatistics.__table__,
        DataField.__table__,
        ListMember.__table__,
        Watermark.__table__,
    ]
    result: dict[str, list[tuple[Any, ...]]] = {}
    with sessions() as session:
        for table in tables:
            columns = [c for c in table.columns if c.name not in _IGNORED]  # type: ignore[attr-defined]
            rows = session.execute(select(*columns)).all()
            result[table.name] = sorted((tuple(row) for row in rows), key=repr)  # type: ignore[attr-defined]
    return result
