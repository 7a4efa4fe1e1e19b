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

lock_wait_option = click.option(
    "--wait",
    "lock_wait",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="While a sync of the list's integration is running, wait this long for it to finish (0: do not wait); "
    "still running after that: exit 75, nothing changed.",
)
