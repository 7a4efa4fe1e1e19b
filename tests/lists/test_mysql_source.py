"""Query lists over MySQL/MariaDB (issue 17): utf8mb4 end to end, a server-side cursor, a read-only
transaction, and bad input (missing email column, NULL or binary emails, a connection lost mid-read, a query
that is not a SELECT) that changes nothing. Needs DOTSYNC_TEST_MYSQL_URL (the source is a database of its
own on that server); the missing-driver tests run everywhere.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pymysql.cursors
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError

from dotsync.cli.context import AppContext
from dotsync.db.engine import make_engine
from dotsync.db.lookups import get_list
from dotsync.errors import ConfigError
from dotsync.lists.source import (
    QueryReader,
    SourceDriverError,
    SourceError,
    normalise_source_url,
    refresh_query_list,
    source_engine,
)
from dotsync.services import lists as svc
from tests.conftest import BACKEND, MYSQL_ADMIN_URL, create_mysql_database, drop_mysql_database
from tests.conftest import _mysql_url as mysql_url
from tests.lists.conftest import NOW, list_names, members_of

needs_mysql = pytest.mark.skipif(not MYSQL_ADMIN_URL, reason="DOTSYNC_TEST_MYSQL_URL is not set")

# 100,000 rows made on the server from a ten-row table joined with itself (no big table to fill).
_DIGITS = "(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 " + (
    "UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)"
)
_MANY = (
    "SELECT CONCAT('p', n, '@example.com') AS email, n FROM (SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d "
    f"+ 10000 * f.d AS n FROM {_DIGITS} a, {_DIGITS} b, {_DIGITS} c, {_DIGITS} e, {_DIGITS} f) numbers"
)


@dataclass
class MySQLSource:
    url: str  # as a user gives it: the bare mysql:// scheme
    engine: Engine

    def run(self, sql: str, **params: object) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(sql), params)

    def people(self) -> list[tuple]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text("SELECT id, email, name FROM people ORDER BY id"))]


@pytest.fixture
def mysql_source() -> Iterator[MySQLSource]:
    """A database of its own on the MySQL server with a ``people`` table (utf8mb4, as a CRM's would be)."""
    assert MYSQL_ADMIN_URL
    name = create_mysql_database(MYSQL_ADMIN_URL)
    full = mysql_url(MYSQL_ADMIN_URL, name)
    engine = create_engine(full)
    source = MySQLSource(full.replace("+pymysql", "", 1).replace("?charset=utf8mb4", ""), engine)
    source.run(
        "CREATE TABLE people (id INTEGER PRIMARY KEY, email VARCHAR(320) NULL, name VARCHAR(100), "
        "raw VARBINARY(320) NULL) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"
    )
    source.run(
        "INSERT INTO people (id, email, name) VALUES (1, 'Ann@Example.com', 'Ann'), (2, 'bob@example.com', 'Bob'), "
        "(3, 'cy@example.com', 'Cy')"
    )
    yield source
    engine.dispose()
    drop_mysql_database(MYSQL_ADMIN_URL, name)


def _create(cli_run, source: MySQLSource, query: str, *extra: str):
    return cli_run("list", "create", "q", "--query", query, "--source", source.url, *extra)


def _snapshot(sessions) -> dict:
    return members_of(sessions, "q")


@needs_mysql
def test_non_ascii_names_and_emails_survive_end_to_end(cli_run, mysql_source: MySQLSource, sessions) -> None:
    mysql_source.run(
        "INSERT INTO people (id, email, name) VALUES (4, 'zoë@exämple.com', 'Zoë Ünal 😀'), "
        "(5, 'jürgen@example.com', '渡辺')"
    )
    result = _create(cli_run, mysql_source, "SELECT email, name FROM people ORDER BY id", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["load"]["new"] == 5
    members = members_of(sessions, "q")
    assert members["zoë@exämple.com"]["fields"] == {"name": "Zoë Ünal 😀"}
    assert members["jürgen@example.com"]["fields"] == {"name": "渡辺"}
    assert members["ann@example.com"]["fields"] == {"name": "Ann"}
    # As the CLI shows them, too.
    shown = json.loads(cli_run("list", "members", "q", "--json").stdout)
    assert {m["email"] for m in shown} >= {"zoë@exämple.com", "jürgen@example.com"}


@needs_mysql
def test_rows_stream_through_a_server_side_cursor_in_a_read_only_transaction(mysql_source) -> None:
    with QueryReader(mysql_source.url, _MANY, batch_size=1000) as reader:
        assert reader._result is not None
        # Unbuffered: rows come from the server as they are fetched, never all at once in the client.
        assert isinstance(reader._result.cursor, pymysql.cursors.SSCursor)
        assert reader.columns == ["email", "n"]
        sizes = [len(batch) for batch in reader.batches()]
    assert sum(sizes) == 100_000
    assert max(sizes) == 1000

    engine = source_engine(mysql_source.url)
    try:
        assert engine.url.query["charset"] == "utf8mb4"
        assert engine.dialect.driver == "pymysql"
        with QueryReader(mysql_source.url, "SELECT email FROM people") as reader:
            assert reader._conn is not None
            list(reader.batches())
            with pytest.raises(DBAPIError, match="READ ONLY transaction"):
                reader._conn.exec_driver_sql("UPDATE people SET name = 'X'")
    finally:
        engine.dispose()
    assert all(name != "X" for _, _, name in mysql_source.people())


@needs_mysql
def test_queries_that_are_not_a_select_exit_2_and_change_nothing(cli_run, mysql_source, sessions) -> None:
    before = mysql_source.people()
    for query in (
        "DELETE FROM people",
        "UPDATE people SET name = 'Hacked'",
        "INSERT INTO people (id, email, name) VALUES (9, 'x@example.com', 'X')",
        "SET @x = 1",
        "DROP TABLE people",
    ):
        result = _create(cli_run, mysql_source, query)
        assert result.exit_code == 2, (query, result.stderr)
        assert "cannot use the query" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert mysql_source.people() == before
    assert list_names(sessions) == []


@needs_mysql
def test_missing_email_column_exits_2_and_changes_nothing(cli_run, app, mysql_source, sessions) -> None:
    result = _create(cli_run, mysql_source, "SELECT name FROM people")
    assert result.exit_code == 2, result.stderr
    assert "no email column" in result.stderr, result.stderr
    assert list_names(sessions) == []

    assert _create(cli_run, mysql_source, "SELECT email, name FROM people ORDER BY id").exit_code == 0
    before = _snapshot(sessions)
    mysql_source.run("ALTER TABLE people CHANGE email mail VARCHAR(320)")
    with pytest.raises(SourceError), app.sessions().begin() as session:
        refresh_query_list(
            session.connection(), get_list(session, "q"), app.box(), now=NOW + timedelta(hours=1)
        )
    assert _snapshot(sessions) == before


@needs_mysql
def test_null_and_binary_emails_are_rejected_with_reasons(cli_run, mysql_source, sessions) -> None:
    mysql_source.run(
        "INSERT INTO people (id, email, name, raw) VALUES (4, NULL, 'Nobody', NULL), "
        "(5, 'dee@example.com', 'Dee', X'646565406578616d706c652e636f6d'), (6, 'eve@example.com', 'Eve', X'ff00fe')"
    )
    # The email from a VARBINARY column: UTF-8 bytes are an email, other bytes are rejected with a reason.
    result = _create(
        cli_run, mysql_source, "SELECT COALESCE(raw, email) AS email, name FROM people ORDER BY id", "--json"
    )
    assert result.exit_code == 0, result.stderr
    load = json.loads(result.stdout)["load"]
    assert (load["rows_read"], load["new"], load["invalid"]) == (6, 4, 2)
    assert set(members_of(sessions, "q")) == {
        "ann@example.com",
        "bob@example.com",
        "cy@example.com",
        "dee@example.com",
    }
    assert "empty email" in result.stderr, result.stderr
    assert "binary data" in result.stderr, result.stderr


@needs_mysql
def test_only_binary_emails_exit_2(cli_run, mysql_source, sessions) -> None:
    mysql_source.run("UPDATE people SET raw = X'ff00fe'")
    result = _create(cli_run, mysql_source, "SELECT raw AS email, name FROM people")
    assert result.exit_code == 2, result.stderr
    assert "none of the query's 3 rows has a valid email" in result.stderr
    assert list_names(sessions) == []


@needs_mysql
def test_connection_lost_mid_read_changes_nothing(app: AppContext, mysql_source, sessions) -> None:
    with app.sessions().begin() as session:
        svc.create_list(
            session,
            app.box(),
            name="q",
            now=NOW,
            query="SELECT email, name FROM people ORDER BY id",
            source_url=mysql_source.url,
        )
    before = _snapshot(sessions)
    marker = f"dotsync-test-{uuid.uuid4().hex}"
    with app.sessions().begin() as session:
        # Rows of about 500 bytes: far more than the sockets' buffers hold (tens of MB), so the server is
        # still sending when its connection is killed, however fast the client reads.
        svc.get_list(
            session, "q"
        ).query = f"/* {marker} */ SELECT email, REPEAT('x', 500) AS pad FROM ({_MANY}) m"

    killed: list[int] = []

    def kill_the_source(label: str, done: int, _total: int | None) -> None:
        # Called after each batch read: the first time, the server drops the reading connection.
        if label == "Reading the query" and not killed:
            with mysql_source.engine.connect() as admin:
                ids = admin.execute(
                    text(
                        "SELECT id FROM information_schema.processlist WHERE info LIKE :m AND id <> CONNECTION_ID()"
                    ),
                    {"m": f"%{marker}%"},
                ).scalars()
                for connection_id in ids:
                    admin.execute(text(f"KILL CONNECTION {int(connection_id)}"))
                    killed.append(connection_id)

    with (
        pytest.raises(SourceError, match="failed while reading its rows"),
        app.sessions().begin() as session,
    ):
        refresh_query_list(
            session.connection(),
            get_list(session, "q"),
            app.box(),
            now=NOW + timedelta(hours=1),
            progress=kill_the_source,
        )
    assert killed, "the reading connection was not found"
    assert _snapshot(sessions) == before


@needs_mysql
def test_a_refused_connection_is_a_source_error(cli_run, tmp_path) -> None:
    result = cli_run(
        "list",
        "create",
        "q",
        "--query",
        "SELECT email FROM people",
        "--source",
        "mysql://crm:s3cret@127.0.0.1:1/crm",
    )
    assert result.exit_code == 2, result.stderr
    assert "cannot use the query" in result.stderr
    assert "s3cret" not in result.stderr


@pytest.fixture
def without_pymysql(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if PyMySQL were not installed: importing it fails."""
    monkeypatch.setitem(sys.modules, "pymysql", None)


def test_a_missing_driver_names_the_extra(without_pymysql) -> None:
    for url in ("mysql://crm@db.example.com/crm", "mariadb://crm@db.example.com/crm", "mysql+pymysql://h/db"):
        with pytest.raises(ConfigError, match=r"pip install 'dotsync\[mysql\]'"):
            normalise_source_url(url)
        with pytest.raises(SourceDriverError, match=r"pymysql.*dotsync\[mysql\]") as caught:
            source_engine(url)
        assert caught.value.exit_code == 3
        with pytest.raises(ConfigError, match=r"dotsync\[mysql\]"):
            make_engine(url)  # dotsync's own database (DOTSYNC_DATABASE_URL)


@pytest.mark.skipif(BACKEND == "mysql", reason="the test database itself needs PyMySQL")
def test_a_missing_driver_exits_3(cli_run, sessions, without_pymysql) -> None:
    result = cli_run(
        "list", "create", "q", "--query", "SELECT email FROM people", "--source", "mysql://crm@127.0.0.1/crm"
    )
    assert result.exit_code == 3, result.stderr
    assert "pip install 'dotsync[mysql]'" in result.stderr
    assert "Traceback" not in result.stderr
    assert list_names(sessions) == []
