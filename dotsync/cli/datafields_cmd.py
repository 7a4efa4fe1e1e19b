"""`dotsync datafields list`: the Dotmailer data fields imported by the `datafield` connector."""

from __future__ import annotations

import click

from dotsync.cli.context import AppContext
from dotsync.cli.options import integration_option, json_option
from dotsync.console import print_json, print_table
from dotsync.db.engine import session_scope
from dotsync.services import datafields as svc


@click.group()
def datafields() -> None:
    """Dotmailer contact data fields (read at most daily by `dotsync integration sync`)."""


@datafields.command("list")
@integration_option
@json_option
@click.pass_obj
def list_(app: AppContext, integration_name: str | None, as_json: bool) -> None:
    """List data fields (of every integration, or --integration)."""
    with session_scope(app.sessions()) as session:
        views = svc.list_datafields(session, integration_name)
    if as_json:
        print_json(views)
        return
    print_table(
        "Data fields",
        ["integration", "name", "type", "visibility", "default"],
        [[v["integration"], v["name"], v["type"], v["visibility"], v["default_value"]] for v in views],
        empty="No data fields yet: import them with `dotsync integration sync`.",
    )
