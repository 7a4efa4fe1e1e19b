"""Query-backed list sources: reading the rows of a SQL query over any SQLAlchemy URL, read-only.

The query runs in a read-only transaction where the database allows it (PostgreSQL and MySQL: a READ ONLY
transaction; SQLite: the file opened with ``mode=ro`` and ``PRAGMA query_only``), and its rows are streamed
(server-side cursor where the driver has one), never fetched all at once. Any failure of the source is raised
as :class:`SourceError`, so callers can tell "the source is broken" from "the source says nobody is in the
list". Source URLs hold credentials: they are stored encrypted and only ever shown through :func:`mask_url`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, CursorResult, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from dotsync.errors import BadInputError, DotsyncError

log = logging.getLogger(__name__)

STREAM_BATCH = 2000
_SECRET_QUERY_KEYS = ("password", "passwd", "pwd", "secret", "token", "key")


class SourceError(DotsyncError):
    """The source of a query-backed list failed, or returned nothing while the list had members.

    Raised before anything is changed: a broken source never empties a list.
    """


def parse_source_url(url: str) -> URL:
    try:
        return make_url(url.strip())
    except (ArgumentError, ValueError) as exc:
        raise BadInputError(f"invalid --source URL: {exc}") from exc


def normalise_source_url(url: str) -> str:
    """Check a source URL given by the user and make it independent of the working directory.

    A SQLite file path becomes absolute (cron runs elsewhere) and must exist. Returns the URL to store.
    """
    parsed = parse_source_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            if not database.startswith("file:"):
                raise BadInputError("an in-memory SQLite database cannot be a list source; give a file path")
            return parsed.render_as_string(hide_password=False)
        path = Path(database).expanduser().resolve()
        if not path.is_file():
            raise BadInputError(f"the SQLite source file {path} does not exist")
        parsed = parsed.set(database=str(path))
    return parsed.render_as_string(hide_password=False)


def mask_url(url: str) -> str:
    """The URL with its password (and any password-like query parameter) replaced by ``***``."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return "***"
    if parsed.query:
        masked = {
            k: ("***" if any(s in k.lower() for s in _SECRET_QUERY_KEYS) else v)
            for k, v in parsed.query.items()
        }
        parsed = parsed.set(query=masked)
    return parsed.render_as_string(hide_password=True)


def _read_only_url(parsed: URL) -> URL:
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            return parsed.set(
                database=Path(database).as_uri(), query={**parsed.query, "mode": "ro", "uri": "true"}
            )
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        # psycopg 3 is the PostgreSQL driver dotsync ships with (the bare scheme would mean psycopg2).
        return parsed.set(drivername="postgresql+psycopg")
    return parsed


def _sqlite_query_only(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only = ON")
    cursor.close()


def source_engine(url: str) -> Engine:
    """An engine for a list source: no pooling (one query per refresh), SQLite opened read-only."""
    parsed = _read_only_url(parse_source_url(url))
    try:
        engine = create_engine(parsed, poolclass=NullPool)
    except ModuleNotFoundError as exc:
        raise SourceError(
            f"the database driver for {parsed.drivername} is not installed ({exc.name}); install it "
            "next to dotsync to use this source"
        ) from exc
    except (ArgumentError, ValueError) as exc:
        raise SourceError(f"cannot use the source URL {mask_url(url)}: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_query_only)
    return engine


def begin_read_only(conn: Connection) -> bool:
    """Start a read-only transaction on ``conn`` where the dialect has one; False when it cannot be enforced."""
    dialect = conn.dialect.name
    if dialect in ("postgresql", "oracle"):
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
    elif dialect in ("mysql", "mariadb"):
        conn.exec_driver_sql("START TRANSACTION READ ONLY")
    elif dialect == "sqlite":
        conn.exec_driver_sql("PRAGMA query_only = ON")
    else:
        log.warning("cannot make a read-only transaction on %s; use a read-only database user", dialect)
        return False
    return True


def _describe(exc: BaseException) -> str:
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return " ".join(str(exc.orig).split())
    return " ".join(str(exc).split()) or type(exc).__name__


class QueryReader:
    """Runs one query read-only and streams its rows. Use as a context manager; errors become SourceError.

    ``columns`` holds the result's column names once entered; :meth:`batches` yields lists of row tuples.
    """

    def __init__(self, url: str, query: str, *, batch_size: int = STREAM_BATCH) -> None:
        self.url = url
        self.query = query
        self.batch_size = batch_size
        self.columns: list[str] = []
        self._engine: Engine | None = None
        self._conn: Connection | None = None
        self._result: CursorResult[Any] | None = None

    def __enter__(self) -> QueryReader:
        if not self.query or not self.query.strip():
            raise SourceError("the list has no query")
        self._engine = source_engine(self.url)
        try:
            self._conn = self._engine.connect()
            begin_read_only(self._conn)
            self._result = self._conn.execute(
                text(self.query), execution_options={"stream_results": True, "yield_per": self.batch_size}
            )
            if not self._result.returns_rows:
                raise SourceError("the query returns no rows (is it a SELECT?)")
            self.columns = [str(c) for c in self._result.keys()]
        except SourceError:
            self.close()
            raise
        except (SQLAlchemyError, OSError) as exc:
            self.close()
            raise SourceError(f"the source query failed: {_describe(exc)}") from exc
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def batches(self) -> Iterator[Sequence[Sequence[Any]]]:
        """Yield the rows in batches of up to ``batch_size``; a failure while fetching raises SourceError."""
        assert self._result is not None, "use QueryReader as a context manager"
        partitions = self._result.partitions(self.batch_size)
        while True:
            try:
                batch = next(partitions)
            except StopIteration:
                return
            except (SQLAlchemyError, OSError) as exc:
                raise SourceError(
                    f"the source query failed while reading its rows: {_describe(exc)}"
                ) from exc
            yield batch

    def close(self) -> None:
        if self._result is not None:
            try:
                self._result.close()
            except SQLAlchemyError:
                pass
            self._result = None
        if self._conn is not None:
            try:
                self._conn.rollback()  # never commit anything on a source
                self._conn.close()
            except SQLAlchemyError:
                pass
            self._conn = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def json_value(value: Any) -> Any:
    """A query value as something JSON can store and compare stably (member fields are JSON)."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.hex()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    return str(value)
