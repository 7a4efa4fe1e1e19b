"""The command line: click commands only. Each parses, builds collaborators, calls one service, renders.

Exceptions become exit codes in exactly one place, :func:`main`, through :func:`dotsync.errors.exit_code_for`.
"""

from __future__ import annotations

import logging
import sys

import click

from dotsync import __version__
from dotsync.cli.context import AppContext
from dotsync.config import load_settings
from dotsync.console import setup_logging
from dotsync.errors import EXIT_FAILURE, EXIT_USAGE, DotsyncError, exit_code_for

log = logging.getLogger("dotsync")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--database-url",
    metavar="URL",
    help="SQLAlchemy URL of dotsync's database (default: $DOTSYNC_DATABASE_URL, else SQLite in $DOTSYNC_HOME).",
)
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="More log output on stderr: -v each step, -vv debug and HTTP requests.",
)
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr.")
@click.version_option(__version__, prog_name="dotsync")
@click.pass_context
def cli(ctx: click.Context, database_url: str | None, verbose: int, quiet: bool) -> None:
    """dotsync keeps marketing lists in sync with Dotmailer (Dotdigital) address books.

    \b
    Import (Dotmailer -> dotsync):  dotsync integration sync     (cron, every 4 minutes)
    Export (dotsync -> Dotmailer):  dotsync dotmailer export     (cron, every 4 minutes)
    By hand, both:                  dotsync sync [LIST]
    Try it all offline:             dotsync demo

    Exit codes: 0 success, 1 failure, 2 usage or bad input, 3 configuration or credentials,
    75 skipped because another run holds the integration's lock.
    """
    verbosity = -1 if quiet else verbose
    setup_logging(verbosity)
    if isinstance(ctx.obj, AppContext):  # tests and the demo hand in a ready context
        ctx.obj.verbosity = verbosity
        if database_url:
            ctx.obj.settings = load_settings(database_url=database_url, home=ctx.obj.settings.home)
        return
    ctx.obj = AppContext(settings=load_settings(database_url=database_url), verbosity=verbosity)
    ctx.call_on_close(ctx.obj.close)


def _register() -> None:
    from dotsync.cli import db_cmd, integration_cmd

    cli.add_command(db_cmd.db)
    cli.add_command(integration_cmd.integration)
    # Commands built by later pieces register themselves here when present.
    import importlib

    for module_name, attr in (
        ("dotsync.cli.sandbox_cmd", "sandbox"),
        ("dotsync.cli.list_cmd", "list_group"),
        ("dotsync.cli.books_cmd", "books"),
        ("dotsync.cli.campaigns_cmd", "campaigns"),
        ("dotsync.cli.datafields_cmd", "datafields"),
        ("dotsync.cli.connect_cmd", "COMMANDS"),
        ("dotsync.cli.sync_cmd", "COMMANDS"),
        ("dotsync.cli.status_cmd", "COMMANDS"),
        ("dotsync.cli.demo_cmd", "demo"),
    ):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        found = getattr(module, attr)
        for command in found if isinstance(found, list | tuple) else [found]:
            cli.add_command(command)


_register()


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
    return 0


__all__ = ["EXIT_USAGE", "cli", "main", "run"]
