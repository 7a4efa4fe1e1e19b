"""`dotsync db ...`: schema migrations."""

from __future__ import annotations

import click

from dotsync.cli.command import Call, body
from dotsync.console import info
from dotsync.db.engine import current_revision, head_revision, upgrade


@click.group()
def db() -> None:
    """Manage dotsync's own database."""


@db.command("upgrade")
@body()
def db_upgrade(call: Call) -> None:
    """Migrate the database to the current schema (an empty database is also migrated on first use)."""
    engine = call.app.engine(check_schema=False)
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    if before == after:
        info(f"Database already at the current schema ({after}).")
    else:
        info(f"Database migrated from {before or 'empty'} to {after}.")


@db.command("status")
@body()
def db_status(call: Call) -> None:
    """Show the database's schema revision and the code's."""
    engine = call.app.engine(check_schema=False)
    click.echo(f"database: {current_revision(engine) or 'empty'}\ncode:     {head_revision(engine)}")
