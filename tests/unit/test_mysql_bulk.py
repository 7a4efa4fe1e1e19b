"""The MySQL side of the bulk helpers, compiled without a server: ON CONFLICT calls rendered as ON DUPLICATE
KEY UPDATE, and single-row INSERTs split for multi-row sending; DDL rules for MySQL only."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.schema import CreateTable

from dotsync.db import models
from dotsync.db.bulk import MySQLInsert, _split_values
from dotsync.db.types import metadata

MARIADB = mysql.dialect(is_mariadb=True)
contacts = models.Contact.__table__


def test_on_conflict_calls_become_on_duplicate_key_update() -> None:
    stmt = MySQLInsert(contacts).values(integration_id=1, email=bindparam("email"))
    upsert = stmt.on_conflict_do_update(
        index_elements=["integration_id", "email"], set_={"status": stmt.excluded.status}
    )
    assert str(upsert.compile(dialect=MARIADB)).endswith("ON DUPLICATE KEY UPDATE status = VALUES(status)")
    ignore = stmt.on_conflict_do_nothing(index_elements=["integration_id", "email"])
    # A no-op update of the key, never INSERT IGNORE (which would turn bad data into warnings).
    sql = str(ignore.compile(dialect=MARIADB))
    assert "IGNORE" not in sql
    assert sql.endswith("ON DUPLICATE KEY UPDATE integration_id = contact.integration_id")
    with pytest.raises(NotImplementedError, match="no WHERE"):
        stmt.on_conflict_do_update(index_elements=["email"], set_={"status": "x"}, where=contacts.c.id > 1)


def test_split_values_keeps_quotes_and_subqueries_whole() -> None:
    sql = (
        "INSERT INTO t (a, b, c) VALUES (%s, 'x)''y', (SELECT id FROM c WHERE c.e = %s)) "
        "ON DUPLICATE KEY UPDATE a = VALUES(a)"
    )
    assert _split_values(sql) == (
        "INSERT INTO t (a, b, c) VALUES ",
        "(%s, 'x)''y', (SELECT id FROM c WHERE c.e = %s))",
        " ON DUPLICATE KEY UPDATE a = VALUES(a)",
    )
    assert _split_values("UPDATE t SET a = %s") is None
    assert _split_values("INSERT INTO t (a) SELECT a FROM u") is None


def test_mysql_ddl_rules_leave_sqlite_and_postgresql_alone() -> None:
    book = metadata.tables["address_book"]
    on_mariadb = str(CreateTable(book).compile(dialect=MARIADB))
    assert on_mariadb.rstrip().endswith("DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin")
    assert "created_at DATETIME(6) NOT NULL" in on_mariadb
    assert "guard_remove_percent DOUBLE NOT NULL" in on_mariadb
    assert "sync_error LONGTEXT" in on_mariadb
    for dialect in (postgresql.dialect(), sqlite.dialect()):
        ddl = str(CreateTable(book).compile(dialect=dialect))
        assert "CHARSET" not in ddl
        assert "DOUBLE" not in ddl
        assert "LONGTEXT" not in ddl
        assert "guard_remove_percent FLOAT NOT NULL" in ddl
