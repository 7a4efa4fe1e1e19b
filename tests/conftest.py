"""Shared fixtures: a migrated database per test (SQLite; PostgreSQL when DOTSYNC_TEST_POSTGRES_URL is set;
MySQL/MariaDB when DOTSYNC_TEST_MYSQL_URL is set), an application context, and a CLI runner that goes through
dotsync's one exit-code translator.

With a server URL set, the suite creates its own database (``dotsync_t_<random>``) on that server, so
concurrent runs never collide, and drops it at the end. Setting both server URLs is refused: one run, one
backend.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from dotsync.cli import run
from dotsync.cli.context import AppContext
from dotsync.config import Settings
from dotsync.db.engine import make_engine, make_sessionmaker, migrations_dir, upgrade
from dotsync.db.types import metadata

# The fixtures every suite shares (clock, fake sleeps, sandbox, world): see tests/support/__init__.py.
pytest_plugins = ["tests.support.fixtures"]

PG_ADMIN_URL = os.environ.get("DOTSYNC_TEST_POSTGRES_URL")
MYSQL_ADMIN_URL = os.environ.get("DOTSYNC_TEST_MYSQL_URL")
if PG_ADMIN_URL and MYSQL_ADMIN_URL:
    raise pytest.UsageError("set DOTSYNC_TEST_POSTGRES_URL or DOTSYNC_TEST_MYSQL_URL, not both")
BACKEND = "postgresql" if PG_ADMIN_URL else "mysql" if MYSQL_ADMIN_URL else "sqlite"
# The server a test database is made on (None on SQLite).
SERVER_ADMIN_URL = PG_ADMIN_URL or MYSQL_ADMIN_URL
_HEAD = ScriptDirectory(str(migrations_dir())).get_current_head()


def _pg_url(admin_url: str, database: str) -> str:
    url = make_url(admin_url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url.set(database=database).render_as_string(hide_password=False)


def create_pg_database(admin_url: str) -> str:
    name = f"dotsync_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(
        _pg_url(admin_url, make_url(admin_url).database or "postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name


def drop_pg_database(admin_url: str, name: str) -> None:
    admin = create_engine(
        _pg_url(admin_url, make_url(admin_url).database or "postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _mysql_url(admin_url: str, database: str | None) -> str:
    url = make_url(admin_url)
    if url.drivername in ("mysql", "mariadb"):
        url = url.set(drivername=f"{url.drivername}+pymysql")
    if "charset" not in url.query:
        url = url.update_query_dict({"charset": "utf8mb4"})
    return url.set(database=database).render_as_string(hide_password=False)


def create_mysql_database(admin_url: str) -> str:
    """A new database with the server's default character set: dotsync's tables must not depend on it."""
    name = f"dotsync_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_mysql_url(admin_url, None), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}`"))
    admin.dispose()
    return name


def drop_mysql_database(admin_url: str, name: str) -> None:
    admin = create_engine(_mysql_url(admin_url, None), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        # A connection a test left open in a transaction would make the DROP wait a day for its lock.
        conn.execute(text("SET SESSION lock_wait_timeout = 60"))
        conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    admin.dispose()


def create_server_database() -> str:
    """A new, empty database on the test server (PostgreSQL or MySQL); returns its URL."""
    if PG_ADMIN_URL:
        return _pg_url(PG_ADMIN_URL, create_pg_database(PG_ADMIN_URL))
    assert MYSQL_ADMIN_URL, "no test database server configured"
    return _mysql_url(MYSQL_ADMIN_URL, create_mysql_database(MYSQL_ADMIN_URL))


def drop_server_database(url: str) -> None:
    name = make_url(url).database
    assert name, f"refusing to drop {name!r}"
    assert name.startswith("dotsync_t_"), f"refusing to drop {name!r}"
    if PG_ADMIN_URL:
        drop_pg_database(PG_ADMIN_URL, name)
    elif MYSQL_ADMIN_URL:
        drop_mysql_database(MYSQL_ADMIN_URL, name)


def _empty_mysql_tables(url: str) -> None:
    """TRUNCATE, as on PostgreSQL, but only the tables a test wrote to (a TRUNCATE costs a table rebuild
    on InnoDB), with the AUTO_INCREMENT counters back to 1."""
    engine = create_engine(url)
    names = [t.name for t in metadata.sorted_tables]
    with engine.begin() as conn:
        touched = [
            name
            for name, auto_increment in conn.execute(
                text(
                    "SELECT table_name, auto_increment FROM information_schema.tables "
                    "WHERE table_schema = DATABASE()"
                )
            )
            if name in names and (auto_increment or 1) > 1
        ]
        touched += [
            name
            for name in names
            if name not in touched and conn.execute(text(f"SELECT 1 FROM `{name}` LIMIT 1")).first()
        ]
        if touched:
            conn.execute(text("SET FOREIGN_KEY_CHECKS = 0"))
            for name in touched:
                conn.execute(text(f"TRUNCATE TABLE `{name}`"))
            conn.execute(text("SET FOREIGN_KEY_CHECKS = 1"))
        conn.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": _HEAD})
    engine.dispose()


@pytest.fixture(scope="session")
def _template_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database: a SQLite file to copy, or a server database to empty between tests."""
    if SERVER_ADMIN_URL:
        url = create_server_database()
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        drop_server_database(url)
    else:
        path = tmp_path_factory.mktemp("template") / "template.db"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        engine.dispose()
        yield str(path)


@pytest.fixture
def database_url(_template_database: str, tmp_path: Path) -> str:
    """A freshly migrated, empty database for this test."""
    if MYSQL_ADMIN_URL:
        _empty_mysql_tables(_template_database)
        return _template_database
    if PG_ADMIN_URL:
        engine = create_engine(_template_database)
        tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            # A test may have moved the schema version (to test the schema check): put it back.
            conn.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": _HEAD})
        engine.dispose()
        return _template_database
    path = tmp_path / "dotsync.db"
    shutil.copyfile(_template_database, path)
    return f"sqlite:///{path}"


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """An empty, unmigrated database (for migration tests)."""
    if SERVER_ADMIN_URL:
        url = create_server_database()
        yield url
        drop_server_database(url)
    else:
        yield f"sqlite:///{tmp_path / 'empty.db'}"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture
def secret_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, secret_key: str) -> Settings:
    return Settings(home=tmp_path / "home", database_url=database_url, secret_key=secret_key)


@pytest.fixture
def app(settings: Settings) -> Iterator[AppContext]:
    ctx = AppContext(settings=settings, sleep=lambda _s: None)
    yield ctx
    ctx.close()


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli_run(app: AppContext):
    """Run ``dotsync ARGS`` in-process through the real exit-code translator; returns a CliResult."""

    def invoke(*args: str, input: str | None = None, env: dict[str, str | None] | None = None) -> CliResult:
        runner = CliRunner()
        with runner.isolation(input=input, env=env or {}) as (out, err, _mixed):
            code = run(list(args), obj=app)
        return CliResult(code, out.getvalue().decode(), err.getvalue().decode())

    return invoke
