"""The stored vocabularies are StrEnums: the database keeps the same plain strings, SQL built with a member renders
exactly what the plain value renders, and each second vocabulary (what a command reports) says once how the run
history records it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Engine, Table, insert, select
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from dotsync.db.bulk import constant
from dotsync.db.models import (
    ImportStatus,
    ListKind,
    ListMember,
    MarketingList,
    MemberState,
    Operation,
    RunKind,
    RunOutcome,
    StepOutcome,
)
from dotsync.services.lists import MemberOutcome
from dotsync.sync.export import ExportStatus
from dotsync.sync.orchestrator import SyncOutcome

VOCABULARIES = (MemberState, ListKind, Operation, ImportStatus, RunKind, RunOutcome, StepOutcome)
DIALECTS = (sqlite.dialect(), postgresql.psycopg.dialect(), mysql.pymysql.dialect())


def _every_member() -> list[Any]:
    return [member for vocabulary in VOCABULARIES for member in vocabulary]


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
@pytest.mark.parametrize("member", _every_member(), ids=repr)
def test_a_member_renders_the_sql_of_its_plain_value(dialect: Any, member: Any) -> None:
    column = ListMember.__table__.c.state
    conn = SimpleNamespace(dialect=dialect)  # constant() reads only the dialect
    assert str(constant(conn, column, member)) == str(constant(conn, column, member.value))  # type: ignore[arg-type]
    assert str(constant(conn, column, member)) == "'" + member.value + "'"

    def compiled(value: str) -> str:
        return str(
            select(ListMember.id)
            .where(ListMember.state == value)
            .compile(dialect=dialect, compile_kwargs={"literal_binds": True})
        )

    assert compiled(member) == compiled(member.value)


def test_members_are_stored_as_their_plain_value_and_found_by_member(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        marketing_list = MarketingList(
            name="vocab", kind=ListKind.STATIC, email_column="email", field_columns=[]
        )
        session.add(marketing_list)
        session.flush()
        list_id = marketing_list.id
        session.add(ListMember(list_id=list_id, email="orm@example.com", state=MemberState.REMOVED))
    table: Table = ListMember.__table__  # type: ignore[assignment]
    with engine.begin() as conn:
        # An executemany hands a member to the driver as it is (a String column has no bind processing).
        conn.execute(
            insert(table),
            [
                {"list_id": list_id, "email": e, "state": MemberState.UNSUBSCRIBED}
                for e in ("bulk@example.com", "b2@x.org")
            ],
        )
        conn.execute(
            insert(table).values(
                list_id=list_id,
                email="constant@example.com",
                state=constant(conn, table.c.state, MemberState.SUBSCRIBED),
            )
        )
        rows = dict(
            conn.execute(select(table.c.email, table.c.state).where(table.c.list_id == list_id)).all()
        )
        found = set(
            conn.execute(
                select(table.c.email).where(
                    table.c.list_id == list_id, table.c.state == MemberState.UNSUBSCRIBED
                )
            ).scalars()
        )
    assert rows == {
        "orm@example.com": "removed",
        "bulk@example.com": "unsubscribed",
        "b2@x.org": "unsubscribed",
        "constant@example.com": "subscribed",
    }
    # What the database gives back is the plain string.
    assert all(type(state) is str for state in rows.values())
    assert found == {"bulk@example.com", "b2@x.org"}
    assert rows["orm@example.com"] == MemberState.REMOVED  # and it compares equal to its member


def test_every_export_status_is_recorded_as_a_step_outcome() -> None:
    recorded = {status: status.step_outcome for status in ExportStatus}
    assert recorded == {
        ExportStatus.OK: StepOutcome.SUCCESS,
        ExportStatus.DRY_RUN: StepOutcome.SUCCESS,
        ExportStatus.WAITING: StepOutcome.SUCCESS,
        ExportStatus.SKIPPED: StepOutcome.SKIPPED,
        ExportStatus.STOPPED: StepOutcome.STOPPED,
        ExportStatus.FAILED: StepOutcome.FAILED,
        ExportStatus.HELD: StepOutcome.HELD,
    }
    assert {status for status in ExportStatus if status.failed} == {ExportStatus.FAILED, ExportStatus.HELD}


def test_every_sync_outcome_is_recorded_as_a_run_outcome() -> None:
    assert {outcome: outcome.run_outcome for outcome in SyncOutcome} == {
        SyncOutcome.SUCCESS: RunOutcome.SUCCESS,
        SyncOutcome.FAILED: RunOutcome.FAILED,
        SyncOutcome.STOPPED: RunOutcome.STOPPED,
        SyncOutcome.CONFIG_ERROR: RunOutcome.FAILED,
        SyncOutcome.LOCKED: RunOutcome.SKIPPED,
    }


def test_the_values_are_the_strings_the_database_and_the_json_already_hold() -> None:
    # A changed value would need a data migration (stored rows) and would change --json output.
    assert [m.value for m in MemberState] == ["subscribed", "unsubscribed", "removed"]
    assert [m.value for m in ListKind] == ["static", "query"]
    assert [m.value for m in Operation] == ["new", "add", "update"]
    assert [m.value for m in ImportStatus] == ["NotFinished", "Finished", "RejectedByWatchdog", "Unknown"]
    assert [m.value for m in RunKind] == ["import", "export", "export-dry-run", "sync"]
    assert [m.value for m in RunOutcome] == [
        "running",
        "success",
        "failed",
        "skipped",
        "stopped_early",
        "killed",
    ]
    assert [m.value for m in ExportStatus] == [
        "ok",
        "dry_run",
        "waiting",
        "skipped",
        "stopped_early",
        "failed",
        "held",
    ]
    assert [m.value for m in MemberOutcome] == [
        "added",
        "updated",
        "unchanged",
        "resubscribed",
        "kept_unsubscribed",
        "removed",
        "unsubscribed",
        "already",
    ]
