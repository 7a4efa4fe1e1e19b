"""`dotsync status` and `dotsync runs`: what operators look at."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from dotsync.cli.command import Call, body
from dotsync.cli.options import integration_option
from dotsync.console import print_table, stdout
from dotsync.services import status as svc

if TYPE_CHECKING:
    from dotsync.services.health import HealthReport


@click.command("status")
@click.option(
    "--check",
    is_flag=True,
    help="Monitoring probe: one line per problem, exit 0 when healthy, 1 when not (Nagios, Kubernetes, ...).",
)
@click.option(
    "--max-age",
    type=click.IntRange(min=1),
    default=None,
    metavar="MINUTES",
    help="With --check: a problem when no import or export succeeded for this long (default 30).",
)
@body(json=True)
def status(call: Call, check: bool, max_age: int | None) -> None:
    """Health per integration: last runs, API calls in the last hour, each connected book's state, problems.

    
    --check lists only problems, one per line, and exits 1 if there is any: no successful import or
    export for --max-age minutes, a connected book whose export failed or that is missing in Dotmailer,
    a held mass change, an upload unfinished for over two hours or ended Unknown, credentials refused in
    the last run, a run stopped early because the API budget ran out.
    """
    if max_age is not None and not check:
        raise click.UsageError("--max-age goes with --check")
    if check:
        _check(call, max_age)
        return
    views = call.transaction(svc.status_view, call.app.clock())
    call.show(views, _print_status)


def _print_status(views: list[svc.IntegrationStatus]) -> None:
    if not views:
        stdout.print("No integration yet: create one with `dotsync integration create`.")
    for view in views:
        stdout.print(
            f"[bold]{view.integration}[/] ({'active' if view.active else 'inactive'}), "
            f"{view.api_calls_last_hour} API calls in the last hour"
        )
        _print_rate_limit(view.rate_limit)
        print_table(
            None,
            ["run", "started", "outcome", "API calls", "error"],
            [[k, r.started_at, r.outcome, r.api_calls, r.error] for k, r in view.last_runs.items()],
        )
        print_table(
            "Connected books",
            ["book", "list", "status", "pending", "last export", "members"],
            [
                [
                    b.book,
                    b.list,
                    "held" if b.held else b.sync_status,
                    b.pending_imports,
                    b.last_exported_at,
                    ", ".join(f"{k}={v}" for k, v in b.members.items()),
                ]
                for b in view.books
            ],
        )
        for problem in view.problems:
            stdout.print(f"[red]problem:[/] {problem}")


_SCHEMES = {"tiered": "per-minute tiers (429)", "hourly": "hourly allowance"}


def _print_rate_limit(limit: svc.RateLimitView) -> None:
    if not limit.scheme and not limit.last_hit:
        return
    line = f"rate limits: {_SCHEMES.get(str(limit.scheme), 'not seen yet')}"
    if limit.last_hit:
        line += f"; last hit {limit.last_hit_at:%Y-%m-%d %H:%M}: {limit.last_hit}"
    if limit.resume_at:
        line += f"; no call before {limit.resume_at:%H:%M:%S}"
    stdout.print(line, highlight=False, markup=False)


def _check(call: Call, max_age: int | None) -> None:
    from datetime import timedelta

    from dotsync.services import health

    minutes = max_age or health.DEFAULT_MAX_AGE_MINUTES
    report = call.transaction(health.check_health, call.app.clock(), max_age=timedelta(minutes=minutes))
    call.show(report, _print_health)
    if not report.healthy:
        raise health.UnhealthyError(f"unhealthy: {len(report.problems)} problem(s)")


def _print_health(report: HealthReport) -> None:
    if report.healthy:
        stdout.print(
            f"OK: {report.integrations} active integration(s), {report.books} connected book(s), no problem",
            highlight=False,
        )
        return
    for problem in report.problems:
        stdout.print(f"PROBLEM {problem.line}", highlight=False, markup=False)


@click.command("runs")
@integration_option
@click.option(
    "--limit", default=20, show_default=True, type=click.IntRange(1, 10000), help="How many runs to show."
)
@body(json=True)
def runs(call: Call, integration_name: str | None, limit: int) -> None:
    """Run history, newest first: kind, times, outcome, API calls, errors (and per-step counts with --json)."""
    views = call.transaction(svc.runs_view, integration=integration_name, limit=limit)
    call.show(views, _print_runs)


def _print_runs(views: list[svc.RunView]) -> None:
    print_table(
        "Runs",
        ["id", "kind", "integration", "started", "finished", "outcome", "API calls", "error"],
        [
            [r.id, r.kind, r.integration, r.started_at, r.finished_at, r.outcome, r.api_calls, r.error]
            for r in views
        ],
        empty="No runs yet: import with `dotsync integration sync`, export with `dotsync dotmailer export`.",
    )


COMMANDS = [status, runs]
