"""Data fields as imported from Dotmailer (the ``datafield`` connector keeps them current)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dotsync.db.models import DataField, Integration
from dotsync.services.integrations import get_integration


@dataclass(frozen=True)
class DataFieldView:
    """A data field as ``datafields list`` shows it."""

    integration: str
    name: str
    type: str
    visibility: str | None
    default_value: str | None
    updated_at: datetime


def list_datafields(session: Session, integration: str | None = None) -> list[DataFieldView]:
    """Data fields of one integration (or of all), by name."""
    query = (
        select(DataField, Integration.name)
        .join(Integration, Integration.id == DataField.integration_id)
        .order_by(Integration.name, DataField.name)
    )
    if integration is not None:
        query = query.where(DataField.integration_id == get_integration(session, integration).id)
    return [
        DataFieldView(
            integration=integration_name,
            name=field.name,
            type=field.type,
            visibility=field.visibility,
            default_value=field.default_value,
            updated_at=field.updated_at,
        )
        for field, integration_name in session.execute(query)
    ]
