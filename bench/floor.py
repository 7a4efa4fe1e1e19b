"""The raw floors: what the hardware needs for the same bytes, with the database driver and no dotsync code.

``python -m bench.floor export ...``: the **export floor**. The same member rows the export sends (a list's
subscribed, current members, in id order) read with the driver directly (``sqlite3`` cursor, ``psycopg``
server-side cursor, PyMySQL ``SSCursor``; no ORM, no join), and the same CSV bytes written (``csv`` module,
CRLF, UTF-8) to one file. The benchmark's data is chosen so that formatted values equal their raw text, so the
bytes equal those the export uploaded (without the per-file header lines); the SHA-256 of the body is reported
so the benchmark can check it.

``python -m bench.floor csv-load ...``: the **CSV-load floor**. ``csv.reader`` over the same file ``list create``
reads, and one ``executemany`` of the rows (email, fields as JSON, constants for the other required columns)
into a scratch table with ``list_member``'s columns and indexes, committed once; the table is dropped after.

Each reports wall and CPU time of the timed work only (connecting and preparing the scratch table excluded),
and the process's peak RSS, as JSON to ``--report``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import resource
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FLOOR_TABLE = "bench_floor_member"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class Driver:
    """A DB-API connection of the driver itself, from a SQLAlchemy URL (sqlite3, psycopg or PyMySQL)."""

    def __init__(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            import sqlite3

            self.conn: Any = sqlite3.connect(parsed.database or ":memory:")
            self.param = "?"
        elif self.dialect == "postgresql":
            import psycopg

            self.conn = psycopg.connect(
                parsed.set(drivername="postgresql").render_as_string(hide_password=False)
            )
            self.param = "%s"
        elif self.dialect in ("mysql", "mariadb"):
            import pymysql

            self.conn = pymysql.connect(
                host=parsed.host or "127.0.0.1",
                port=parsed.port or 3306,
                user=parsed.username or "root",
                password=parsed.password or "",
                database=parsed.database,
                charset="utf8mb4",
            )
            self.dialect = "mysql"
            self.param = "%s"
        else:
            raise SystemExit(f"no raw floor for {self.dialect}")

    def sql(self, text: str) -> str:
        return text.replace("?", self.param)

    def scalar(self, text: str, *params: Any) -> Any:
        cur = self.conn.cursor()
        cur.execute(self.sql(text), params)
        row = cur.fetchone()
        cur.close()
        return row[0] if row else None

    def stream(self, text: str, *params: Any) -> Iterator[tuple[Any, ...]]:
        if self.dialect == "postgresql":
            cur = self.conn.cursor(name="bench_floor")  # server-side: rows arrive in batches
            cur.itersize = 5000
        elif self.dialect == "mysql":
            import pymysql.cursors

            cur = self.conn.cursor(pymysql.cursors.SSCursor)  # unbuffered: rows stream from the socket
        else:
            cur = self.conn.cursor()
        cur.execute(self.sql(text), params)
        yield from cur
        cur.close()


# --------------------------------------------------------------------------------------------- export floor


def export_floor(args: argparse.Namespace) -> dict[str, Any]:
    names = args.fields.split(",")
    db = Driver(args.database_url)
    rss_before = rss_mb()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    list_id = db.scalar("SELECT id FROM marketing_list WHERE name = ?", args.list_name)
    rows = db.stream(
        "SELECT email, fields FROM list_member WHERE list_id = ? AND state = 'subscribed' AND is_current "
        "ORDER BY id",
        list_id,
    )
    # sqlite3 and PyMySQL give the JSON text; psycopg decodes json columns itself
    decode = db.dialect in ("sqlite", "mysql")
    written = 0
    with args.out.open("wb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        writer = csv.writer(text, lineterminator="\r\n")
        for email, fields in rows:
            values = json.loads(fields) if decode else fields
            writer.writerow([email, *[values.get(name, "") for name in names]])
            written += 1
        text.flush()
        text.detach()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    db.conn.close()
    digest = hashlib.sha256()
    with args.out.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    size = args.out.stat().st_size
    args.out.unlink()
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "rss_before_mb": rss_before,
        "peak_rss_mb": rss_mb(),
        "rows": written,
        "bytes": size,
        "body_sha256": digest.hexdigest(),
    }


# --------------------------------------------------------------------------------------------- CSV-load floor


def _scratch_table(database_url: str) -> tuple[list[str], list[Any]]:
    """Create the scratch table (``list_member``'s columns and indexes, no foreign key) with SQLAlchemy, outside
    the timed work. Returns the columns to insert and the constant value of each column after the first three
    (list_id, email, fields)."""
    from sqlalchemy import (
        JSON,
        Boolean,
        Column,
        DateTime,
        Index,
        Integer,
        MetaData,
        Table,
        create_engine,
        inspect,
    )
    from sqlalchemy.types import BigInteger, Numeric, String, Text

    engine = create_engine(database_url)
    inspector = inspect(engine)
    source = inspector.get_columns("list_member")
    pk = set(inspector.get_pk_constraint("list_member")["constrained_columns"])
    metadata = MetaData()
    columns = []
    for col in source:
        if col["name"] in pk:
            columns.append(Column(col["name"], Integer, primary_key=True, autoincrement=True))
        else:
            columns.append(Column(col["name"], col["type"], nullable=col["nullable"]))
    # On MySQL/MariaDB, the table options dotsync's own tables have (utf8mb4, binary collation)
    table = Table(FLOOR_TABLE, metadata, *columns, mysql_charset="utf8mb4", mysql_collate="utf8mb4_bin")
    for i, index in enumerate(inspector.get_indexes("list_member")):
        Index(f"{FLOOR_TABLE}_ix{i}", *[table.c[c] for c in index["column_names"]], unique=index["unique"])
    for i, unique in enumerate(inspector.get_unique_constraints("list_member")):
        Index(f"{FLOOR_TABLE}_uq{i}", *[table.c[c] for c in unique["column_names"]], unique=True)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    engine.dispose()

    now = datetime.now(UTC).replace(tzinfo=None)
    names, constants = ["list_id", "email", "fields"], []
    for col in source:
        if col["name"] in pk or col["name"] in names or col["nullable"]:
            continue
        kind = col["type"]
        value: Any
        if col["name"] == "state":
            value = "subscribed"
        elif isinstance(kind, Boolean):
            value = True
        elif isinstance(kind, DateTime):
            value = now.isoformat(sep=" ") if engine.dialect.name == "sqlite" else now
        elif isinstance(kind, Integer | BigInteger | Numeric):
            value = 0
        elif isinstance(kind, JSON):
            value = "{}"
        elif isinstance(kind, String | Text):
            value = ""
        else:
            value = ""
        names.append(col["name"])
        constants.append(value)
    return names, constants


def csv_load_floor(args: argparse.Namespace) -> dict[str, Any]:
    names, constants = _scratch_table(args.database_url)
    db = Driver(args.database_url)
    json_cast = "::json" if db.dialect == "postgresql" else ""
    placeholders = ", ".join([db.param, db.param, db.param + json_cast, *[db.param] * len(constants)])
    insert = f"INSERT INTO {FLOOR_TABLE} ({', '.join(names)}) VALUES ({placeholders})"
    list_id = 1
    rss_before = rss_mb()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    with args.csv.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        fields = header[1:]
        rows = (
            (
                list_id,
                values[0].strip().lower(),
                json.dumps(dict(zip(fields, values[1:], strict=True))),
                *constants,
            )
            for values in reader
        )
        cur = db.conn.cursor()
        cur.executemany(insert, rows)
        db.conn.commit()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    count = db.scalar(f"SELECT count(*) FROM {FLOOR_TABLE}")
    cur = db.conn.cursor()
    cur.execute(f"DROP TABLE {FLOOR_TABLE}")
    db.conn.commit()
    db.conn.close()
    return {"wall_s": wall, "cpu_s": cpu, "rss_before_mb": rss_before, "peak_rss_mb": rss_mb(), "rows": count}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="kind", required=True)
    export = sub.add_parser("export", help="the export floor")
    export.add_argument("--database-url", required=True)
    export.add_argument("--list", dest="list_name", required=True)
    export.add_argument("--fields", required=True, help="comma-separated list fields, in mapping order")
    export.add_argument("--out", type=Path, required=True, help="the CSV file to write (deleted after)")
    export.add_argument("--report", type=Path, required=True)
    load = sub.add_parser("csv-load", help="the CSV-load floor")
    load.add_argument("--database-url", required=True)
    load.add_argument("--csv", type=Path, required=True, help="the members file `list create` read")
    load.add_argument("--report", type=Path, required=True)
    args = parser.parse_args(argv)
    result = export_floor(args) if args.kind == "export" else csv_load_floor(args)
    args.report.write_text(json.dumps({"exit_code": 0, **result}), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
