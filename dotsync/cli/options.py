"""Options shared by several commands, defined once."""

from __future__ import annotations

import click

json_option = click.option("--json", "as_json", is_flag=True, help="Print only JSON on stdout.")
integration_option = click.option(
    "--integration",
    "integration_name",
    metavar="NAME",
    help="Integration to use (default: the only one, or every active one for cron commands).",
)
