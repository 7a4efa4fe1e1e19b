"""`dotsync datafields list`: the Dotmailer data fields imported by the `datafield` connector."""

from __future__ import annotations

import click

from dotsync.cli.command import Call, body
from dotsync.cli.options import integration_option
from dotsync.console import print_table
from dotsync.services import datafields as svc


@click.group()
def datafields() -> None:
    """Dotmailer contact data fields (read at most daily by `dotsync integration sync`)."""


@datafields.command("list")
@integration_option
@body(json=True)
def list_(call: Call, integration_name: str | None) -> None:
    """List data fields (of every integration, or --integration)."""
    views = call.transaction(svc.list_datafields, integration_name)
    call.show(views, _print_fields)


def _print_fields(views: list[svc.DataFieldView]) -> None:
    print_table(
        "Data fields",
        ["integration", "name", "type", "visibility", "default"],
        [[v.integration, v.name, v.type, v.visibility, v.default_value] for v in views],
        empty="No data fields yet: import them with `dotsync integration sync`.",
    )
