"""Query-backed lists: reading a SQL query's rows over any SQLAlchemy URL, read-only, and refreshing members.

The query runs in a read-only transaction where the database allows it (PostgreSQL and MySQL: a READ ONLY
transaction; SQLite: the file opened with ``mode=ro`` and ``PRAGMA query_only``), and its rows are streamed
(server-side cursor where the driver has one), never fetched all at once. Any failure of the source is raised
as :class:`SourceError`, so callers can tell "the source is broken" from "the source says nobody is in the
list": :func:`refresh_query_list` never treats a failure or an empty answer as "everyone left". Source
URLs hold credentials: they are stored encrypted and only ever shown through :func:`mask_url`.
"""

from __future__ import annotations

import logging
import math
import pickle
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import IO, Any, cast
from uuid import UUID

from sqlalchemy import Connection, Engine, Table, create_engine, event, text, update
from sqlalchemy.engine import URL, CursorResult, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.pool import NullPool

from dotsync.db.bulk import batched
from dotsync.db.engine import check_driver, missing_driver_message, with_default_driver
from dotsync.db.models import ListKind, MarketingList
from dotsync.errors import EXIT_CONFIG, BadInputError, ConfigError, DotsyncError
from dotsync.lists.columns import field_columns as other_columns
from dotsync.lists.columns import find_email_column
from dotsync.lists.members import (
    WRITE_BATCH,
    Member,
    MemberPreparer,
    MemberWriter,
    RefreshResult,
    current_member_count,
    mark_left,
)
from dotsync.lists.rejects import RejectLog
from dotsync.progress import Progress, no_progress
from dotsync.secret import SecretBox

log = logging.getLogger(__name__)

STREAM_BATCH = 2000
_lists = cast(Table, MarketingList.__table__)
_SECRET_QUERY_KEYS = ("password", "passwd", "pwd", "secret", "token", "key")


class SourceError(DotsyncError):
    """The source of a query-backed list failed, or returned nothing while the list had members.

    Raised before anything is changed: a broken source never empties a list.
    """


class SourceDriverError(SourceError):
    """The source URL's database driver is not installed: a configuration problem (exit 3)."""

    exit_code = EXIT_CONFIG


def parse_source_url(url: str) -> URL:
    try:
        return make_url(url.strip())
    except (ArgumentError, ValueError) as exc:
        raise BadInputError(f"invalid --source URL: {exc}") from exc


def normalise_source_url(url: str) -> str:
    """Check a source URL given by the user and make it independent of the working directory.

    A SQLite file path becomes absolute (cron runs elsewhere) and must exist; a URL whose driver is not
    installed is a :class:`ConfigError` (exit 3) naming what to install. Returns the URL to store.
    """
    parsed = parse_source_url(url)
    check_driver(with_default_driver(parsed))
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
    # The driver dotsync ships with for a bare postgresql:// (psycopg 3, not psycopg2) or mysql:// (PyMySQL),
    # and utf8mb4 on MySQL/MariaDB so any name or email survives.
    return with_default_driver(parsed)


def _check_driver(parsed: URL) -> None:
    """Raise :class:`SourceDriverError` when ``parsed``'s driver cannot be imported."""
    try:
        check_driver(parsed)
    except ConfigError as exc:
        raise SourceDriverError(exc.message) from exc


def _sqlite_query_only(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only = ON")
    cursor.close()


def source_engine(url: str) -> Engine:
    """An engine for a list source: no pooling (one query per refresh), SQLite opened read-only."""
    parsed = _read_only_url(parse_source_url(url))
    _check_driver(parsed)
    try:
        engine = create_engine(parsed, poolclass=NullPool)
    except ImportError as exc:
        raise SourceDriverError(missing_driver_message(parsed, exc)) from exc
    except (ArgumentError, ValueError) as exc:
        raise SourceError(f"cannot use the source URL {mask_url(url)}: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_query_only)
    if parsed.get_backend_name() in ("mysql", "mariadb") and parsed.get_driver_name() == "pymysql":
        event.listen(engine, "handle_error", _pymysql_dead_stream)
    return engine


def _pymysql_dead_stream(context: Any) -> None:
    """A connection lost in the middle of a streamed (unbuffered) result: PyMySQL would later try to drain
    the rest of the rows from the closed socket when the cursor is closed or collected (an AttributeError
    raised from ``__del__``). Nothing is left to read: say so."""
    cursor = getattr(context.execution_context, "cursor", None)
    pending = getattr(cursor, "_result", None)
    connection = getattr(cursor, "connection", None)
    if pending is not None and connection is not None and not connection.open:
        pending.unbuffered_active = False


# What may start a list's query on MySQL/MariaDB, after leading comments: DDL there commits by itself, outside
# the read-only transaction (``DROP TABLE`` would run), so only statements that read are sent at all.
_MYSQL_LEADING_COMMENTS = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|#[^\n]*(?:\n|\Z)|/\*(?![!M]).*?\*/)*", re.S)
_MYSQL_READING_START = re.compile(r"\A(?:\(|(?:select|with|values|table)\b)", re.I)
_MYSQL_WRITES_A_FILE = re.compile(r"\binto\s+(?:out|dump)file\b", re.I)


def check_mysql_query(query: str) -> None:
    """Refuse, before it reaches the server, a MySQL query that is not a SELECT (or WITH/VALUES/TABLE)."""
    comments = _MYSQL_LEADING_COMMENTS.match(query)
    body = query[comments.end() :] if comments else query
    if not _MYSQL_READING_START.match(body):
        first = body.split(None, 1)[0] if body.strip() else "nothing"
        raise SourceError(
            f"the query must be a SELECT (it starts with {first[:40]!r}); on MySQL/MariaDB a statement that "
            "changes the schema would run outside the read-only transaction"
        )
    if _MYSQL_WRITES_A_FILE.search(body):
        raise SourceError("the query must not write a file (INTO OUTFILE / INTO DUMPFILE)")


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
            if self._conn.dialect.name in ("mysql", "mariadb"):
                check_mysql_query(self.query)
            begin_read_only(self._conn)
            self._result = self._conn.execute(
                text(self.query), execution_options={"stream_results": True, "yield_per": self.batch_size}
            )
            if not self._result.returns_rows:
                raise SourceError("the query returns no rows (is it a SELECT?)")
            self.columns = [str(c) for c in self._result.keys()]  # noqa: SIM118  (a Result, not a dict)
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


def refresh_query_list(
    conn: Connection,
    marketing_list: MarketingList,
    box: SecretBox,
    *,
    now: datetime,
    progress: Progress | None = None,
    rejects_path: Path | None = None,
) -> RefreshResult:
    """Re-read a query-backed list's source and bring its members in line with the query's rows.

    New rows become subscribed members; known members get the query's current fields; members no longer
    returned are marked ``is_current=False`` and members returned again ``is_current=True`` — their state
    (``unsubscribed``, ``removed``) is always kept. ``box`` is the :class:`~dotsync.secret.SecretBox` that
    decrypts the source URL.

    Raises :class:`SourceError` — having changed nothing — when the source fails (connection, query, missing
    email column) or returns no usable row while the list has current members. On success the list's
    ``refreshed_at``, ``source_error`` and ``field_columns`` are updated.
    """
    if (
        marketing_list.kind != ListKind.QUERY
        or not marketing_list.query
        or not marketing_list.source_url_encrypted
    ):
        raise BadInputError(f"list {marketing_list.name!r} is not query-backed")
    report = progress or no_progress
    url = box.decrypt(marketing_list.source_url_encrypted)
    result = RefreshResult()
    with tempfile.TemporaryFile() as spool, QueryReader(url, marketing_list.query) as reader:
        email_column = _source_email_column(reader.columns, marketing_list.email_column, url)
        fields = other_columns(reader.columns, email_column)
        with RejectLog(columns=reader.columns, path=rejects_path) as rejects:
            preparer = MemberPreparer(rejects, duplicate_reason="(the query returns it more than once)")
            _spool_query(reader, preparer, email_column, spool, result, report)
        result.invalid, result.duplicates, result.rejects = (
            rejects.invalid,
            rejects.duplicates,
            rejects.sample,
        )
        reader.close()  # release the source before writing

        if not preparer.seen:
            current = current_member_count(conn, marketing_list.id)
            if current:
                what = "no rows" if result.rows_read == 0 else f"no usable rows ({result.rows_read} invalid)"
                raise SourceError(
                    f"the query of list {marketing_list.name!r} returned {what} while the list has {current} "
                    "current members; nothing was changed (a broken source must not empty a list)"
                )

        writer = MemberWriter(conn, marketing_list.id, now=now, result=result)
        spool.seek(0)
        written = 0
        for batch in _unspool(spool):
            writer.write(batch)
            written += len(batch)
            report("Updating members", written, len(preparer.seen))
    result.came_back = writer.came_back
    result.left = mark_left(conn, marketing_list.id, preparer.seen, now=now, seq=writer.seq)
    values = {
        "refreshed_at": now,
        "source_error": None,
        "email_column": email_column,
        "field_columns": fields,
        "updated_at": now,
    }
    conn.execute(update(_lists).where(_lists.c.id == marketing_list.id).values(**values))
    for key, value in values.items():  # keep the caller's object in step without marking it dirty
        set_committed_value(marketing_list, key, value)
    return result


def _source_email_column(columns: Sequence[str], wanted: str, url: str) -> str:
    doubled = sorted({c for c in columns if columns.count(c) > 1})
    if doubled:
        names = ", ".join(repr(c) for c in doubled)
        raise SourceError(
            f"the query returns several columns named {names}; give them distinct names with AS"
        )
    if not wanted:  # a new list without --email-column: the column named like "email"
        try:
            return find_email_column(columns, None, source="the query")
        except BadInputError as exc:
            raise SourceError(exc.message) from exc
    if wanted in columns:
        return wanted
    folded = [c for c in columns if c.lower() == wanted.lower()]
    if len(folded) == 1:
        return folded[0]
    found = ", ".join(repr(c) for c in columns) or "none"
    raise SourceError(
        f"the query over {mask_url(url)} returns no column {wanted!r} for the email (columns: {found})"
    )


def _spool_query(
    reader: QueryReader,
    preparer: MemberPreparer,
    email_column: str,
    spool: IO[bytes],
    result: RefreshResult,
    report: Progress,
) -> None:
    columns = reader.columns
    email_index = columns.index(email_column)
    pairs = [(name, index) for index, name in enumerate(columns) if index != email_index]
    for rows in reader.batches():
        members: list[Member] = []
        for row in rows:
            result.rows_read += 1
            email = row[email_index]
            if isinstance(email, bytes | bytearray | memoryview):  # a BINARY/VARBINARY/BLOB email column
                try:
                    email = bytes(email).decode("utf-8")
                except UnicodeDecodeError:
                    preparer.rejects.add(result.rows_read, "the email is binary data, not UTF-8 text", row)
                    continue
            member = preparer.prepare(result.rows_read, email, {n: json_value(row[i]) for n, i in pairs}, row)
            if member is not None:
                members.append(member)
        if members:
            pickle.dump(members, spool, protocol=pickle.HIGHEST_PROTOCOL)
        report("Reading the query", result.rows_read, None)


def _unspool(spool: IO[bytes]) -> Iterable[list[Member]]:
    while True:
        try:
            members: list[Member] = pickle.load(spool)
        except EOFError:
            return
        yield from batched(members, WRITE_BATCH)
