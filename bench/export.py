"""The export benchmark (SPEC §7): ``python -m bench --members 1000000 [--database sqlite|postgresql]``.

Against the sandbox, served from a child process (its time and memory are not dotsync's), through the real CLI:

1. a static list of N members with 5 fields is created from a generated CSV and connected (mapped fields);
2. **first export**: ``dotmailer export`` — wall, CPU, peak RSS, files uploaded and their sizes, API calls;
3. **floor**: the same member rows streamed from the same database and the same CSV bytes written, with no
   sync logic (checked byte for byte against what the export uploaded); the export's CPU / the floor's CPU;
4. **settle**: the sandbox applies the uploads, and an export polls them and reads the book's contacts back
   (their Dotmailer ids);
5. **1% change**: 1% of members get a new city through ``list import``; the next cycle must export exactly
   those rows;
6. **unchanged cycle**: with B connected books (the big one plus B-1 small ones) and C campaigns sent, a cycle
   with nothing changed; API calls per endpoint (budget 5 + 3·B) and its time.

Every dotsync step runs in a fresh ``python -m bench.phase`` process, so its peak RSS (``ru_maxrss``) is that
step's own. Results go to ``DIR/results.json`` and ``DIR/results.md`` and, unless ``--no-docs``, replace this
run's section (same database and size) of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.sandbox_proc import PASSWORD, USERNAME, SandboxProcess, epoch

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
CITIES = ("Paris", "London", "Berlin", "Madrid", "Rome", "Oslo", "Lisbon", "Vienna")
LIST = "bench"
BOOK = "Bench"
# list field -> data field, in mapping order (FIRSTNAME/LASTNAME exist in every account; the others are made
# by the sandbox with types String, Numeric, Date).
MAPPING = (
    ("first_name", "FIRSTNAME"),
    ("last_name", "LASTNAME"),
    ("city", "CITY"),
    ("score", "SCORE"),
    ("signed_up", "SIGNEDUP"),
)
MAX_FILE_BYTES = 10 * 1000 * 1000
SMALL_LIST_SIZE = 50
MEGA = 1024 * 1024


class BenchError(Exception):
    pass


# --------------------------------------------------------------------------------------------- data


def member_row(i: int, *, changed: bool = False) -> list[str]:
    """One member: email + 5 fields. Values are already in the form the export sends (an integer score,
    ``YYYY-MM-DDTHH:MM:SS`` dates), so the floor can write the raw values and produce the same bytes."""
    city = f"Moved {i % 50}" if changed else CITIES[i % len(CITIES)]
    return [
        f"member.{i}@example{i % 97}.com",
        f"First{i}",
        f"Last, {i % 1000}",
        city,
        str(i % 100),
        f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}T00:00:00",
    ]


def write_members(path: Path, indexes: range, *, changed: bool = False) -> int:
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Email", *[field for field, _df in MAPPING]])
        for i in indexes:
            writer.writerow(member_row(i, changed=changed))
            count += 1
    return count


# --------------------------------------------------------------------------------------------- runner


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path, database_url: str) -> None:
        from cryptography.fernet import Fernet

        self.args = args
        self.work = work
        self.database_url = database_url
        self.key = Fernet.generate_key().decode()
        self.sandbox = SandboxProcess(epoch())
        self.phases: dict[str, dict[str, Any]] = {}
        self.log_dir = work / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)

    def say(self, message: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    # ---- processes
    def _measure(
        self, name: str, argv: list[str], report: Path, stdin: str | None, expect: int
    ) -> dict[str, Any]:
        out_path, err_path = self.log_dir / f"{name}.out", self.log_dir / f"{name}.err"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "DOTSYNC_HOME": str(self.work / "home")}
        started = time.perf_counter()
        with out_path.open("wb") as out, err_path.open("wb") as err:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=out, stderr=err, cwd=ROOT, env=env)
            assert proc.stdin is not None
            if stdin:
                proc.stdin.write(stdin.encode())
            proc.stdin.close()
            _pid, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        if proc.returncode != expect:
            tail = err_path.read_text(errors="replace")[-3000:]
            raise BenchError(f"{name}: exit {proc.returncode} (expected {expect}):\n{tail}")
        result: dict[str, Any] = json.loads(report.read_text()) if report.exists() else {}
        result.update(
            process_wall_s=wall,
            process_cpu_s=usage.ru_utime + usage.ru_stime,
            process_peak_rss_mb=usage.ru_maxrss / 1024,
        )
        return result

    def dotsync(
        self, name: str, *command: str, stdin: str | None = None, expect: int = 0, record: bool = True
    ) -> dict[str, Any]:
        report = self.log_dir / f"{name}.json"
        argv = [
            sys.executable,
            "-m",
            "bench.phase",
            "--home",
            str(self.work / "home"),
            "--database-url",
            self.database_url,
            "--secret-key",
            self.key,
            "--now",
            self.sandbox.now.isoformat(),
            "--report",
            str(report),
            "--",
            "-q",
            *command,
        ]
        call_mark = self.sandbox.call_mark()
        export_mark = self._max_export_id()
        self.say(f"{name}: dotsync {' '.join(command)}")
        result = self._measure(name, argv, report, stdin, expect)
        result["api_calls"] = self.sandbox.calls_since(call_mark)
        result["api_calls_total"] = sum(result["api_calls"].values())
        uploads = self._exports_since(export_mark)
        result["uploads"] = len(uploads)
        result["rows_uploaded"] = sum(rows for rows, _size in uploads)
        result["file_bytes"] = [size for _rows, size in uploads]
        self.say(
            f"{name}: {result['wall_s']:.2f}s wall, {result['cpu_s']:.2f}s CPU, peak RSS "
            f"{result['process_peak_rss_mb']:.0f} MB, {result['api_calls_total']} API calls, "
            f"{result['rows_uploaded']} rows in {result['uploads']} files"
        )
        if record:
            self.phases[name] = result
        return result

    def _engine(self) -> Any:
        from sqlalchemy import create_engine

        return create_engine(self.database_url)

    def _max_export_id(self) -> int:
        from sqlalchemy import func, inspect, select

        from dotsync.db.models import ContactExport

        engine = self._engine()
        try:
            if not inspect(engine).has_table("contact_export"):
                return 0
            with engine.connect() as conn:
                return int(conn.scalar(select(func.max(ContactExport.id))) or 0)
        finally:
            engine.dispose()

    def _exports_since(self, mark: int) -> list[tuple[int, int]]:
        from sqlalchemy import inspect, select

        from dotsync.db.models import ContactExport

        engine = self._engine()
        try:
            if not inspect(engine).has_table("contact_export"):
                return []
            with engine.connect() as conn:
                rows = conn.execute(
                    select(ContactExport.row_count, ContactExport.byte_count)
                    .where(ContactExport.id > mark)
                    .order_by(ContactExport.id)
                ).all()
            return [(int(r), int(b)) for r, b in rows]
        finally:
            engine.dispose()

    def floor(self) -> dict[str, Any]:
        report = self.log_dir / "floor.json"
        argv = [
            sys.executable,
            "-m",
            "bench.floor",
            "--database-url",
            self.database_url,
            "--list",
            LIST,
            "--fields",
            ",".join(field for field, _df in MAPPING),
            "--out",
            str(self.work / "floor.csv"),
            "--report",
            str(report),
        ]
        self.say("floor: stream the rows, write the CSV")
        result = self._measure("floor", argv, report, None, 0)
        self.say(f"floor: {result['wall_s']:.2f}s wall, {result['cpu_s']:.2f}s CPU")
        self.phases["floor"] = result
        return result

    # ---- the scenario
    def run(self) -> dict[str, Any]:
        n, books, campaigns = self.args.members, self.args.books, self.args.campaigns
        sandbox = self.sandbox
        sandbox.create_book(BOOK)
        members_csv = self.work / "members.csv"
        started = time.perf_counter()
        write_members(members_csv, range(n))
        self.say(
            f"generated {n:,} members ({members_csv.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f}s"
        )

        self.dotsync("db_upgrade", "db", "upgrade", record=False)
        self.dotsync(
            "integration_create",
            "integration",
            "create",
            "--name",
            "bench",
            "--username",
            USERNAME,
            "--password-stdin",
            "--api-url",
            sandbox.url,
            stdin=PASSWORD + "\n",
            record=False,
        )
        self.dotsync("list_create", "list", "create", LIST, "--csv", str(members_csv))
        self.dotsync("first_import", "integration", "sync", record=False)
        maps = [arg for field, df in MAPPING for arg in ("--map", f"{field}={df}")]
        self.dotsync("connect", "connect", LIST, BOOK, *maps, record=False)

        # First export.
        sandbox.advance(4)
        upload_mark = sandbox.upload_mark()
        first = self.dotsync("first_export", "dotmailer", "export")
        uploaded = sandbox.uploads_since(upload_mark)
        first["sandbox_files"] = uploaded["files"]
        if first["rows_uploaded"] != n:
            raise BenchError(f"first export uploaded {first['rows_uploaded']} rows, expected {n}")

        # The floor, on the same database, and the same bytes.
        floor = self.floor()
        if floor["body_sha256"] != uploaded["body_sha256"]:
            raise BenchError("the floor did not write the bytes the export uploaded")
        floor["same_bytes"] = True
        if os.environ.get("BENCH_STOP_AFTER_FLOOR"):  # experiments on the first export only
            raise BenchError(
                f"stopped after the floor: export CPU {first['cpu_s']:.2f}s, floor CPU {floor['cpu_s']:.2f}s"
            )

        # Settle: the sandbox applies the files; a cycle reads the contacts back (their Dotmailer ids).
        sandbox.finish_imports()
        sandbox.advance(4)
        self.dotsync("settle", "dotmailer", "export")
        # The next cycle's import reads them once more: the contact watermark has a 5-minute overlap.
        sandbox.advance(4)
        self.dotsync("settle_cycle", "sync")

        # 1% change, then the next cycle must export exactly those rows.
        changes_csv = self.work / "changes.csv"
        changed = write_members(changes_csv, range(0, n, 100), changed=True)
        self.dotsync("change_import", "list", "import", LIST, str(changes_csv))
        sandbox.advance(4)
        incremental = self.dotsync("incremental", "sync")
        incremental["changed_members"] = changed
        if incremental["rows_uploaded"] != changed:
            raise BenchError(f"the 1% cycle uploaded {incremental['rows_uploaded']} rows, expected {changed}")
        sandbox.finish_imports()
        sandbox.advance(4)
        self.dotsync("settle_incremental", "dotmailer", "export")

        # B-1 more connected books (small lists) and C sent campaigns, then converge.
        small_books = []
        for b in range(2, books + 1):
            name = f"small{b}"
            path = self.work / f"{name}.csv"
            with path.open("w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["Email", "first_name"])
                writer.writerows([f"s{b}.{i}@small.example", f"Small{i}"] for i in range(SMALL_LIST_SIZE))
            book = f"{BOOK} {b}"
            sandbox.create_book(book)
            small_books.append(book)
            self.dotsync(f"create_{name}", "list", "create", name, "--csv", str(path), record=False)
        self.dotsync("books_import", "integration", "sync", "--connector", "address_book", record=False)
        for b, book in enumerate(small_books, start=2):
            self.dotsync(
                f"connect_small{b}",
                "connect",
                f"small{b}",
                book,
                "--map",
                "first_name=FIRSTNAME",
                record=False,
            )
        sandbox.advance(4)
        self.dotsync("small_export", "sync", record=False)
        sandbox.finish_imports()
        if campaigns:
            sandbox.send_campaigns(campaigns, small_books or [BOOK], sandbox.now)
        for step in range(3):
            sandbox.advance(10 if step == 2 else 4)
            self.dotsync(f"converge_{step + 1}", "sync", record=False)
            sandbox.finish_imports()

        # The unchanged cycle.
        sandbox.advance(4)
        unchanged = self.dotsync("unchanged", "sync")
        if unchanged["rows_uploaded"]:
            raise BenchError(f"the unchanged cycle uploaded {unchanged['rows_uploaded']} rows")
        return self.result()

    # ---- results
    def result(self) -> dict[str, Any]:
        a = self.args
        p = self.phases
        first, floor, inc, unchanged = p["first_export"], p["floor"], p["incremental"], p["unchanged"]
        call_budget = 5 + 3 * a.books
        budgets = {
            "first_export_peak_rss_mb": {
                "value": round(first["process_peak_rss_mb"], 1),
                "limit": 300,
                "ok": first["process_peak_rss_mb"] < 300,
            },
            "first_export_cpu_over_floor": {
                "value": round(first["cpu_s"] / floor["cpu_s"], 2) if floor["cpu_s"] else None,
                "limit": 4,
                "ok": bool(floor["cpu_s"]) and first["cpu_s"] / floor["cpu_s"] <= 4,
            },
            "largest_file_bytes": {
                "value": max(first["file_bytes"], default=0),
                "limit": MAX_FILE_BYTES,
                "ok": max(first["file_bytes"], default=0) <= MAX_FILE_BYTES,
            },
            "incremental_rows_equal_changes": {
                "value": inc["rows_uploaded"],
                "limit": inc["changed_members"],
                "ok": inc["rows_uploaded"] == inc["changed_members"],
            },
            "incremental_wall_over_first": {
                "value": round(inc["wall_s"] / first["wall_s"], 3),
                "limit": 0.1,
                "ok": inc["wall_s"] <= 0.1 * first["wall_s"],
            },
            "unchanged_api_calls": {
                "value": unchanged["api_calls_total"],
                "limit": call_budget,
                "ok": unchanged["api_calls_total"] <= call_budget,
            },
            "unchanged_wall_s": {
                "value": round(unchanged["wall_s"], 2),
                "limit": 10,
                "ok": unchanged["wall_s"] < 10,
            },
        }
        return {
            "members": a.members,
            "database": a.database,
            "books": a.books,
            "campaigns": a.campaigns,
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {
                "python": platform.python_version(),
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
            },
            "phases": p,
            "budgets": budgets,
        }


# --------------------------------------------------------------------------------------------- report


def _row(name: str, phase: dict[str, Any]) -> str:
    files = phase.get("file_bytes") or []
    largest = f"{max(files) / 1e6:.2f}" if files else "-"
    return (
        f"| {name} | {phase['wall_s']:.2f} | {phase['cpu_s']:.2f} | {phase['process_peak_rss_mb']:.0f} | "
        f"{phase.get('rows_uploaded', '-')} | {phase.get('uploads', '-')} | {largest} | "
        f"{phase.get('api_calls_total', '-')} |"
    )


def markdown(result: dict[str, Any]) -> str:
    p = result["phases"]
    lines = [
        f"### {result['database']}, {result['members']:,} members "
        f"(B = {result['books']} books, C = {result['campaigns']} campaigns)",
        "",
        f"Run {result['when']} on {result['machine']['platform']}, Python {result['machine']['python']}, "
        f"{result['machine']['cpus']} CPUs. Times are of the command itself (start-up excluded); peak RSS is "
        "the whole dotsync process's.",
        "",
        "| phase | wall s | CPU s | peak RSS MB | rows uploaded | files | largest file MB | API calls |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    labels = {
        "list_create": "list create (CSV load)",
        "first_export": "first export",
        "floor": "floor (same rows, same CSV bytes)",
        "settle": "settle export (contacts read back)",
        "settle_cycle": "next cycle (reads them again: watermark overlap)",
        "change_import": "1% change (list import)",
        "incremental": "1% cycle (import + export)",
        "settle_incremental": "settle export after the 1%",
        "unchanged": "unchanged cycle (import + export)",
    }
    for key, label in labels.items():
        if key in p:
            lines.append(_row(label, p[key]))
    lines += ["", "| budget | measured | limit | met |", "|---|---:|---:|:-:|"]
    for name, budget in result["budgets"].items():
        lines.append(
            f"| {name} | {budget['value']} | {budget['limit']} | {'yes' if budget['ok'] else '**no**'} |"
        )
    calls = p["unchanged"]["api_calls"]
    lines += ["", "Unchanged cycle, API calls per endpoint:", ""]
    lines += [f"- `{endpoint}`: {count}" for endpoint, count in sorted(calls.items())]
    return "\n".join(lines) + "\n"


DOCS_HEAD = """# Benchmarks

The last results of `python -m bench` (see README, "Benchmark"), one section per database and list size; each
run replaces its own section. Budgets are SPEC §7's.
"""


def update_docs(path: Path, result: dict[str, Any]) -> None:
    key = f"{result['database']}-{result['members']}"
    text = path.read_text(encoding="utf-8") if path.exists() else DOCS_HEAD
    sections = dict(re.findall(r"<!-- bench:(\S+) -->\n(.*?)<!-- /bench -->\n", text, flags=re.S))
    summary = {k: v for k, v in result.items() if k != "phases"}
    summary["peak_rss_first_export_mb"] = result["phases"]["first_export"]["process_peak_rss_mb"]
    sections[key] = markdown(result) + f"\n<!-- result {json.dumps(summary)} -->\n"
    head = text.split("<!-- bench:")[0].split("## Memory")[0].rstrip() + "\n"
    body = []
    for name in sorted(sections, key=lambda k: (k.split("-")[0], int(k.split("-")[1]))):
        body.append(f"<!-- bench:{name} -->\n{sections[name]}<!-- /bench -->\n")
    path.write_text(head + "\n" + "\n".join(body) + _flatness(sections), encoding="utf-8")


def _flatness(sections: dict[str, str]) -> str:
    """Peak RSS of the first export at the largest size over that at 100,000, per database."""
    peaks: dict[str, dict[int, float]] = {}
    for text in sections.values():
        found = re.search(r"<!-- result (.*) -->", text)
        if found:
            data = json.loads(found.group(1))
            peaks.setdefault(data["database"], {})[data["members"]] = data["peak_rss_first_export_mb"]
    lines = []
    for database, by_size in sorted(peaks.items()):
        if 100_000 in by_size and max(by_size) > 100_000:
            big = max(by_size)
            ratio = by_size[big] / by_size[100_000]
            lines.append(
                f"- {database}: first-export peak RSS {by_size[big]:.0f} MB at {big:,} members, "
                f"{by_size[100_000]:.0f} MB at 100,000: {ratio:.2f}x (budget 1.5x: {'met' if ratio <= 1.5 else 'not met'})"
            )
    if not lines:
        return ""
    return "\n## Memory flatness\n\n" + "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------- main


def _postgres_database(admin_url: str) -> tuple[str, Any]:
    """Create a throwaway database next to ``admin_url``'s; return its URL and a function dropping it."""
    from sqlalchemy import create_engine, make_url, text

    url = make_url(admin_url)
    name = f"dotsync_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--members", type=int, default=1_000_000, help="list size (default 1,000,000)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="a server to create the throwaway benchmark database on (dropped afterwards)",
    )
    parser.add_argument("--books", type=int, default=5, help="connected books in the unchanged cycle (B)")
    parser.add_argument("--campaigns", type=int, default=50, help="sent campaigns in the unchanged cycle (C)")
    parser.add_argument("--out", type=Path, help="directory for results.json, results.md and the work files")
    parser.add_argument("--keep", action="store_true", help="keep the work files (database, CSV, logs)")
    parser.add_argument("--no-docs", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args(argv)
    if args.members < 100 or args.books < 1 or args.campaigns < 0:
        parser.error("need --members >= 100, --books >= 1, --campaigns >= 0")

    out = args.out or Path(tempfile.mkdtemp(prefix="dotsync-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    work = out / "work"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir()
    drop = None
    if args.database == "sqlite":
        database_url = f"sqlite:///{work / 'dotsync.db'}"
    else:
        database_url, drop = _postgres_database(args.postgres_url)
    bench = Bench(args, work, database_url)
    try:
        result = bench.run()
    finally:
        bench.sandbox.stop()
        if drop is not None:
            drop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    (out / "results.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    table = markdown(result)
    (out / "results.md").write_text(table, encoding="utf-8")
    if not args.no_docs:
        update_docs(DOCS, result)
    print(table)
    print(f"results: {out / 'results.json'}", file=sys.stderr)
    return 0 if all(b["ok"] for b in result["budgets"].values()) else 1
