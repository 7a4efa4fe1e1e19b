"""Change values (dotsync.lists.changes): a writer's value is taken under the list's row lock, so a plan can
never pass a value whose member is not committed yet, and a writer after the plan gets a larger value."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import OperationalError

from dotsync.db.models import ListMember, MarketingList
from dotsync.lists.changes import next_change, pending_change


def _list(engine: Engine) -> int:
    with engine.begin() as conn:
        return int(
            conn.execute(
                insert(MarketingList)
                .values(name="customers", kind="static", email_column="email", field_columns=[])
                .returning(MarketingList.id)
            ).scalar_one()
        )


def _no_wait(conn) -> None:  # type: ignore[no-untyped-def]
    """Make this connection fail at once instead of waiting for a lock (no test waits on a clock)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA busy_timeout = 0")
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET lock_timeout = '1ms'")
    elif conn.dialect.name in ("mysql", "mariadb"):  # MariaDB: 0 fails at once; MySQL's least is 1 s
        conn.exec_driver_sql(f"SET SESSION innodb_lock_wait_timeout = {0 if conn.dialect.is_mariadb else 1}")


def test_a_plan_cannot_take_a_value_while_a_writer_holds_a_smaller_one(engine: Engine) -> None:
    list_id = _list(engine)
    with engine.connect() as writer:
        writer.begin()
        seq = next_change(writer, list_id)
        writer.execute(
            insert(ListMember).values(list_id=list_id, email="late@example.com", fields={}, change_seq=seq)
        )
        with engine.connect() as planner:
            _no_wait(planner)  # the transaction begins here
            with pytest.raises(OperationalError, match=r"(?i)lock"):
                next_change(planner, list_id)
            planner.rollback()
        writer.commit()
    # Once the writer committed, the plan's value is above the writer's and the member is visible to it.
    with engine.begin() as planner:
        high = next_change(planner, list_id)
        assert high > seq
        changed = planner.execute(
            select(ListMember.email).where(ListMember.list_id == list_id, ListMember.change_seq > seq - 1)
        ).scalars()
        assert list(changed) == ["late@example.com"]
    # A later writer gets a value above the plan's: the next plan (since=high) finds its member.
    with engine.begin() as writer:
        assert next_change(writer, list_id) > high


def test_pending_change_is_above_every_value_taken(engine: Engine) -> None:
    list_id = _list(engine)
    with engine.begin() as conn:
        taken = next_change(conn, list_id)
        assert pending_change(conn, list_id) == taken + 1
        assert pending_change(conn, None) == 0
