"""Helpers for list tests: writing CSV files, reading members back, and a clock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dotsync.db.models import ListMember, MarketingList

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def write_csv(tmp_path: Path):
    def write(data: str | bytes, name: str = "members.csv") -> Path:
        path = tmp_path / name
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        return path

    return write


def members_of(sessions: sessionmaker[Session], name: str) -> dict[str, dict[str, Any]]:
    """email -> {state, reason, fields, hash, current} for one list, read straight from the database."""
    with sessions() as session:
        list_id = session.scalar(select(MarketingList.id).where(MarketingList.name == name))
        assert list_id is not None, f"no list {name}"
        return {
            m.email: {
                "state": m.state,
                "reason": m.state_reason,
                "fields": m.fields,
                "hash": m.fields_hash,
                "current": m.is_current,
            }
            for m in session.scalars(select(ListMember).where(ListMember.list_id == list_id))
        }


def list_names(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(MarketingList.name).order_by(MarketingList.name)))
