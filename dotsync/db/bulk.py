"""Dialect-aware bulk helpers over SQLAlchemy Core: batched upserts and batching of streams.

SQLite and PostgreSQL both speak ``INSERT ... ON CONFLICT (...) DO UPDATE``; SQLAlchemy exposes it per
dialect, so one function covers both. Rows are sent in batches with executemany.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

T = TypeVar("T")

BATCH_SIZE = 2000


def batched(items: Iterable[T], size: int = BATCH_SIZE) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _insert(conn: Connection, table: Any) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
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
