"""Engine and session construction, and the schema check run before every command.

An empty database is migrated on first use; a database behind the code's migrations stops the command with
exit 3 and asks for ``dotsync db upgrade``; ``dotsync db upgrade`` runs the migrations.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
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
    else:
        if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            engine = create_engine(parsed, pool_pre_ping=True)
        except ModuleNotFoundError as exc:
            raise ConfigError(
                f"the database driver for {parsed.drivername} is not installed ({exc.name}); "
                "for PostgreSQL install dotsync with the 'postgres' extra"
            ) from exc
    return engine


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


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
