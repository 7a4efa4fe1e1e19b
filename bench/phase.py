"""Run one dotsync command in this (fresh) process and report what it cost: ``python -m bench.phase``.

The command goes through the real CLI (:func:`dotsync.cli.run`) with a context whose clock is the benchmark's
(the same time as the sandbox's, as in the e2e world). Wall and CPU time are taken around the command itself
(interpreter start-up and imports excluded: the command's module, which the CLI imports lazily when it resolves
the command, is imported before the clock starts, as an eager CLI would at start-up; whatever the command body
imports itself stays counted); peak RSS is the whole process's ``ru_maxrss`` (imports included),
so nothing of the sandbox or of the benchmark's parent process is counted.

Usage: ``python -m bench.phase --home DIR --database-url URL --now ISO --report FILE -- <dotsync args>``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from datetime import datetime
from pathlib import Path


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def preload(command: list[str]) -> None:
    """Resolve ``command`` through the CLI's lazy groups, which imports the modules of the command (start-up
    work, counted in the process's start-up, not in the command's time)."""
    import click

    from dotsync.cli import cli

    group: click.Command = cli
    for token in command:
        if token.startswith("-"):
            continue
        if not isinstance(group, click.Group):
            break
        found = group.get_command(click.Context(group), token)
        if found is None:
            break
        group = found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.phase")
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--secret-key", required=True)
    parser.add_argument("--now", required=True, help="the run's clock (ISO 8601, aware)")
    parser.add_argument("--report", type=Path, required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command

    from dotsync.cli import run
    from dotsync.cli.context import AppContext
    from dotsync.config import Settings

    cache_kib = os.environ.get("BENCH_SQLITE_CACHE_KIB")  # an experiment: a larger SQLite page cache
    if cache_kib:
        from dotsync.db import engine as engine_module

        pragmas = engine_module._sqlite_pragmas

        def with_cache(dbapi_connection: object, record: object) -> None:
            pragmas(dbapi_connection, record)
            dbapi_connection.execute(f"PRAGMA cache_size=-{int(cache_kib)}")  # type: ignore[attr-defined]

        engine_module._sqlite_pragmas = with_cache  # type: ignore[assignment]

    preload(command)
    now = datetime.fromisoformat(args.now)
    settings = Settings(home=args.home, database_url=args.database_url, secret_key=args.secret_key)
    app = AppContext(settings=settings, clock=lambda: now)
    app.sleep = lambda _s: None
    rss_before = rss_mb()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    profile_dir = os.environ.get("BENCH_PROFILE")  # a directory: write a cProfile of each phase there
    try:
        if profile_dir:
            import cProfile

            profiler = cProfile.Profile()
            code = profiler.runcall(run, command, obj=app)
            profiler.dump_stats(Path(profile_dir) / f"{args.report.stem}.prof")
        else:
            code = run(command, obj=app)
    finally:
        app.close()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    sys.stdout.flush()
    args.report.write_text(
        json.dumps(
            {
                "exit_code": code,
                "wall_s": wall,
                "cpu_s": cpu,
                "rss_before_mb": rss_before,
                "peak_rss_mb": rss_mb(),
            }
        ),
        encoding="utf-8",
    )
    return code


if __name__ == "__main__":
    raise SystemExit(main())
