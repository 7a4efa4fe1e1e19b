"""Engine and session construction, and the schema check run before every command.

An empty database is migrated on first use; a database behind the code's migrations stops the command with
exit 3 and asks for ``dotsync db upgrade``; ``dotsync db upgrade`` runs the migrations.

URLs with a bare scheme get the driver dotsync ships with (``postgresql://`` -> psycopg 3, ``mysql://`` and
``mariadb://`` -> PyMySQL, with ``charset=utf8mb4``); a URL whose driver is missing is a configuration error
(exit 3) naming the extra to install. On MySQL/MariaDB every connection of dotsync's own database works in
UTC, in strict mode and at READ COMMITTED, as PostgreSQL does by default.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from dotsync.errors import ConfigError, SchemaOutdatedError

if TYPE_CHECKING:
    from alembic.config import Config

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def migrations_dir() -> Path:
    """The alembic scripts: inside the installed wheel, else the source checkout's ``migrations/``."""
    for candidate in (_PACKAGE_DIR / "_migrations", _PACKAGE_DIR.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise ConfigError("dotsync's migration scripts are missing from this installation")


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config  # alembic is imported only when migrations are looked at

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.attributes["engine"] = engine
    return cfg


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# The driver a bare scheme means for dotsync, and the extra that installs it.
_SHIPPED_DRIVERS = {
    "postgresql": ("psycopg", "psycopg", "postgres"),
    "mysql": ("pymysql", "pymysql", "mysql"),
    "mariadb": ("pymysql", "pymysql", "mysql"),
}
_MYSQL_BACKENDS = ("mysql", "mariadb")


def with_default_driver(url: URL) -> URL:
    """``url`` with the driver dotsync ships with when it names none, and utf8mb4 on MySQL/MariaDB."""
    backend = url.get_backend_name()
    if url.drivername == backend and backend in _SHIPPED_DRIVERS:
        url = url.set(drivername=f"{backend}+{_SHIPPED_DRIVERS[backend][0]}")
    if backend in _MYSQL_BACKENDS and "charset" not in url.query:
        url = url.update_query_dict({"charset": "utf8mb4"})
    return url


def missing_driver_message(url: URL, exc: ImportError) -> str:
    """What to install when ``url``'s driver cannot be imported."""
    backend, module = url.get_backend_name(), exc.name or url.get_driver_name()
    shipped = _SHIPPED_DRIVERS.get(backend)
    if shipped and url.get_driver_name() == shipped[0]:
        extra = shipped[2]
        hint = f"install dotsync with the {extra!r} extra: pip install 'dotsync[{extra}]'"
    else:
        hint = f"install the {module!r} module next to dotsync"
    return f"the database driver for {url.drivername} is not installed ({module}); {hint}"


def check_driver(url: URL) -> None:
    """Raise :class:`ConfigError` (exit 3) when ``url``'s driver is not installed; unknown schemes pass
    (creating the engine reports them)."""
    try:
        dialect = url.get_dialect()
    except NoSuchModuleError:
        return
    except ImportError as exc:
        raise ConfigError(missing_driver_message(url, exc)) from exc
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        raise ConfigError(missing_driver_message(url, exc)) from exc


def _mysql_session(dbapi_connection: Any, _record: Any) -> None:
    """dotsync's own database on MySQL/MariaDB: UTC (naive datetimes are UTC), strict mode (an over-long
    value is an error, never silently cut)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("SET time_zone = '+00:00', sql_mode = 'TRADITIONAL'")
    cursor.close()


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a busy timeout; the file's folder is created."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"invalid database URL: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    elif parsed.get_backend_name() in _MYSQL_BACKENDS:
        parsed = with_default_driver(parsed)
        check_driver(parsed)
        # READ COMMITTED as on PostgreSQL (InnoDB's REPEATABLE READ takes gap locks that make concurrent
        # runs deadlock-prone); connections recycled well before the server's idle timeout.
        engine = _create(parsed, pool_pre_ping=True, pool_recycle=3600, isolation_level="READ COMMITTED")
        event.listen(engine, "connect", _mysql_session)
    else:
        parsed = with_default_driver(parsed)
        check_driver(parsed)
        engine = _create(parsed, pool_pre_ping=True)
    return engine


def _create(url: URL, **kwargs: Any) -> Engine:
    try:
        return create_engine(url, **kwargs)
    except ArgumentError as exc:  # e.g. an unknown scheme
        raise ConfigError(f"invalid database URL {url.render_as_string()}: {exc}") from exc


def head_revision(engine: Engine) -> str | None:
    head = _scripts_head()
    if head is not None:
        return head
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        raise ConfigError(f"cannot open the database: {exc.orig}") from exc


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(engine), revision)


_REVISION_LINE = re.compile(r"""^(down_revision|revision)\b[^=\n]*=\s*(?:None|['"]([^'"]+)['"])\s*$""", re.M)


def _scripts_head() -> str | None:
    """The head revision read from the migration files' ``revision`` / ``down_revision`` lines, without
    importing alembic; None when the files are not that simple (a merge, a branch): then alembic decides."""
    revisions: set[str] = set()
    parents: set[str] = set()
    try:
        files = list((migrations_dir() / "versions").glob("*.py"))
        for path in files:
            found = dict(
                (key, value) for key, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8"))
            )
            if "revision" not in found or not found["revision"] or "down_revision" not in found:
                return None
            revisions.add(found["revision"])
            if found["down_revision"]:
                parents.add(found["down_revision"])
    except (OSError, ConfigError):
        return None
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and len(revisions) == len(files) else None


def _stored_revision(engine: Engine) -> str | None:
    """The database's schema revision by plain SQL; None when it cannot be read that simply."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    except DBAPIError:
        return None
    return rows[0][0] if len(rows) == 1 else None


def ensure_schema(engine: Engine) -> None:
    """Migrate an empty database; refuse (exit 3) a database that is behind or ahead of the code.

    Every command runs this, so the usual answer (the schema is current) is found without alembic: one SELECT
    and the migration files' revision lines. Anything else goes through alembic.
    """
    stored = _stored_revision(engine)
    head = head_revision(engine)
    if stored is not None and stored == head:
        return
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError

    current = current_revision(engine)
    if current == head:
        return
    if current is None:
        with engine.connect() as conn:
            existing = [t for t in inspect(conn).get_table_names() if t != "alembic_version"]
        if existing:
            raise ConfigError(
                "the database has tables but no dotsync schema version; point dotsync at an empty database"
            )
        upgrade(engine)
        return
    script = ScriptDirectory.from_config(alembic_config(engine))
    try:
        known = script.get_revision(current) is not None
    except CommandError:
        known = False
    if not known:
        raise ConfigError(
            f"the database schema ({current}) is newer than this dotsync ({head}); upgrade dotsync"
        )
    raise SchemaOutdatedError(
        f"the database schema is out of date ({current}, code expects {head}); run `dotsync db upgrade`"
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
