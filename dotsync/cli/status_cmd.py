"""`dotsync status` and `dotsync runs`: what operators look at."""

from __future__ import annotations

import click

from dotsync.cli.context import AppContext
from dotsync.cli.options import integration_option, json_option
from dotsync.console import print_json, print_table, stdout
from dotsync.db.engine import session_scope
from dotsync.services import status as svc


@click.command("status")
@json_option
@click.pass_obj
def status(app: AppContext, as_json: bool) -> None:
    """Health per integration: last runs, API calls in the last hour, each connected book's state, problems."""
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
    )


COMMANDS = [status, runs]
