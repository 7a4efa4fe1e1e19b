"""Step tests of the datafield connector (Dotmailer -> dotsync)."""

from __future__ import annotations

from datetime import timedelta

import respx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dotsync.db.models import DataField, Integration
from dotsync.dotmailer.client import DotmailerClient
from tests.support import START
from tests.sync.helpers import make_ctx, run_connector, snapshot

FIELDS = [
    {"name": "FIRSTNAME", "type": "String", "visibility": "Private", "defaultValue": None},
    {"name": "VIP", "type": "Boolean", "visibility": "Public", "defaultValue": False},
    {"name": "SCORE", "type": "Numeric", "visibility": "Private", "defaultValue": {"value": 10}},
    {"name": "CITY", "type": "String", "visibility": "Private", "defaultValue": "null"},
]


def _fields(sessions: sessionmaker[Session]) -> dict[str, DataField]:
    with sessions() as session:
        return {f.name: f for f in session.scalars(select(DataField))}


def test_fields_are_upserted_and_read_at_most_daily(
    api: respx.MockRouter, client: DotmailerClient, sessions: sessionmaker[Session], integration_id: int
) -> None:
    route = api.get("/data-fields").respond(json=FIELDS)
    assert run_connector(make_ctx(sessions, client, integration_id, START), "datafield") == {
        "seen": 4,
        "deleted": 0,
    }
    fields = _fields(sessions)
    assert (fields["VIP"].type, fields["VIP"].visibility, fields["VIP"].default_value) == (
        "Boolean",
        "Public",
        "No",
    )
    assert fields["SCORE"].default_value == "10"
    assert fields["CITY"].default_value is None
    assert fields["FIRSTNAME"].default_value is None
    with sessions() as session:
        integration = session.get(Integration, integration_id)
        assert integration is not None
        assert integration.datafields_synced_at == START

    # Within a day: no call, nothing changes.
    assert run_connector(
        make_ctx(sessions, client, integration_id, START + timedelta(hours=23)), "datafield"
    ) == {"skipped": 1}
    assert route.call_count == 1
    # Forced: read again.
    run_connector(
        make_ctx(sessions, client, integration_id, START + timedelta(hours=23), force=True), "datafield"
    )
    assert route.call_count == 2
    # A day later: read again.
    run_connector(make_ctx(sessions, client, integration_id, START + timedelta(days=2)), "datafield")
    assert route.call_count == 3


def test_fields_gone_from_dotmailer_are_deleted_but_never_all(
    api: respx.MockRouter, client: DotmailerClient, sessions: sessionmaker[Session], integration_id: int
) -> None:
    route = api.get("/data-fields")
    route.respond(json=FIELDS)
    run_connector(make_ctx(sessions, client, integration_id, START, force=True), "datafield")
    route.respond(json=FIELDS[:2])
    counts = run_connector(make_ctx(sessions, client, integration_id, START, force=True), "datafield")
    assert counts == {"seen": 2, "deleted": 2}
    assert sorted(_fields(sessions)) == ["FIRSTNAME", "VIP"]
    route.respond(json=[])
    ctx = make_ctx(sessions, client, integration_id, START, force=True)
    run_connector(ctx, "datafield")
    assert sorted(_fields(sessions)) == ["FIRSTNAME", "VIP"]
    assert ctx.notes


def test_idempotent(
    api: respx.MockRouter, client: DotmailerClient, sessions: sessionmaker[Session], integration_id: int
) -> None:
    api.get("/data-fields").respond(json=FIELDS)
    ctx = make_ctx(sessions, client, integration_id, START, force=True)
    run_connector(ctx, "datafield")
    first = snapshot(sessions)
    run_connector(ctx, "datafield")
    assert snapshot(sessions) == first
