"""`dotsync connect`, `dotsync connection show|update`, `dotsync disconnect`."""

from __future__ import annotations

import click

from dotsync.cli.context import AppContext
from dotsync.cli.options import integration_option, json_option
from dotsync.console import info, print_json, print_mapping
from dotsync.db.engine import session_scope
from dotsync.services import connections as svc

_map_option = click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="FIELD=DATAFIELD",
    help="Map a list field to a Dotmailer data field (repeatable); join fields with '+', e.g. first+last=FULLNAME.",
)
_create_option = click.option(
    "--create-datafields", is_flag=True, help="Create mapped data fields that do not exist in Dotmailer yet."
)


@click.command("connect")
@click.argument("list_name", metavar="LIST")
@click.argument("book", metavar="BOOK")
@integration_option
@_map_option
@_create_option
@click.pass_obj
def connect(
    app: AppContext,
    list_name: str,
    book: str,
    integration_name: str | None,
    maps: tuple[str, ...],
    create_datafields: bool,
) -> None:
    """Connect LIST to the address book BOOK (its name or Dotmailer id).

    One list <-> one book. Without --map, list fields named like first/last name map to FIRSTNAME, LASTNAME
    and FULLNAME. The next export uploads the list's subscribed members.
    """
    with session_scope(app.sessions()) as session:
        connected = svc.connect(
            session,
            app.client_for,
            list_name=list_name,
            book_ref=book,
            integration_name=integration_name,
            maps=list(maps),
            create_datafields=create_datafields,
            now=app.clock(),
        )
        mapped = (
            ", ".join(f"{m.list_fields}->{m.data_field_name}" for m in connected.mappings) or "email only"
        )
        info(f"List {list_name!r} connected to address book {connected.name!r} ({mapped}).")


@click.group("connection")
def connection() -> None:
    """Show or change a list's connection to its address book."""


@connection.command("show")
@click.argument("list_name", metavar="LIST")
@json_option
@click.pass_obj
def show(app: AppContext, list_name: str, as_json: bool) -> None:
    """Show LIST's connection: book, mappings, sync status, pending uploads, guard thresholds."""
    with session_scope(app.sessions()) as session:
        view = svc.connection_view(session, svc.get_list(session, list_name))
    if as_json:
        print_json(view)
        return
    mappings = ", ".join(f"{'+'.join(m['fields'])}->{m['data_field']}" for m in view["mappings"]) or "-"
    guard = view["guard"]
    print_mapping(
        f"Connection of {list_name}",
        [
            ("address book", f"{view['address_book']} (id {view['address_book_id']})"),
            ("integration", view["integration"]),
            ("mappings", mappings),
            ("sync status", view["sync_status"]),
            ("error", view["sync_error"]),
            ("held", view["held"]),
            ("last export", view["last_exported_at"]),
            ("pending uploads", view["pending_imports"]),
            ("contacts in book", view["contacts_in_book"]),
            ("members", ", ".join(f"{k}={v}" for k, v in view["members"].items()) or "-"),
            (
                "guard",
                f"remove > {guard['remove_percent']:g}% or > {guard['remove_max']}, update > {guard['update_percent']:g}%",
            ),
        ],
    )


@connection.command("update")
@click.argument("list_name", metavar="LIST")
@_map_option
@_create_option
@click.option(
    "--remove-threshold", type=float, metavar="PCT", help="Hold exports removing more than PCT% (default 20)."
)
@click.option(
    "--remove-max", type=int, metavar="N", help="Hold exports removing more than N contacts (default 1000)."
)
@click.option(
    "--update-threshold", type=float, metavar="PCT", help="Hold exports updating more than PCT% (default 50)."
)
@click.option("--resync", is_flag=True, help="Send every subscribed member again on the next export.")
@click.pass_obj
def update(
    app: AppContext,
    list_name: str,
    maps: tuple[str, ...],
    create_datafields: bool,
    remove_threshold: float | None,
    remove_max: int | None,
    update_threshold: float | None,
    resync: bool,
) -> None:
    """Change LIST's connection: replace its mappings (--map), guard thresholds, or force a full resync."""
    with session_scope(app.sessions()) as session:
        svc.update_connection(
            session,
            app.client_for,
            list_name=list_name,
            maps=list(maps) or None,
            create_datafields=create_datafields,
            remove_percent=remove_threshold,
            remove_max=remove_max,
            update_percent=update_threshold,
            resync=resync,
        )
    info(
        f"Connection of {list_name!r} updated."
        + (" The next export sends every member again." if resync else "")
    )


@click.command("disconnect")
@click.argument("list_name", metavar="LIST")
@click.pass_obj
def disconnect(app: AppContext, list_name: str) -> None:
    """Disconnect LIST from its address book. Contacts stay in the book; history is kept."""
    with session_scope(app.sessions()) as session:
        book = svc.disconnect(session, list_name)
    info(
        f"List {list_name!r} disconnected from address book {book.name!r}; nothing was removed from the book."
    )


COMMANDS = [connect, connection, disconnect]
