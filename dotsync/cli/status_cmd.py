"""`dotsync status` and `dotsync runs`: what operators look at."""

from __future__ import annotations

import click

from dotsync.cli.context import AppContext
from dotsync.cli.options import integration_option, json_option
from dotsync.console import print_json, print_table, stdout
from dotsync.db.engine import session_scope
from dotsync.services import status as svc


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
@json_option
@click.pass_obj
def status(app: AppContext, check: bool, max_age: int | None, as_json: bool) -> None:
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
        _check(app, max_age, as_json)
        return
    with session_scope(app.sessions()) as session:
        views = svc.status_view(session, app.clock())
    if as_json:
        print_json(views)
        return
    if not views:
        stdout.print("No integration yet: create one with `dotsync integration create`.")
    for view in views:
        stdout.print(
            f"[bold]{view['integration']}[/] ({'active' if view['active'] else 'inactive'}), "
            f"{view['api_calls_last_hour']} API calls in the last hour"
        )
        _print_rate_limit(view["rate_limit"])
        print_table(
            None,
            ["run", "started", "outcome", "API calls", "error"],
            [
                [k, r["started_at"], r["outcome"], r["api_calls"], r["error"]]
                for k, r in view["last_runs"].items()
            ],
        )
        print_table(
            "Connected books",
            ["book", "list", "status", "pending", "last export", "members"],
            [
                [
                    b["book"],
                    b["list"],
                    "held" if b["held"] else b["sync_status"],
                    b["pending_imports"],
                    b["last_exported_at"],
                    ", ".join(f"{k}={v}" for k, v in b["members"].items()),
                ]
                for b in view["books"]
            ],
        )
        for problem in view["problems"]:
            stdout.print(f"[red]problem:[/] {problem}")


def _print_rate_limit(limit: dict[str, object]) -> None:
    if not limit["scheme"] and not limit["last_hit"]:
        return
    scheme = {"tiered": "per-minute tiers (429)", "hourly": "hourly allowance"}.get(
        str(limit["scheme"]), "not seen yet"
    )
    line = f"rate limits: {scheme}"
    if limit["last_hit"]:
        line += f"; last hit {limit['last_hit_at']:%Y-%m-%d %H:%M}: {limit['last_hit']}"
    if limit["resume_at"]:
        line += f"; no call before {limit['resume_at']:%H:%M:%S}"
    stdout.print(line, highlight=False, markup=False)


def _check(app: AppContext, max_age: int | None, as_json: bool) -> None:
    from datetime import timedelta

    from dotsync.services import health

    minutes = max_age or health.DEFAULT_MAX_AGE_MINUTES
    with session_scope(app.sessions()) as session:
        report = health.check_health(session, app.clock(), max_age=timedelta(minutes=minutes))
    if as_json:
        print_json(report.as_dict())
    elif report.healthy:
        stdout.print(
            f"OK: {report.integrations} active integration(s), {report.books} connected book(s), no problem",
            highlight=False,
        )
    else:
        for problem in report.problems:
            stdout.print(f"PROBLEM {problem.line}", highlight=False, markup=False)
    if not report.healthy:
        raise health.UnhealthyError(f"unhealthy: {len(report.problems)} problem(s)")


@click.command("runs")
@integration_option
@click.option(
    "--limit", default=20, show_default=True, type=click.IntRange(1, 10000), help="How many runs to show."
)
@json_option
@click.pass_obj
def runs(app: AppContext, integration_name: str | None, limit: int, as_json: bool) -> None:
    """Run history, newest first: kind, times, outcome, API calls, errors (and per-step counts with --json)."""
    with session_scope(app.sessions()) as session:
        views = svc.runs_view(session, integration=integration_name, limit=limit)
    if as_json:
        print_json(views)
        return
    print_table(
        "Runs",
        ["id", "kind", "integration", "started", "finished", "outcome", "API calls", "error"],
        [
            [
                r["id"],
                r["kind"],
                r["integration"],
                r["started_at"],
                r["finished_at"],
                r["outcome"],
                r["api_calls"],
                r["error"],
            ]
            for r in views
        ],
        empty="No runs yet: import with `dotsync integration sync`, export with `dotsync dotmailer export`.",
    )


COMMANDS = [status, runs]
