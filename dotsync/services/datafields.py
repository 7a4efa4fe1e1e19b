"""Data fields as imported from Dotmailer (the ``datafield`` connector keeps them current)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dotsync.db.models import DataField, Integration
from dotsync.services.integrations import get_integration


def list_datafields(session: Session, integration: str | None = None) -> list[dict[str, Any]]:
    """Data fields of one integration (or of all), by name."""
    query = (
        select(DataField, Integration.name)
        .join(Integration, Integration.id == DataField.integration_id)
        .order_by(Integration.name, DataField.name)
    )
    if integration is not None:
        query = query.where(DataField.integration_id == get_integration(session, integration).id)
    return [
        {
            "integration": integration_name,
            "name": field.name,
            "type": field.type,
            "visibility": field.visibility,
            "default_value": field.default_value,
            "updated_at": field.updated_at,
        }
        for field, integration_name in session.execute(query)
    ]
