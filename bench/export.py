"""The benchmark (SPEC §7, issue 13): ``python -m bench --members 100000 [--database sqlite|postgresql|mariadb]``.

Against the sandbox, served from a child process (its time and memory are not dotsync's), through the real CLI,
every dotsync step in a fresh ``python -m bench.phase`` process (so start-up is real and peak RSS is the step's):

1. **list create**: a static list of N members with 5 fields from a generated CSV; beside it the **CSV-load
   floor** (``csv.reader`` + one ``executemany`` into a table with ``list_member``'s indexes);
2. connect it (5 mapped fields); **first export** (``dotmailer export``); beside it the **raw export floor**
   (the same member rows read with the driver's cursor, the same CSV bytes written, checked byte for byte);
3. **settle**: the sandbox applies the uploads; an export settles them; then the **next two cycles**. A cycle is
   what cron runs: ``integration sync`` then ``dotmailer export``, two processes. The API calls of the first
   export, the settle and these two cycles are the whole first sync's;
4. **1% change**: 1% of the members get a new city (``list import``); the next cycle must export exactly them;
5. **unchanged cycle**: with B connected books (the big one and B-1 small ones) and C sent campaigns, a cycle
   with nothing changed: wall time with both processes' start-up, API calls per endpoint;
6. **start-up**: ``dotsync --help`` and ``python -c "import click"``, alternated, medians.

Steps 1-3 and 5 also run, before, in a **reference** world of N/10 members (fresh database and sandbox), so the
ratios between sizes (unchanged export, unchanged cycle, peak RSS) are measured side by side in one invocation.

Results go to ``DIR/results.json`` and ``DIR/results.md`` and, unless ``--no-docs``, replace this run's section
(same database and size) of ``docs/benchmarks.md``. Exit 1 when a budget is missed.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
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
STARTUP_SAMPLES = 7
UNCHANGED_REPEATS = 3
# The 1% cycle's budget (a tenth of the first export's wall) is issue 13's for 1,000,000 members.
INCREMENTAL_JUDGED_FROM = 1_000_000


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


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------- processes


def measure(
    argv: list[str],
    *,
    log_dir: Path,
    name: str,
    env: dict[str, str],
    stdin: str | None = None,
    expect: int = 0,
) -> dict[str, Any]:
    """Run a process; its wall time (start-up included), CPU time and peak RSS from ``wait4``, and the JSON
    report it wrote to ``log_dir/NAME.json`` if any (the command's own times)."""
    out_path, err_path = log_dir / f"{name}.out", log_dir / f"{name}.err"
    report = log_dir / f"{name}.json"
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
    if "wall_s" in result:
        result["startup_s"] = max(0.0, wall - result["wall_s"])
    return result


def startup_figures(env: dict[str, str], samples: int = STARTUP_SAMPLES) -> dict[str, Any]:
    """``dotsync --help`` and ``python -c "import click"``, alternated so both see the same machine; medians."""
    script = Path(sys.executable).parent / "dotsync"
    help_argv = (
        [str(script), "--help"] if script.exists() else [sys.executable, "-m", "dotsync.cli", "--help"]
    )
    click_argv = [sys.executable, "-c", "import click"]
    times: dict[str, list[float]] = {"help": [], "click": []}
    for _ in range(samples):
        for key, argv in (("click", click_argv), ("help", help_argv)):
            started = time.perf_counter()
            subprocess.run(
                argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
            )
            times[key].append(time.perf_counter() - started)
    help_s, click_s = statistics.median(times["help"]), statistics.median(times["click"])
    return {"help_s": help_s, "import_click_s": click_s, "ratio": help_s / click_s, "samples": samples}


# --------------------------------------------------------------------------------------------- one world


class World:
    """One database, one sandbox process, one home: the scenario at one size."""

    def __init__(self, members: int, work: Path, database_url: str, *, books: int, campaigns: int) -> None:
        from cryptography.fernet import Fernet

        self.n = members
        self.work = work
        self.books = books
        self.campaigns = campaigns
        self.database_url = database_url
        self.key = Fernet.generate_key().decode()
        self.log_dir = work / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "DOTSYNC_HOME": str(work / "home")}
        self.phases: dict[str, dict[str, Any]] = {}
        self.steps_rss: dict[str, float] = {}  # every dotsync process, recorded or not
        self.sandbox = SandboxProcess(epoch())

    def close(self) -> None:
        self.sandbox.stop()

    # ---- processes
    def dotsync(
        self, name: str, *command: str, stdin: str | None = None, expect: int = 0, record: bool = True
    ) -> dict[str, Any]:
        argv = [
            sys.executable,
            "-m",
            "bench.phase",
            "--home",
            str(self.work / "home"),
            "--database-url",
            self.database_url,
            f"--secret-key={self.key}",  # a Fernet key may start with "-"
            "--now",
            self.sandbox.now.isoformat(),
            "--report",
            str(self.log_dir / f"{name}.json"),
            "--",
            "-q",
            *command,
        ]
        call_mark = self.sandbox.call_mark()
        export_mark = self._max_export_id()
        result = measure(argv, log_dir=self.log_dir, name=name, env=self.env, stdin=stdin, expect=expect)
        result["api_calls"] = self.sandbox.calls_since(call_mark)
        result["api_calls_total"] = sum(result["api_calls"].values())
        uploads = self._exports_since(export_mark)
        result["uploads"] = len(uploads)
        result["rows_uploaded"] = sum(rows for rows, _size in uploads)
        result["file_bytes"] = [size for _rows, size in uploads]
        self.steps_rss[name] = result["process_peak_rss_mb"]
        say(
            f"{self.n:,} {name}: {result['process_wall_s']:.2f}s wall ({result['wall_s']:.2f}s command), "
            f"{result['cpu_s']:.2f}s CPU, {result['process_peak_rss_mb']:.0f} MB, "
            f"{result['api_calls_total']} calls, {result['rows_uploaded']} rows in {result['uploads']} files"
        )
        if record:
            self.phases[name] = result
        return result

    def cycle(self, name: str) -> dict[str, Any]:
        """One cron cycle: ``integration sync`` then ``dotmailer export``, two processes; recorded as NAME (the
        sums, peak of the two) and NAME_import / NAME_export."""
        parts = [
            self.dotsync(f"{name}_import", "integration", "sync"),
            self.dotsync(f"{name}_export", "dotmailer", "export"),
        ]
        calls: dict[str, int] = {}
        for part in parts:
            for endpoint, count in part["api_calls"].items():
                calls[endpoint] = calls.get(endpoint, 0) + count
        total = {
            key: sum(part[key] for part in parts)
            for key in (
                "process_wall_s",
                "process_cpu_s",
                "wall_s",
                "cpu_s",
                "startup_s",
                "api_calls_total",
                "uploads",
                "rows_uploaded",
            )
        }
        total.update(
            process_peak_rss_mb=max(p["process_peak_rss_mb"] for p in parts),
            api_calls=calls,
            file_bytes=[b for p in parts for b in p["file_bytes"]],
        )
        self.phases[name] = total
        return total

    def floor(self, kind: str, *args: str) -> dict[str, Any]:
        name = f"floor_{kind.replace('-', '_')}"
        argv = [sys.executable, "-m", "bench.floor", kind, "--database-url", self.database_url, *args]
        argv += ["--report", str(self.log_dir / f"{name}.json")]
        result = measure(argv, log_dir=self.log_dir, name=name, env=self.env)
        say(f"{self.n:,} {name}: {result['wall_s']:.2f}s wall, {result['cpu_s']:.2f}s CPU")
        self.phases[name] = result
        return result

    def _engine(self) -> Any:
        from sqlalchemy import create_engine

        return create_engine(self.database_url)

    def _max_export_id(self) -> int:
        from sqlalchemy import inspect, text

        engine = self._engine()
        try:
            if not inspect(engine).has_table("contact_export"):
                return 0
            with engine.connect() as conn:
                return int(conn.scalar(text("SELECT max(id) FROM contact_export")) or 0)
        finally:
            engine.dispose()

    def _exports_since(self, mark: int) -> list[tuple[int, int]]:
        from sqlalchemy import inspect, text

        engine = self._engine()
        try:
            if not inspect(engine).has_table("contact_export"):
                return []
            with engine.connect() as conn:
                rows = conn.execute(
                    text("SELECT row_count, byte_count FROM contact_export WHERE id > :mark ORDER BY id"),
                    {"mark": mark},
                ).all()
            return [(int(r or 0), int(b or 0)) for r, b in rows]
        finally:
            engine.dispose()

    # ---- the scenario
    def run(self, *, full: bool) -> None:
        n, sandbox = self.n, self.sandbox
        sandbox.create_book(BOOK)
        members_csv = self.work / "members.csv"
        started = time.perf_counter()
        write_members(members_csv, range(n))
        say(
            f"{n:,}: generated the members file ({members_csv.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f}s"
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
        if full:
            self.floor("csv-load", "--csv", str(members_csv))
        self.dotsync("first_import", "integration", "sync", record=False)
        maps = [arg for field, df in MAPPING for arg in ("--map", f"{field}={df}")]
        self.dotsync("connect", "connect", LIST, BOOK, *maps, record=False)

        # First export, and beside it the raw floor on the same database, checked to write the same bytes.
        sandbox.advance(4)
        upload_mark = sandbox.upload_mark()
        first = self.dotsync("first_export", "dotmailer", "export")
        if first["rows_uploaded"] != n:
            raise BenchError(f"first export uploaded {first['rows_uploaded']} rows, expected {n}")
        if full:
            uploaded = sandbox.uploads_since(upload_mark)
            fields = ",".join(field for field, _df in MAPPING)
            floor = self.floor(
                "export", "--list", LIST, "--fields", fields, "--out", str(self.work / "floor.csv")
            )
            if floor["body_sha256"] != uploaded["body_sha256"]:
                raise BenchError("the export floor did not write the bytes the export uploaded")
            floor["same_bytes"] = True

        # Settle (the sandbox applies the files, an export settles them), then the next two cycles.
        sandbox.finish_imports()
        sandbox.advance(4)
        self.dotsync("settle", "dotmailer", "export")
        for step in (2, 3):
            sandbox.advance(4)
            self.cycle(f"cycle_{step}")

        if full:
            # 1% change, then the next cycle must export exactly those rows.
            changes_csv = self.work / "changes.csv"
            changed = write_members(changes_csv, range(0, n, 100), changed=True)
            self.dotsync("change_import", "list", "import", LIST, str(changes_csv))
            sandbox.advance(4)
            incremental = self.cycle("incremental")
            incremental["changed_members"] = changed
            if incremental["rows_uploaded"] != changed:
                raise BenchError(
                    f"the 1% cycle uploaded {incremental['rows_uploaded']} rows, expected {changed}"
                )
            sandbox.finish_imports()
            sandbox.advance(4)
            self.dotsync("settle_incremental", "dotmailer", "export")

        # B-1 more connected books (small lists) and C sent campaigns, then converge.
        small_books = []
        for b in range(2, self.books + 1):
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
        if self.campaigns:
            sandbox.send_campaigns(self.campaigns, small_books or [BOOK], sandbox.now)
        for step in range(3):
            sandbox.advance(10 if step == 2 else 4)
            self.dotsync(f"converge_{step + 1}", "sync", record=False)
            sandbox.finish_imports()

        # The unchanged cycle, UNCHANGED_REPEATS times (its figures are medians: a second is noisy).
        for repeat in range(1, UNCHANGED_REPEATS + 1):
            sandbox.advance(4)
            unchanged = self.cycle("unchanged" if repeat == 1 else f"unchanged_{repeat}")
            if unchanged["rows_uploaded"]:
                raise BenchError(f"the unchanged cycle uploaded {unchanged['rows_uploaded']} rows")


# --------------------------------------------------------------------------------------------- budgets


def _budget(value: float | int | None, limit: float | int | str, ok: bool, what: str) -> dict[str, Any]:
    if isinstance(value, float):
        value = round(value, 3)
    return {"value": value, "limit": limit, "ok": bool(ok), "what": what}


def _median(phases: dict[str, dict[str, Any]], name: str, key: str, suffix: str = "") -> float:
    """The median of ``key`` over the repeats of phase ``name`` (``name``, ``name_2``, ...; + ``suffix``)."""
    names = [name] + [f"{name}_{k}" for k in range(2, UNCHANGED_REPEATS + 1)]
    return statistics.median(phases[n + suffix][key] for n in names if n + suffix in phases)


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def _le(value: float | None, limit: float) -> bool:
    return value is not None and value <= limit


def budgets(
    main: World, reference: World, startup: dict[str, Any], database: str
) -> dict[str, dict[str, Any]]:
    """Every figure of issue 13's table against its budget (SPEC §7)."""
    p, r = main.phases, reference.phases
    n, books = main.n, main.books
    first, floor = p["first_export"], p["floor_export"]
    cpu_limit = 5 if database == "sqlite" else 8
    first_sync = sum(p[k]["api_calls_total"] for k in ("first_export", "settle", "cycle_2", "cycle_3"))
    first_sync_limit = 1.25 * n / 1000 + 60
    unchanged = p["unchanged"]
    cycle_wall, cycle_wall_ref = (
        _median(p, "unchanged", "process_wall_s"),
        _median(r, "unchanged", "process_wall_s"),
    )
    cycle_cpu = _median(p, "unchanged", "process_cpu_s")
    export_wall = _median(p, "unchanged", "wall_s", suffix="_export")
    export_wall_ref = _median(r, "unchanged", "wall_s", suffix="_export")
    inc = p["incremental"]
    peak = max(main.steps_rss.values())
    peak_ref = max(reference.steps_rss.values())
    largest = max(first["file_bytes"], default=0)
    ratios = {
        "first_cpu": _ratio(first["cpu_s"], floor["cpu_s"]),
        "inc": _ratio(inc["wall_s"], first["wall_s"]),
        "cycle": _ratio(cycle_wall, cycle_wall_ref),
        "export": _ratio(export_wall, export_wall_ref),
        "create": _ratio(p["list_create"]["cpu_s"], p["floor_csv_load"]["cpu_s"]),
        "rss": _ratio(peak, peak_ref),
    }
    tenth = f"{reference.n:,}"
    return {
        "first_export_cpu_over_raw_floor": _budget(
            ratios["first_cpu"],
            cpu_limit,
            _le(ratios["first_cpu"], cpu_limit),
            "first export CPU (command) / raw export floor CPU",
        ),
        "unchanged_cycle_wall_s": _budget(
            cycle_wall,
            2,
            cycle_wall <= 2,
            f"unchanged cycle: import + export processes, start-up included (median of {UNCHANGED_REPEATS})",
        ),
        "unchanged_cycle_cpu_s": _budget(
            cycle_cpu,
            2,
            cycle_cpu <= 2,
            "CPU of the same two processes, start-up included (median): the wall budget's counterpart, "
            "fair on a loaded machine",
        ),
        "unchanged_cycle_api_calls": _budget(
            unchanged["api_calls_total"],
            5 + 3 * books,
            unchanged["api_calls_total"] <= 5 + 3 * books,
            f"API calls of the unchanged cycle (5 + 3·B, B = {books})",
        ),
        "unchanged_cycle_over_tenth": _budget(
            ratios["cycle"],
            1.5,
            _le(ratios["cycle"], 1.5),
            f"unchanged cycle wall at {n:,} / at {tenth} (start-up included; medians)",
        ),
        "incremental_wall_over_first": _budget(
            ratios["inc"],
            0.1 if n >= INCREMENTAL_JUDGED_FROM else "-",
            _le(ratios["inc"], 0.1) or n < INCREMENTAL_JUDGED_FROM,
            "1% cycle (import + export commands) wall / first export command wall"
            + (
                ""
                if n >= INCREMENTAL_JUDGED_FROM
                else f" (shown; judged from {INCREMENTAL_JUDGED_FROM:,} members, where issue 13 sets it: below, "
                "the cycle's fixed cost outweighs a 1% change)"
            ),
        ),
        "incremental_rows_equal_changes": _budget(
            inc["rows_uploaded"],
            inc["changed_members"],
            inc["rows_uploaded"] == inc["changed_members"],
            "rows the 1% cycle uploaded = members changed",
        ),
        "first_sync_api_calls": _budget(
            first_sync,
            round(first_sync_limit, 1),
            first_sync <= first_sync_limit,
            "API calls of first export + settle + next two cycles (1.25·N/1000 + 60)",
        ),
        "unchanged_export_over_tenth": _budget(
            ratios["export"],
            1.5,
            _le(ratios["export"], 1.5),
            f"unchanged export command wall at {n:,} / at {tenth} (net of start-up; medians)",
        ),
        "list_create_cpu_over_csv_floor": _budget(
            ratios["create"],
            4,
            _le(ratios["create"], 4),
            "list create CPU (command) / CSV-load floor CPU",
        ),
        "peak_rss_mb": _budget(peak, 200, peak < 200, "peak RSS of any dotsync step (MB)"),
        "peak_rss_over_tenth": _budget(
            ratios["rss"], 1.2, _le(ratios["rss"], 1.2), f"peak RSS of any step at {n:,} / at {tenth}"
        ),
        "help_over_import_click": _budget(
            startup["ratio"],
            3,
            startup["ratio"] <= 3,
            "`dotsync --help` wall / `python -c 'import click'` wall (medians)",
        ),
        "largest_file_bytes": _budget(
            largest, MAX_FILE_BYTES, largest <= MAX_FILE_BYTES, "largest uploaded file"
        ),
    }


# --------------------------------------------------------------------------------------------- report

LABELS = {
    "list_create": "list create (CSV load)",
    "floor_csv_load": "CSV-load floor (csv.reader + one executemany)",
    "first_export": "first export",
    "floor_export": "raw export floor (driver cursor, same CSV bytes)",
    "settle": "settle export (uploads finished)",
    "cycle_2": "next cycle (import + export)",
    "cycle_3": "the cycle after",
    "change_import": "1% change (list import)",
    "incremental": "1% cycle (import + export)",
    "settle_incremental": "settle export after the 1%",
    "unchanged": "unchanged cycle (import + export)",
    "unchanged_export": "... its export process",
    "unchanged_2": "unchanged cycle, again",
    "unchanged_3": "unchanged cycle, a third time",
}


def _cell(value: Any, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _row(name: str, phase: dict[str, Any]) -> str:
    files = phase.get("file_bytes") or []
    largest = f"{max(files) / 1e6:.2f}" if files else "-"
    return (
        f"| {name} | {_cell(phase.get('process_wall_s'), '.2f')} | {_cell(phase.get('startup_s'), '.2f')} | "
        f"{phase['wall_s']:.2f} | {phase['cpu_s']:.2f} | {phase['process_peak_rss_mb']:.0f} | "
        f"{phase.get('rows_uploaded', '-')} | {phase.get('uploads', '-')} | {largest} | "
        f"{phase.get('api_calls_total', '-')} |"
    )


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"### {result['database']}, {result['members']:,} members "
        f"(B = {result['books']} books, C = {result['campaigns']} campaigns; reference world {result['reference_members']:,})",
        "",
        f"Run {result['when']} on {result['machine']['platform']}, Python {result['machine']['python']}, "
        f"{result['machine']['cpus']} CPUs; load average {result['load']['before']} before, "
        f"{result['load']['after']} after; {result['elapsed_s'] / 60:.1f} minutes in all."
        + (f" {result['note']}" if result.get("note") else ""),
        "",
        "Process wall includes the interpreter's start-up and imports; command wall and CPU are the command's own "
        "(floors: the timed work only). Peak RSS is the process's.",
        "",
    ]
    header = [
        "| phase | process wall s | start-up s | command wall s | CPU s | peak RSS MB | rows uploaded | files | largest file MB | API calls |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for title, phases in (("main", result["phases"]), ("reference", result["reference_phases"])):
        members = result["members"] if title == "main" else result["reference_members"]
        lines += [f"{members:,} members:", "", *header]
        for key, label in LABELS.items():
            if key in phases:
                lines.append(_row(label, phases[key]))
        lines.append("")
    s = result["startup"]
    lines += [
        f"Start-up: `dotsync --help` {s['help_s']:.3f} s, `python -c 'import click'` {s['import_click_s']:.3f} s "
        f"(medians of {s['samples']}, alternated).",
        "",
        "| budget | measured | limit | met | what |",
        "|---|---:|---:|:-:|---|",
    ]
    for name, budget in result["budgets"].items():
        met = "-" if budget["limit"] == "-" else "yes" if budget["ok"] else "**no**"
        lines.append(f"| {name} | {budget['value']} | {budget['limit']} | {met} | {budget['what']} |")
    calls = result["phases"]["unchanged"]["api_calls"]
    lines += ["", "Unchanged cycle, API calls per endpoint:", ""]
    lines += [f"- `{endpoint}`: {count}" for endpoint, count in sorted(calls.items())]
    return "\n".join(lines) + "\n"


DOCS_HEAD = """# Benchmarks

The last results of `python -m bench` (see README, "Benchmark"), one section per database and list size; each
run replaces its own section. Budgets are SPEC §7's and issue 13's.
"""


def update_docs(path: Path, result: dict[str, Any]) -> None:
    """Replace this run's section (same database and size) of the docs, and rebuild the summary table of every
    section's budgets. Sections written by an older benchmark (no budget table of this one) are dropped."""
    key = f"{result['database']}-{result['members']}"
    text = path.read_text(encoding="utf-8") if path.exists() else DOCS_HEAD
    found = dict(re.findall(r"<!-- bench:(\S+) -->\n(.*?)<!-- /bench -->\n", text, flags=re.S))
    sections = {name: body for name, body in found.items() if _section_result(body) is not None}
    summary = {
        k: v for k, v in result.items() if k not in ("phases", "reference_phases", "steps_peak_rss_mb")
    }
    sections[key] = markdown(result) + f"\n<!-- result {json.dumps(summary)} -->\n"
    head = text.split("<!-- bench:")[0].split("## Summary")[0].rstrip() + "\n"
    order = sorted(sections, key=lambda k: (k.split("-")[0], int(k.split("-")[1])))
    body = [f"<!-- bench:{name} -->\n{sections[name]}<!-- /bench -->\n" for name in order]
    results = [r for r in (_section_result(sections[name]) for name in order) if r is not None]
    path.write_text(head + "\n" + summary_table(results) + "\n" + "\n".join(body), encoding="utf-8")


def _section_result(section: str) -> dict[str, Any] | None:
    found = re.search(r"<!-- result (.*) -->", section)
    if not found:
        return None
    data: dict[str, Any] = json.loads(found.group(1))
    return data if "reference_members" in data else None


def summary_table(results: list[dict[str, Any]]) -> str:
    """One row per budget, one column per run (database, size): measured value, and whether it is met."""
    if not results:
        return ""
    names = list(results[0]["budgets"])
    columns = [f"{r['database']} {r['members']:,}" for r in results]
    lines = [
        "## Summary",
        "",
        "Each figure with its limit; **bold** when the budget is missed. Runs and their conditions below.",
        "",
        "| budget | limit | " + " | ".join(columns) + " |",
        "|---|---:|" + "---:|" * len(columns),
    ]
    for name in names:
        cells = []
        limit = next((r["budgets"][name]["limit"] for r in results if name in r["budgets"]), "-")
        for r in results:
            budget = r["budgets"].get(name)
            if budget is None:
                cells.append("-")
                continue
            cell = str(budget["value"]) if budget["ok"] else f"**{budget['value']}**"
            cells.append(cell if budget["limit"] == limit else f"{cell} (limit {budget['limit']})")
        lines.append(f"| {name} | {limit} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------- main


def _postgres_database(admin_url: str) -> tuple[str, Callable[[], None]]:
    """Create a throwaway database next to ``admin_url``'s; return its URL and a function dropping it."""
    from sqlalchemy import create_engine, make_url, text

    url = make_url(admin_url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    name = f"dotsync_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


def _mysql_database(admin_url: str) -> tuple[str, Callable[[], None]]:
    """Create a throwaway MariaDB/MySQL database on ``admin_url``'s server (utf8mb4, as dotsync's README asks);
    return its URL and a function dropping it."""
    from sqlalchemy import create_engine, make_url, text

    url = make_url(admin_url)
    if url.drivername in ("mysql", "mariadb"):
        url = url.set(drivername="mysql+pymysql")
    name = f"dotsync_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url.set(database=None), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


def _world(args: argparse.Namespace, members: int, work: Path, drops: list[Callable[[], None]]) -> World:
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    if args.database == "sqlite":
        database_url = f"sqlite:///{work / 'dotsync.db'}"
    else:
        if args.database == "mariadb":
            database_url, drop = _mysql_database(args.mysql_url)
        else:
            database_url, drop = _postgres_database(args.postgres_url)
        drops.append(drop)
    return World(members, work, database_url, books=args.books, campaigns=args.campaigns)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--members", type=int, default=100_000, help="list size N (default 100,000)")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "mariadb"), default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="a server to create the throwaway benchmark databases on (dropped afterwards)",
    )
    parser.add_argument(
        "--mysql-url",
        default="mysql+pymysql://root@127.0.0.1:3306",
        help="--database mariadb: a MariaDB/MySQL server to create the throwaway databases on (dropped afterwards)",
    )
    parser.add_argument("--books", type=int, default=5, help="connected books in the unchanged cycle (B)")
    parser.add_argument("--campaigns", type=int, default=50, help="sent campaigns in the unchanged cycle (C)")
    parser.add_argument("--out", type=Path, help="directory for results.json, results.md and the work files")
    parser.add_argument("--keep", action="store_true", help="keep the work files (databases, CSV, logs)")
    parser.add_argument("--no-docs", action="store_true", help="do not update docs/benchmarks.md")
    parser.add_argument("--note", help="a remark recorded with the results (e.g. other work on the machine)")
    args = parser.parse_args(argv)
    if args.members < 100 or args.books < 1 or args.campaigns < 0:
        parser.error("need --members >= 100, --books >= 1, --campaigns >= 0")

    # A SIGTERM (a timeout, a kill) unwinds like an error, so the throwaway databases are still dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    out = args.out or Path(tempfile.mkdtemp(prefix="dotsync-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    load_before = [round(x, 2) for x in os.getloadavg()]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    startup = startup_figures(env)
    say(f"start-up: dotsync --help {startup['help_s']:.3f}s, import click {startup['import_click_s']:.3f}s")
    drops: list[Callable[[], None]] = []
    worlds: list[World] = []
    try:
        reference = _world(args, max(args.members // 10, 10), out / "work-reference", drops)
        worlds.append(reference)
        reference.run(full=False)
        reference.close()
        main_world = _world(args, args.members, out / "work", drops)
        worlds.append(main_world)
        main_world.run(full=True)
    finally:
        for world in worlds:
            world.close()
        for drop in drops:
            drop()
        if not args.keep:
            for world in worlds:
                shutil.rmtree(world.work, ignore_errors=True)
    result = {
        "members": args.members,
        "reference_members": reference.n,
        "database": args.database,
        "books": args.books,
        "campaigns": args.campaigns,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "load": {"before": load_before, "after": [round(x, 2) for x in os.getloadavg()]},
        "elapsed_s": time.perf_counter() - started,
        "note": args.note,
        "startup": startup,
        "budgets": budgets(main_world, reference, startup, args.database),
        "phases": main_world.phases,
        "reference_phases": reference.phases,
        "steps_peak_rss_mb": {"main": main_world.steps_rss, "reference": reference.steps_rss},
    }
    (out / "results.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    table = markdown(result)
    (out / "results.md").write_text(table, encoding="utf-8")
    if not args.no_docs:
        update_docs(DOCS, result)
    print(table)
    print(f"results: {out / 'results.json'}", file=sys.stderr)
    return 0 if all(b["ok"] for b in result["budgets"].values()) else 1
