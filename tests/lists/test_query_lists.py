"""Query-backed lists: created from a read-only query over a SQLite file (and the PostgreSQL or MySQL test
database when DOTSYNC_TEST_POSTGRES_URL or DOTSYNC_TEST_MYSQL_URL is set), refreshed with member state kept, and protected against broken sources."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from dotsync.cli.context import AppContext
from dotsync.db.lookups import get_list
from dotsync.db.models import MarketingList
from dotsync.errors import BadInputError
from dotsync.lists import source as source_module
from dotsync.lists.hashing import fields_hash
from dotsync.lists.members import RefreshResult
from dotsync.lists.source import SourceError, begin_read_only, refresh_query_list, source_engine
from dotsync.services import lists as svc
from tests.conftest import BACKEND
from tests.lists.conftest import NOW, list_names, members_of


@dataclass
class Source:
    """A source database with one table of people (id, email, name, score)."""

    url: str
    table: str
    engine: Engine
    backend: str

    def run(self, sql: str, **params: object) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(sql.format(t=self.table)), params)

    def set_people(self, *people: tuple[str, str, int]) -> None:
        self.run("DELETE FROM {t}")
        for index, (email, name, score) in enumerate(people, start=1):
            self.run(
                "INSERT INTO {t} (id, email, name, score) VALUES (:i, :e, :n, :s)",
                i=index,
                e=email,
                n=name,
                s=score,
            )

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {self.table}")).scalar_one())

    def query(self, columns: str = "email, name, score") -> str:
        return f"SELECT {columns} FROM {self.table} ORDER BY id"


@pytest.fixture
def source(tmp_path: Path, database_url: str) -> Iterator[Source]:
    if BACKEND in ("postgresql", "mysql"):
        # The test database itself is the source, with a table of its own.
        url, table = database_url, f"src_{uuid.uuid4().hex[:10]}"
    else:
        url, table = f"sqlite:///{tmp_path / 'source.db'}", "people"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                f"CREATE TABLE {table} (id integer primary key, email varchar(320), name varchar(100), score integer)"
            )
        )
    src = Source(url, table, engine, BACKEND)
    src.set_people(("Ann@Example.com", "Ann", 1), ("bob@example.com", "Bob", 2), ("cy@example.com", "Cy", 3))
    yield src
    if BACKEND in ("postgresql", "mysql"):
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
    engine.dispose()


def create(app: AppContext, source: Source, name: str = "q", query: str | None = None) -> None:
    with app.sessions().begin() as session:
        svc.create_list(
            session, app.box(), name=name, now=NOW, query=query or source.query(), source_url=source.url
        )


def refresh(app: AppContext, name: str = "q", *, hours: int = 1) -> RefreshResult:
    """What the export does before each export: re-read a query list's source."""
    with app.sessions().begin() as session:
        return refresh_query_list(
            session.connection(), get_list(session, name), app.box(), now=NOW + timedelta(hours=hours)
        )


def test_create_query_list_from_the_cli(cli_run, source: Source, sessions: sessionmaker[Session]) -> None:
    result = cli_run(
        "list",
        "create",
        "q",
        "--query",
        source.query('email AS "E-Mail", name, score'),
        "--source",
        source.url,
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    created = json.loads(result.stdout)
    assert created["kind"] == "query"
    assert created["email_column"] == "E-Mail"
    assert created["load"]["new"] == 3

    members = members_of(sessions, "q")
    assert set(members) == {"ann@example.com", "bob@example.com", "cy@example.com"}
    assert members["ann@example.com"]["fields"] == {"name": "Ann", "score": 1}
    assert members["ann@example.com"]["hash"] == fields_hash({"name": "Ann", "score": 1})

    view = json.loads(cli_run("list", "show", "q", "--json").stdout)
    assert view["kind"] == "query"
    assert view["fields"] == ["name", "score"]
    assert view["members"]["subscribed"] == 3
    assert view["refreshed_at"] is not None
    assert view["source"] is not None
    assert view["source"].startswith(source.url.split("://")[0])
    with sessions() as session:
        stored = session.scalar(select(MarketingList.source_url_encrypted))
    assert stored is not None
    assert source.url not in stored


def test_show_masks_the_source_password(cli_run, app: AppContext) -> None:
    with app.sessions().begin() as session:
        session.add(
            MarketingList(
                name="crm",
                kind="query",
                query="SELECT email FROM people",
                source_url_encrypted=app.box().encrypt("postgresql://crm:Sup3rSecret@db.internal/crm"),
                email_column="email",
                field_columns=[],
            )
        )
    for args in (("list", "show", "crm"), ("list", "show", "crm", "--json"), ("list", "ls", "--json")):
        result = cli_run(*args)
        assert result.exit_code == 0, result.stderr
        assert "Sup3rSecret" not in result.stdout + result.stderr
        assert "crm:***@db.internal" in result.stdout


def test_states_survive_leaving_and_coming_back(app: AppContext, source: Source, sessions) -> None:
    source.set_people(
        ("ann@example.com", "Ann", 1),
        ("bob@example.com", "Bob", 2),
        ("cy@example.com", "Cy", 3),
        ("dee@example.com", "Dee", 4),
    )
    create(app, source)
    with app.sessions().begin() as session:
        svc.unsubscribe_member(session, "q", "bob@example.com", now=NOW)
        svc.remove_member(session, "q", "cy@example.com", now=NOW)

    source.set_people(("ann@example.com", "Ann", 10), ("dee@example.com", "Dee", 4))
    left = refresh(app, hours=1)
    assert (left.rows_read, left.new, left.changed, left.unchanged, left.left, left.came_back) == (
        2,
        0,
        1,
        1,
        2,
        0,
    )
    members = members_of(sessions, "q")
    assert members["bob@example.com"] == {
        **members["bob@example.com"],
        "state": "unsubscribed",
        "current": False,
    }
    assert members["cy@example.com"]["state"] == "removed"
    assert members["cy@example.com"]["current"] is False
    assert members["ann@example.com"]["fields"] == {"name": "Ann", "score": 10}
    assert members["ann@example.com"]["current"] is True

    source.set_people(
        ("ann@example.com", "Ann", 10),
        ("BOB@example.com", "Bob", 2),
        ("cy@example.com", "Cy", 30),
        ("dee@example.com", "Dee", 4),
        ("eve@example.com", "Eve", 5),
    )
    back = refresh(app, hours=2)
    assert (back.new, back.changed, back.unchanged, back.left, back.came_back) == (1, 1, 2, 0, 2)
    members = members_of(sessions, "q")
    assert members["bob@example.com"]["state"] == "unsubscribed"
    assert members["bob@example.com"]["reason"] == "unsubscribed by user"
    assert members["cy@example.com"]["state"] == "removed"
    assert members["cy@example.com"]["fields"] == {"name": "Cy", "score": 30}
    assert all(m["current"] for m in members.values())
    assert members["eve@example.com"]["state"] == "subscribed"

    with sessions() as session:
        marketing_list = session.scalar(select(MarketingList).where(MarketingList.name == "q"))
        assert marketing_list is not None
        assert marketing_list.refreshed_at == NOW + timedelta(hours=2)


def _snapshot(sessions, app: AppContext) -> tuple[dict, object]:
    with sessions() as session:
        refreshed = session.scalar(select(MarketingList.refreshed_at).where(MarketingList.name == "q"))
    return members_of(sessions, "q"), refreshed


def test_empty_result_raises_and_changes_nothing(app: AppContext, source: Source, sessions) -> None:
    create(app, source)
    before = _snapshot(sessions, app)
    source.run("DELETE FROM {t}")
    with pytest.raises(SourceError, match="returned no rows while the list has 3 current members"):
        refresh(app)
    assert _snapshot(sessions, app) == before


def test_only_invalid_rows_count_as_empty(app: AppContext, source: Source, sessions) -> None:
    create(app, source)
    before = _snapshot(sessions, app)
    source.set_people(("nobody", "X", 1), ("", "Y", 2))
    with pytest.raises(SourceError, match=r"no usable rows \(2 invalid\)"):
        refresh(app)
    assert _snapshot(sessions, app) == before


def test_failing_query_raises_and_changes_nothing(app: AppContext, source: Source, sessions) -> None:
    create(app, source)
    before = _snapshot(sessions, app)
    source.run("ALTER TABLE {t} RENAME COLUMN name TO full_name")
    with pytest.raises(SourceError, match="the source query failed"):
        refresh(app)
    assert _snapshot(sessions, app) == before


def test_missing_email_column_on_refresh(app: AppContext, source: Source, sessions) -> None:
    create(app, source)
    before = _snapshot(sessions, app)
    source.run("ALTER TABLE {t} RENAME COLUMN email TO mail")
    with pytest.raises(SourceError):
        refresh(app)
    assert _snapshot(sessions, app) == before


def test_failure_after_some_batches_changes_nothing(
    app: AppContext, source: Source, sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    create(app, source)
    before = _snapshot(sessions, app)
    monkeypatch.setattr(source_module, "STREAM_BATCH", 2)
    source.set_people(
        ("new1@example.com", "N1", 1),
        ("ann@example.com", "Changed", 1),
        ("new2@example.com", "N2", 1),
        ("new3@example.com", "N3", 1),
        ("boom@example.com", "B", 1),
    )
    # The last row makes the database raise while it is being fetched (after earlier batches were read).
    if source.backend == "postgresql":
        failing = "score / (CASE WHEN email = 'boom@example.com' THEN 0 ELSE 1 END) AS score"
    elif source.backend == "mysql":  # a division by zero is NULL there; a subquery of several rows fails
        failing = (
            f"CASE WHEN email = 'boom@example.com' THEN (SELECT q.id FROM {source.table} q "
            f"WHERE q.id <= {source.table}.id) ELSE score END AS score"
        )
    else:
        failing = (
            "CASE WHEN email = 'boom@example.com' THEN abs(-9223372036854775808) ELSE score END AS score"
        )
    with app.sessions().begin() as session:
        marketing_list = svc.get_list(session, "q")
        marketing_list.query = source.query(f"email, name, {failing}")
    with pytest.raises(SourceError, match="the source query failed"):
        refresh(app)
    assert _snapshot(sessions, app) == before


def test_zero_rows_is_fine_for_an_empty_list(app: AppContext, source: Source, sessions) -> None:
    source.run("DELETE FROM {t}")
    create(app, source)
    assert members_of(sessions, "q") == {}
    assert refresh(app).rows_read == 0


def test_invalid_and_duplicate_rows_of_a_query_are_reported(
    app: AppContext, source: Source, sessions
) -> None:
    source.set_people(
        ("ann@example.com", "Ann", 1), ("ANN@example.com", "Ann2", 2), ("bad@", "B", 3), ("c@x.io", "C", 4)
    )
    with app.sessions().begin() as session:
        created = svc.create_list(
            session, app.box(), name="q", now=NOW, query=source.query(), source_url=source.url
        )
    load = created.load
    assert load is not None
    assert (load.rows_read, load.new, load.invalid, load.duplicates) == (4, 2, 1, 1)
    assert [(r.line, r.kind) for r in load.rejects] == [(2, "duplicate"), (3, "invalid")]
    assert members_of(sessions, "q")["ann@example.com"]["fields"] == {"name": "Ann", "score": 1}


def test_query_runs_read_only(cli_run, source: Source, sessions) -> None:
    before = source.count()
    writes = [
        f"INSERT INTO {source.table} (id, email, name, score) VALUES (99, 'x@example.com', 'X', 0) RETURNING email",
        f"DELETE FROM {source.table} RETURNING email",
        f"UPDATE {source.table} SET name = 'Hacked' RETURNING email",
    ]
    for query in writes:
        result = cli_run("list", "create", "q", "--query", query, "--source", source.url)
        assert result.exit_code == 2, query
        assert "cannot use the query" in result.stderr
    assert source.count() == before
    with source.engine.connect() as conn:
        assert "Hacked" not in [row[0] for row in conn.execute(text(f"SELECT name FROM {source.table}"))]
    assert list_names(sessions) == []


def test_read_only_transaction_refuses_writes(source: Source) -> None:
    engine = source_engine(source.url)
    try:
        with engine.connect() as conn:
            assert begin_read_only(conn) is True
            with pytest.raises(DBAPIError):
                conn.execute(text(f"UPDATE {source.table} SET name = 'X'"))
            conn.rollback()
    finally:
        engine.dispose()
    with source.engine.connect() as conn:
        assert "X" not in [r[0] for r in conn.execute(text(f"SELECT name FROM {source.table}"))]


def test_create_errors_write_nothing(cli_run, source: Source, sessions, tmp_path: Path) -> None:
    cases = [
        (("--query", source.query()), "needs both --query and --source"),
        (("--source", source.url), "needs both --query and --source"),
        (("--query", "SELECT nope FROM nowhere", "--source", source.url), "cannot use the query"),
        (("--query", source.query("name, score"), "--source", source.url), "no email column"),
        (
            ("--query", source.query(), "--source", "sqlite:///" + str(tmp_path / "missing.db")),
            "does not exist",
        ),
        (("--query", source.query(), "--source", "nodriver+x://h/db"), "cannot use the query"),
        (("--query", source.query(), "--source", source.url, "--email-column", "score"), "none of"),
    ]
    for args, message in cases:
        result = cli_run("list", "create", "q", *args)
        assert result.exit_code == 2, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
    assert list_names(sessions) == []


def test_query_lists_take_no_files_and_no_strangers(
    cli_run, app: AppContext, source: Source, write_csv
) -> None:
    create(app, source)
    result = cli_run("list", "import", "q", str(write_csv("email\na@x.com\n")))
    assert result.exit_code == 2
    assert "query-backed" in result.stderr
    stranger = cli_run("list", "add", "q", "zed@example.com")
    assert stranger.exit_code == 2
    assert "not one of them" in stranger.stderr
    with (
        pytest.raises(BadInputError, match="fields come from its query"),
        app.sessions().begin() as session,
    ):
        svc.add_member(session, "q", "bob@example.com", now=NOW, fields={"name": "X"})
