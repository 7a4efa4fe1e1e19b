"""Benchmark: import a generated CSV of N members (email + 5 fields) into a fresh SQLite list.

Run as ``python -m bench.list_import --rows 1000000``. Prints the rows per second of the import through the
service function (CSV reading, normalisation, hashing, batched upserts, one transaction) and the process's
peak RSS, which should stay flat as the file grows (only the set of seen emails grows with it).
"""

from __future__ import annotations

import argparse
import csv
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import func, select

from dotsync.db.engine import make_engine, make_sessionmaker, upgrade
from dotsync.db.models import ListMember
from dotsync.secret import SecretBox
from dotsync.services import lists as svc

CITIES = ("Paris", "London", "Berlin", "Madrid", "Rome", "Oslo", "Lisbon", "Vienna")


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Email", "first_name", "last_name", "city", "score", "signed_up"])
        for i in range(rows):
            writer.writerow(
                [
                    f"Member.{i}@Example{i % 97}.com",
                    f"First{i}",
                    f"Last, {i % 1000}",
                    CITIES[i % len(CITIES)],
                    i % 100,
                    f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}",
                ]
            )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the generated CSV")
    parser.add_argument("--keep", metavar="DIR", type=Path, help="work in DIR and keep the files")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="dotsync-bench-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        csv_path = work / "members.csv"
        started = time.perf_counter()
        write_csv(csv_path, args.rows)
        print(
            f"generated {args.rows:,} rows ({csv_path.stat().st_size / 1e6:.1f} MB) "
            f"in {time.perf_counter() - started:.1f}s; RSS so far {peak_rss_mb():.0f} MB",
            file=sys.stderr,
        )
        engine = make_engine(f"sqlite:///{work / 'bench.db'}")
        upgrade(engine)
        sessions = make_sessionmaker(engine)
        rss_before = peak_rss_mb()

        started = time.perf_counter()
        cpu_started = time.process_time()
        with sessions.begin() as session:
            result = svc.create_list(
                session,
                SecretBox(Fernet.generate_key()),
                name="bench",
                now=datetime.now(UTC),
                csv_path=csv_path,
            )
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started

        with sessions() as session:
            stored = session.scalar(select(func.count()).select_from(ListMember))
        engine.dispose()

    load = result.load
    assert load is not None
    assert stored == load.new == args.rows, (stored, load.new)
    print(
        f"rows: {args.rows:,} imported ({load.new:,} new, {load.invalid} invalid, {load.duplicates} duplicates)"
    )
    print(f"time: {elapsed:.1f}s wall, {cpu:.1f}s CPU")
    print(f"rows/second: {args.rows / elapsed:,.0f}")
    print(f"peak RSS: {peak_rss_mb():.0f} MB (before the import: {rss_before:.0f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
