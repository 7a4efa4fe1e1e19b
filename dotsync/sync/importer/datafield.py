"""Import (Dotmailer -> dotsync): the account's data fields (``GET data-fields``, one call, not paged).

Read at most once a day (``Integration.datafields_synced_at``) unless the run is forced. Fields are upserted
by name; local fields Dotmailer no longer returns are deleted, but never all of them on an empty answer.
Field mappings are not touched: a mapping to a field that disappeared is reported, for the user to fix.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from dotsync.db.bulk import upsert
from dotsync.db.models import AddressBook, DataField, FieldMapping, Integration
from dotsync.dotmailer.models import ApiDataField
from dotsync.sync.context import SyncContext

INTERVAL = timedelta(days=1)


def default_text(field: ApiDataField) -> str | None:
    """A default value as text; Yes/No for Boolean fields (as Dotmailer's UI shows them)."""
    value = field.default_value
    if value is None or value == "":
        return None
    if (field.type or "").lower() == "boolean":
        if isinstance(value, str):
            return "No" if value.strip().lower() in ("false", "no", "0") else "Yes"
        return "Yes" if value else "No"
    return str(value)


def save(ctx: SyncContext, session: Session, fields: list[ApiDataField]) -> dict[str, int]:
    counts = {"seen": len(fields), "deleted": 0}
    if not fields:
        ctx.note("Dotmailer returned no data fields at all; keeping the local ones")
        return counts
    rows: list[dict[str, Any]] = [
        {
            "integration_id": ctx.integration_id,
            "name": field.name,
            "type": field.type or "String",
            "visibility": field.visibility,
            "default_value": default_text(field),
            "updated_at": ctx.now,
        }
        for field in {f.name: f for f in fields}.values()
    ]
    upsert(session.connection(), DataField.__table__, rows, key=["integration_id", "name"])
    names = {row["name"] for row in rows}
    gone = [
        name
        for name in session.scalars(
            select(DataField.name).where(DataField.integration_id == ctx.integration_id)
        )
        if name not in names
    ]
    if gone:
        session.execute(
            delete(DataField).where(DataField.integration_id == ctx.integration_id, DataField.name.in_(gone))
        )
        counts["deleted"] = len(gone)
        for book_name, field_name in session.execute(
            select(AddressBook.name, FieldMapping.data_field_name)
            .join(FieldMapping, FieldMapping.address_book_id == AddressBook.id)
            .where(AddressBook.integration_id == ctx.integration_id, FieldMapping.data_field_name.in_(gone))
        ):
            ctx.note(
                f"data field {field_name} was deleted in Dotmailer but is still mapped for book {book_name!r}"
            )
    return counts


def run(ctx: SyncContext, session: Session) -> dict[str, int]:
    integration = session.get(Integration, ctx.integration_id)
    assert integration is not None
    last = integration.datafields_synced_at
    if not ctx.force and last is not None and ctx.now - last < INTERVAL:
        return {"skipped": 1}
    counts = save(ctx, session, ctx.client.list_data_fields())
    integration.datafields_synced_at = ctx.now
    return counts
