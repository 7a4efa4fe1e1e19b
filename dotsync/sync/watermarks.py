"""Connector watermarks: the start time of a connector's last successful run, per integration and scope.

A watermark is written in the same transaction as the connector's data, so a failed run never moves it; the
value stored is the run's *start* time, and readers subtract a small overlap, so nothing that changed while
a run was going on is skipped.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from dotsync.db.models import Watermark

OVERLAP = timedelta(minutes=5)


def read_watermark(session: Session, integration_id: int, connector: str, scope: str = "") -> datetime | None:
    """The watermark minus the overlap, or None when the connector never succeeded."""
    value = session.scalar(
        select(Watermark.value).where(
            Watermark.integration_id == integration_id,
            Watermark.connector == connector,
            Watermark.scope == scope,
        )
    )
    return None if value is None else value - OVERLAP


def write_watermark(
    session: Session, integration_id: int, connector: str, value: datetime, scope: str = ""
) -> None:
    row = session.scalar(
        select(Watermark).where(
            Watermark.integration_id == integration_id,
            Watermark.connector == connector,
            Watermark.scope == scope,
        )
    )
    if row is None:
        session.add(Watermark(integration_id=integration_id, connector=connector, scope=scope, value=value))
    else:
        row.value = value
