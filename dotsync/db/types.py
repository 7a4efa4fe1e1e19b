"""Column types shared by the models: UTC datetimes that survive SQLite, and the naming convention.

On MySQL/MariaDB, dotsync's tables are created utf8mb4 with the binary collation whatever the database's
default (:func:`_mysql_table_defaults`), so names and emails compare exactly as on PostgreSQL (case- and
accent-sensitive); datetimes keep their microseconds (``DATETIME(6)``), floats are doubles and text is
unbounded (``LONGTEXT``), as on PostgreSQL. These are compile rules for the MySQL dialects only: the DDL on
SQLite and PostgreSQL does not change, and neither do the models or the migrations.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Float, MetaData, Text
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateTable
from sqlalchemy.sql.compiler import DDLCompiler
from sqlalchemy.types import TypeDecorator, TypeEngine

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

MYSQL_CHARSET = "utf8mb4"
MYSQL_COLLATION = "utf8mb4_bin"


def is_mysql(dialect: Dialect) -> bool:
    """MySQL or MariaDB (SQLAlchemy names the dialect after the URL's scheme, not the server)."""
    return dialect.name in ("mysql", "mariadb")


@compiles(Float, "mysql")
@compiles(Float, "mariadb")
def _mysql_double(_type: Float[Any], _compiler: Any, **_kw: Any) -> str:
    """MySQL's FLOAT is single precision (``0.1`` reads back as ``0.10000000149``); PostgreSQL's FLOAT and
    SQLite's REAL are doubles."""
    return "DOUBLE"


@compiles(Text, "mysql")
@compiles(Text, "mariadb")
def _mysql_long_text(_type: Text, _compiler: Any, **_kw: Any) -> str:
    """MySQL's TEXT holds 64 KB; PostgreSQL's is unbounded (a campaign's HTML easily exceeds 64 KB)."""
    return "LONGTEXT"


@compiles(CreateTable, "mysql")
@compiles(CreateTable, "mariadb")
def _mysql_table_defaults(element: CreateTable, compiler: DDLCompiler, **kw: Any) -> str:
    """Every table dotsync creates on MySQL/MariaDB: utf8mb4 (any email or name fits) with the binary
    collation (``Ann@x`` and ``ann@x``, ``josé`` and ``jose`` stay distinct, as on PostgreSQL)."""
    sql = compiler.visit_create_table(element, **kw)
    table = element.element
    if any(table.dialect_options[d].get(o) for d in ("mysql", "mariadb") for o in ("charset", "collate")):
        return sql  # the table says its own
    return f"{sql.rstrip()} DEFAULT CHARSET={MYSQL_CHARSET} COLLATE={MYSQL_COLLATION}\n\n"


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: the same on SQLite (no zone support) and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if is_mysql(dialect):  # plain DATETIME would drop the microseconds
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; pass an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # raw SQLite text, e.g. from a Core query without type info
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
