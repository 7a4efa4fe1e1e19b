"""`dotsync books ...`: Dotmailer address books (list what was imported, create a new one)."""

from __future__ import annotations

import click

from dotsync.cli.command import Call, body
from dotsync.cli.options import integration_option
from dotsync.console import info, print_table
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
@body(json=True)
def list_(call: Call, integration_name: str | None, available: bool) -> None:
    """List address books (of every integration, or --integration)."""
    views = call.transaction(svc.list_books, integration_name, available=available)
    call.show(views, lambda views: _print_books(views, available))


def _print_books(views: list[svc.BookView], available: bool) -> None:
    print_table(
        "Available address books" if available else "Address books",
        ["integration", "id", "name", "visibility", "contacts", "state", "list"],
        [[v.integration, v.id, v.name, v.visibility, v.contacts, v.state, v.list] for v in views],
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
@body(json=True)
def create(call: Call, name: str, integration_name: str | None, visibility: str) -> None:
    """Create an address book NAME in Dotmailer and store it (a name already in use exits 2)."""
    view = call.transaction(svc.create_book, call.app.client_for, integration_name, name, visibility)
    call.show(view, lambda view: info(f"Address book {view.name!r} created in Dotmailer (id {view.id})."))
