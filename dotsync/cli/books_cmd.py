"""`dotsync books ...`: Dotmailer address books (list what was imported, create a new one)."""

from __future__ import annotations

import click

from dotsync.cli.context import AppContext
from dotsync.cli.options import integration_option, json_option
from dotsync.console import info, print_json, print_table
from dotsync.db.engine import session_scope
from dotsync.services import books as svc


@click.group()
def books() -> None:
    """Dotmailer address books, as imported by `dotsync integration sync`."""


@books.command("list")
@integration_option
@click.option(
    "--available",
    is_flag=True,
    help='Only books that can be connected: not connected, not missing, not "All Contacts" or "Test".',
)
@json_option
@click.pass_obj
def list_(app: AppContext, integration_name: str | None, available: bool, as_json: bool) -> None:
    """List address books (of every integration, or --integration)."""
    with session_scope(app.sessions()) as session:
        views = svc.list_books(session, integration_name, available=available)
    if as_json:
        print_json(views)
        return
    print_table(
        "Available address books" if available else "Address books",
        ["integration", "id", "name", "visibility", "contacts", "state", "list"],
        [
            [v["integration"], v["id"], v["name"], v["visibility"], v["contacts"], v["state"], v["list"]]
            for v in views
        ],
        empty=(
            "No address book available to connect: import books with `dotsync integration sync`, "
            "or create one with `dotsync books create NAME`."
            if available
            else "No address books yet: import them with `dotsync integration sync`, "
            "or create one with `dotsync books create NAME`."
        ),
    )


@books.command("create")
@click.argument("name")
@integration_option
@click.option(
    "--visibility",
    type=click.Choice(["private", "public"], case_sensitive=False),
    default="private",
    show_default=True,
    help="Who can see the book in Dotmailer's forms.",
)
@json_option
@click.pass_obj
def create(app: AppContext, name: str, integration_name: str | None, visibility: str, as_json: bool) -> None:
    """Create an address book NAME in Dotmailer and store it (a name already in use exits 2)."""
    with session_scope(app.sessions()) as session:
        view = svc.create_book(session, app.client_for, integration_name, name, visibility)
    if as_json:
        print_json(view)
    else:
        info(f"Address book {view['name']!r} created in Dotmailer (id {view['id']}).")
