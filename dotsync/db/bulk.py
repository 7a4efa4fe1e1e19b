"""Dialect-aware bulk helpers over SQLAlchemy Core: batched upserts and batching of streams.

SQLite and PostgreSQL both speak ``INSERT ... ON CONFLICT (...) DO UPDATE``; SQLAlchemy exposes it per
dialect, so one function covers both. MySQL/MariaDB speak ``INSERT ... ON DUPLICATE KEY UPDATE``: the insert
:func:`insert_for` returns there takes the same ``on_conflict_do_update`` / ``on_conflict_do_nothing`` /
``excluded`` calls and renders them that way (see :class:`MySQLInsert` for what differs). Rows are sent in
batches with executemany.

For hot paths over hundreds of thousands of rows, :class:`PreparedMany` compiles a statement once and hands
plain tuples straight to the driver's executemany, and :func:`constant` renders a value that is the same on
every row into the SQL instead of binding (and type-processing) it per row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, Connection, literal, literal_column
from sqlalchemy.dialects import mysql, postgresql, sqlite

T = TypeVar("T")

BATCH_SIZE = 2000


def batched(items: Iterable[T], size: int = BATCH_SIZE) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def insert_for(conn: Connection, table: Any) -> Any:
    """The dialect's INSERT (with ``on_conflict_do_update``/``on_conflict_do_nothing``) for ``table``."""
    return _insert(conn, table)


def constant(conn: Connection, column: ColumnElement[Any], value: Any) -> ColumnElement[Any]:
    """``value`` rendered into the SQL once, as the column's type renders it, instead of bound on every row."""
    rendered = literal(value, column.type).compile(
        dialect=conn.dialect, compile_kwargs={"literal_binds": True}
    )
    return literal_column(str(rendered))


class PreparedMany:
    """A statement compiled once for ``conn``'s dialect and run with the driver's executemany.

    Rows are mappings of bind names to values the driver takes as they are (str, int, None): SQLAlchemy's
    per-row parameter processing is skipped, which is most of the cost of a large executemany.
    """

    def __init__(self, conn: Connection, stmt: Any) -> None:
        self.conn = conn
        compiled = stmt.compile(dialect=conn.dialect)
        self.sql = str(compiled)
        self.order: tuple[str, ...] | None = (
            tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
        )
        self.defaults = _python_defaults(compiled)

    def __call__(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Run the statement for every row; returns the driver's row count (see :func:`execute_many`)."""
        if not rows:
            return 0
        if self.defaults:  # columns the statement does not set, with a Python-side default in the model
            defaults = self.defaults
            rows = [{**defaults, **row} for row in rows]
        if self.order is not None:
            order = self.order
            return execute_many(self.conn, self.sql, [tuple(row[name] for name in order) for row in rows])
        return execute_many(self.conn, self.sql, list(rows))

    def tuples(self, names: tuple[str, ...], rows: Sequence[Sequence[Any]]) -> int:
        """Like calling it with mappings, for rows given as tuples of the values of ``names``: handed to the
        driver as they are when its parameters are positional in that very order (no mapping per row)."""
        if self.order == names and not self.defaults:
            return execute_many(self.conn, self.sql, rows) if rows else 0
        return self([dict(zip(names, row, strict=True)) for row in rows])


def _python_defaults(compiled: Any) -> dict[str, Any]:
    """Values for the binds SQLAlchemy adds for columns a statement leaves to a Python-side default (it fills
    them per row itself, which :class:`PreparedMany` skips). A callable default is called once."""
    defaults: dict[str, Any] = {}
    for columns, attribute in (
        (getattr(compiled, "insert_prefetch", None) or (), "default"),
        (getattr(compiled, "update_prefetch", None) or (), "onupdate"),
    ):
        for column in columns:
            default = getattr(column, attribute, None)
            if default is None:
                continue
            if default.is_scalar:
                defaults[column.key] = default.arg
            elif default.is_callable:
                defaults[column.key] = default.arg(None)
    return defaults


# Rows per multi-row INSERT on MySQL (a few hundred KB per statement, far below max_allowed_packet).
MYSQL_ROWS_PER_INSERT = 500


def execute_many(
    conn: Connection, sql: str, rows: Sequence[Sequence[Any]] | Sequence[Mapping[str, Any]]
) -> int:
    """The driver's executemany of ``sql`` (compiled for ``conn``) over ``rows`` (tuples for a positional
    paramstyle, mappings for a named one); returns the driver's row count (summed over the statements sent).
    For an ``INSERT ... ON CONFLICT DO NOTHING`` on SQLite and PostgreSQL that is the rows inserted; MySQL
    counts ``ON DUPLICATE KEY UPDATE`` by its own rules (an updated row counts 2).

    On MySQL/MariaDB a single-row ``INSERT ... VALUES (...)`` is sent as multi-row INSERTs of
    :data:`MYSQL_ROWS_PER_INSERT` rows. PyMySQL does that itself only when the VALUES tuple holds nothing but
    placeholders; the hot-path statements render their constant columns into it (:func:`constant`), and
    row-by-row they cost one round trip per row (100,000 members: 14 s instead of 4).
    """
    if len(rows) > 1 and conn.dialect.name in ("mysql", "mariadb"):
        parts = _split_values(sql)
        if parts is not None:
            head, row_sql, tail = parts
            positional: Sequence[Sequence[Any]] | None = None
            if not isinstance(rows[0], Mapping):
                positional = cast(Sequence[Sequence[Any]], rows)
            elif not _NAMED_PARAM.search(head + tail):  # pyformat: %(name)s -> %s, in the order they appear
                names = _NAMED_PARAM.findall(row_sql)
                row_sql = _NAMED_PARAM.sub("%s", row_sql)
                positional = [
                    tuple(row[name] for name in names) for row in cast(Sequence[Mapping[str, Any]], rows)
                ]
            if positional is not None:
                written = 0
                for chunk in batched(positional, MYSQL_ROWS_PER_INSERT):
                    statement = head + ", ".join([row_sql] * len(chunk)) + tail
                    written += conn.exec_driver_sql(
                        statement, tuple(value for row in chunk for value in row)
                    ).rowcount
                return written
    return int(conn.exec_driver_sql(sql, list(rows)).rowcount)


_NAMED_PARAM = re.compile(r"(?<!%)%\((\w+)\)s")


def _split_values(sql: str) -> tuple[str, str, str] | None:
    """``INSERT ... VALUES (row) tail`` as (``INSERT ... VALUES ``, ``(row)``, `` tail``); None for anything else."""
    if not sql.lstrip().upper().startswith("INSERT"):
        return None
    start = sql.upper().find(" VALUES (")
    if start < 0:
        return None
    start += len(" VALUES ")
    depth, quote, index = 0, "", start
    while index < len(sql):
        char = sql[index]
        if quote:
            if char == "\\":
                index += 1  # the escaped character
            elif char == quote:
                quote = ""
        elif char in "'\"`":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return sql[:start], sql[start : index + 1], sql[index + 1 :]
        index += 1
    return None


# Rows written in one go past which PostgreSQL's planner statistics are refreshed (see refresh_statistics).
ANALYZE_AFTER_ROWS = 10_000


def refresh_statistics(conn: Connection, *tables: str) -> None:
    """``ANALYZE`` the tables on PostgreSQL after a bulk write (a no-op elsewhere: InnoDB samples its
    statistics itself after large changes).

    Autovacuum updates statistics only some time after a large load; until then the planner believes a
    freshly filled table is tiny, and the batched ``IN`` look-ups that follow (e.g. the contact import reading
    the uploaded contacts back) run as sequential scans: minutes instead of seconds at 100,000 rows.
    """
    if conn.dialect.name == "postgresql":
        for table in tables:
            conn.exec_driver_sql(f"ANALYZE {table}")


class MySQLInsert(mysql.Insert):
    """MySQL/MariaDB's INSERT with the ``ON CONFLICT`` vocabulary of the other dialects.

    ``on_conflict_do_update(set_=...)`` becomes ``ON DUPLICATE KEY UPDATE``, ``excluded`` the proposed row
    (``VALUES(col)`` / the row alias), and ``on_conflict_do_nothing`` a no-op update of the first key column
    (never ``INSERT IGNORE``, which would also turn bad data into warnings). MySQL cannot name the conflict
    target: a conflict on *any* unique key takes the update path, so ``index_elements`` must be the table's
    only unique key that a row can hit; ``where=`` has no equivalent and is refused. The assignments are
    applied in the table's column order, each seeing the ones before it: a ``set_`` value must read only
    ``excluded`` values and columns that are not updated.
    """

    inherit_cache = True

    @property
    def excluded(self) -> Any:
        return self.inserted

    def on_conflict_do_update(
        self,
        constraint: Any = None,
        index_elements: Any = None,
        index_where: Any = None,
        set_: Mapping[Any, Any] | None = None,
        where: Any = None,
    ) -> MySQLInsert:
        if where is not None or index_where is not None:
            raise NotImplementedError("ON DUPLICATE KEY UPDATE has no WHERE")
        if not set_:
            raise ValueError("on_conflict_do_update needs set_")
        return self.on_duplicate_key_update(dict(set_))

    def on_conflict_do_nothing(
        self, constraint: Any = None, index_elements: Any = None, index_where: Any = None
    ) -> MySQLInsert:
        if index_where is not None:
            raise NotImplementedError("ON DUPLICATE KEY UPDATE has no WHERE")
        first = next(iter(index_elements or []), None)
        if first is None:
            raise ValueError("on_conflict_do_nothing needs index_elements on MySQL")
        name = first if isinstance(first, str) else first.name
        return self.on_duplicate_key_update({name: self.table.c[name]})


def _insert(conn: Connection, table: Any) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    if conn.dialect.name in ("mysql", "mariadb"):
        return MySQLInsert(table)
    raise NotImplementedError(f"bulk upsert is not implemented for {conn.dialect.name}")


def upsert(
    conn: Connection,
    table: Any,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: Sequence[str],
    update: Sequence[str] | None = None,
) -> None:
    """Insert rows; on a conflict on ``key`` update the ``update`` columns (default: every other column given).

    ``table`` is a Table or a mapped class's ``__table__``. All rows must have the same keys. With ``update=[]`` conflicting rows are left alone (insert-or-ignore).
    """
    if not rows:
        return
    stmt = _insert(conn, table)
    columns = list(rows[0].keys())
    to_update = [c for c in columns if c not in key] if update is None else list(update)
    if to_update:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key), set_={c: stmt.excluded[c] for c in to_update}
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
    conn.execute(stmt, list(rows))


def insert_ignore(
    conn: Connection, table: Any, rows: Sequence[Mapping[str, Any]], *, key: Sequence[str]
) -> None:
    """Insert rows, skipping those that conflict on ``key``."""
    upsert(conn, table, rows, key=key, update=[])
