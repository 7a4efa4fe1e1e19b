"""The command line: click commands only. Each parses, builds collaborators, calls one service, renders.

Exceptions become exit codes in exactly one place, :func:`main`, through :func:`dotsync.errors.exit_code_for`.

Commands are loaded lazily (:mod:`dotsync.cli.lazy`): this module imports click and nothing heavy, so
``dotsync --help`` starts fast, and a command's module (with the database, HTTP and sync code it needs) is
imported only when that command runs. Registering a command is one :class:`Lazy` line in :data:`COMMANDS`.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

import click

from dotsync import __version__
from dotsync.cli.lazy import Lazy, LazyGroup
from dotsync.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, DotsyncError, exit_code_for

if TYPE_CHECKING:
    from dotsync.cli.context import AppContext

log = logging.getLogger("dotsync")

# Every command: name (a space for a sub-group's command), "module:attribute", the line `--help` lists.
COMMANDS = (
    Lazy("db", "dotsync.cli.db_cmd:db", "Manage dotsync's own database."),
    Lazy("integration", "dotsync.cli.integration_cmd:integration", "Dotmailer accounts (API users) that dotsync syncs with."),
    Lazy("integration sync", "dotsync.cli.sync_cmd:integration_sync", "Import from Dotmailer (cron): books, contacts, activity..."),
    Lazy("dotmailer", "dotsync.cli.sync_cmd:dotmailer", "Commands that push to Dotmailer."),
    Lazy("sync", "dotsync.cli.sync_cmd:sync", "Import, then export: everything, or only LIST's address book."),
    Lazy("list", "dotsync.cli.list_cmd:list_group", "Marketing lists: static (CSV, by hand) or a SQL query."),
    Lazy("books", "dotsync.cli.books_cmd:books", "Dotmailer address books: list imported ones, create one."),
    Lazy("connect", "dotsync.cli.connect_cmd:connect", "Connect LIST to an address book BOOK (name or id)."),
    Lazy("connection", "dotsync.cli.connect_cmd:connection", "Show or change a list's connection to its address book."),
    Lazy("disconnect", "dotsync.cli.connect_cmd:disconnect", "Disconnect LIST from its address book."),
    Lazy("campaigns", "dotsync.cli.campaigns_cmd:campaigns", "Campaigns sent to connected books, with statistics."),
    Lazy("datafields", "dotsync.cli.datafields_cmd:datafields", "Dotmailer contact data fields."),
    Lazy("status", "dotsync.cli.status_cmd:status", "Health per integration: last runs, API calls, books, problems."),
    Lazy("runs", "dotsync.cli.status_cmd:runs", "Run history, newest first."),
    Lazy("demo", "dotsync.cli.demo_cmd:demo", "The whole flow against the built-in sandbox, offline."),
    Lazy("sandbox", "dotsync.cli.sandbox_cmd:sandbox", "A fake Dotmailer API for trying dotsync offline."),
    Lazy("alerts", "dotsync.cli.alerts_cmd:alerts", "Alerts to $DOTSYNC_ALERT_WEBHOOK: send a test message."),
    Lazy("explain", "dotsync.cli.explain_cmd:explain", "Everything dotsync knows about one email, in time order."),
)  # fmt: skip


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--database-url",
    metavar="URL",
    help="SQLAlchemy URL of dotsync's database: SQLite, postgresql://... or mysql://... "
    "(default: $DOTSYNC_DATABASE_URL, else SQLite in $DOTSYNC_HOME).",
)
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="More log output on stderr: -v each step, -vv debug and HTTP requests.",
)
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    envvar="DOTSYNC_LOG_FORMAT",
    show_envvar=True,
    help="Logs on stderr as text, or one JSON object per line (journald, Loki, ELK); json logs each step.",
)
@click.version_option(__version__, prog_name="dotsync")
@click.pass_context
def cli(ctx: click.Context, database_url: str | None, verbose: int, quiet: bool, log_format: str) -> None:
    """dotsync keeps marketing lists in sync with Dotmailer (Dotdigital) address books.

    \b
    Import (Dotmailer -> dotsync):  dotsync integration sync     (cron, every 4 minutes)
    Export (dotsync -> Dotmailer):  dotsync dotmailer export     (cron, every 4 minutes)
    By hand, both:                  dotsync sync [LIST]
    Try it all offline:             dotsync demo

    Exit codes: 0 success, 1 failure, 2 usage or bad input, 3 configuration or credentials,
    75 skipped because another run holds the integration's lock.
    """
    # Imported here, not at the top: `dotsync --help` never gets this far, and stays fast.
    from dotsync.cli.context import AppContext
    from dotsync.config import load_settings
    from dotsync.console import setup_logging

    verbosity = -1 if quiet else verbose
    setup_logging(verbosity, log_format=log_format)
    if isinstance(ctx.obj, AppContext):  # tests and the demo hand in a ready context
        ctx.obj.verbosity = verbosity
        if database_url:
            ctx.obj.settings = load_settings(database_url=database_url, home=ctx.obj.settings.home)
        return
    ctx.obj = AppContext(settings=load_settings(database_url=database_url), verbosity=verbosity)
    ctx.call_on_close(ctx.obj.close)


def main(argv: list[str] | None = None, obj: AppContext | None = None) -> None:
    """Entry point: run the CLI and turn every outcome into an exit code (the one translator)."""
    sys.exit(run(argv, obj))


def run(argv: list[str] | None = None, obj: AppContext | None = None) -> int:
    try:
        cli.main(args=argv, obj=obj, standalone_mode=False, prog_name="dotsync")
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return EXIT_FAILURE
    except DotsyncError as exc:
        log.debug("error detail", exc_info=True)
        click.echo(f"Error: {exc.message}", err=True)
        return exit_code_for(exc)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    except Exception as exc:  # unexpected: a bug. Short message; the traceback with -v.
        if logging.getLogger("dotsync").isEnabledFor(logging.INFO):
            log.exception("unexpected error")
        click.echo(f"Error: unexpected {type(exc).__name__}: {exc} (run with -v for the traceback)", err=True)
        return EXIT_FAILURE
    return EXIT_OK


__all__ = ["EXIT_USAGE", "cli", "main", "run"]
