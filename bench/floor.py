"""The floor of an export: stream the same member rows from the same database and write the same CSV bytes,
with no sync logic (no hashing, no bookkeeping, no upload). ``python -m bench.floor``.

Reads ``email`` and ``fields`` of a list's subscribed members in id order through SQLAlchemy Core with a
streaming cursor, writes ``email`` and the mapped fields' raw values with :mod:`csv` (CRLF, UTF-8) to one file,
and reports wall and CPU time of that work and the process's peak RSS. The benchmark chooses data whose
formatted values equal their raw text, so the bytes written equal the bytes the export uploaded (without the
per-file header lines); the SHA-256 of the body is reported so the benchmark can check it.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import resource
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floor")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--list", dest="list_name", required=True)
    parser.add_argument("--fields", required=True, help="comma-separated list fields, in mapping order")
    parser.add_argument("--out", type=Path, required=True, help="the CSV file to write")
    parser.add_argument("--report", type=Path, required=True)
    args = parser.parse_args(argv)

    from sqlalchemy import select

    from dotsync.db.engine import make_engine
    from dotsync.db.models import SUBSCRIBED, ListMember, MarketingList

    names = args.fields.split(",")
    engine = make_engine(args.database_url)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    wall0, cpu0 = time.perf_counter(), time.process_time()
    rows_written = 0
    with engine.connect() as conn, args.out.open("wb") as raw:
        list_id = conn.scalar(select(MarketingList.id).where(MarketingList.name == args.list_name))
        result = conn.execution_options(yield_per=5000).execute(
            select(ListMember.email, ListMember.fields)
            .where(ListMember.list_id == list_id, ListMember.state == SUBSCRIBED, ListMember.is_current)
            .order_by(ListMember.id)
        )
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="", write_through=False)
        writer = csv.writer(text, lineterminator="\r\n")
        for email, fields in result:
            writer.writerow([email, *[fields.get(name, "") for name in names]])
            rows_written += 1
        text.flush()
        text.detach()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    engine.dispose()
    digest = hashlib.sha256()
    with args.out.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    size = args.out.stat().st_size
    args.out.unlink()
    args.report.write_text(
        json.dumps(
            {
                "exit_code": 0,
                "wall_s": wall,
                "cpu_s": cpu,
                "rss_before_mb": rss_before,
                "peak_rss_mb": peak,
                "rows": rows_written,
                "bytes": size,
                "body_sha256": digest.hexdigest(),
            }
        ),
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
