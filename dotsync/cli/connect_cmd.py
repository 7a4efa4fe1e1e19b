"""`dotsync connect`, `dotsync connection show|update`, `dotsync disconnect`."""

from __future__ import annotations

import click

from dotsync.cli.command import Call, body
from dotsync.cli.options import integration_option, lock_wait_option
from dotsync.console import info, print_mapping
from dotsync.services import connections as svc

_map_option = click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="FIELD=DATAFIELD",
    help="Map a list field to a Dotmailer data field (repeatable); join fields with '+', e.g. first+last=FULLNAME.",
)
_two_way_option = click.option(
    "--two-way",
    "two_way",
    multiple=True,
    metavar="DATAFIELD",
    help="Let changes of this mapped data field made in Dotmailer flow back into the list (repeatable). Only for "
    "a data field mapped from one list field of a static list.",
)
_create_option = click.option(
    "--create-datafields", is_flag=True, help="Create mapped data fields that do not exist in Dotmailer yet."
)


@click.command("connect")
@click.argument("list_name", metavar="LIST")
@click.argument("book", metavar="BOOK")
@integration_option
@_map_option
@_two_way_option
@click.option(
    "--import-new-contacts",
    is_flag=True,
    help="Contacts that join BOOK in Dotmailer become subscribed members of LIST (static lists only); "
    "removing them from the list then removes them from the book.",
)
@_create_option
@body()
def connect(
    call: Call,
    list_name: str,
    book: str,
    integration_name: str | None,
    maps: tuple[str, ...],
    two_way: tuple[str, ...],
    import_new_contacts: bool,
    create_datafields: bool,
) -> None:
    """Connect LIST to the address book BOOK (its name or Dotmailer id).

    One list <-> one book. Without --map, list fields named like first/last name map to FIRSTNAME, LASTNAME
    and FULLNAME. The next export uploads the list's subscribed members.

    Mappings are one-way (list -> Dotmailer) unless named with --two-way: then a value changed in Dotmailer is
    copied into the member's field on the next import (a member also changed locally since its last export
    keeps its local value, which is exported). With --import-new-contacts, reachable contacts (Subscribed,
    SoftBounced, PendingOptIn) added to BOOK in Dotmailer become subscribed members with their mapped fields;
    from then on the list owns them: removing one from the list removes it from the book.
    """
    connected = call.transaction(
        svc.connect,
        call.app.client_for,
        list_name=list_name,
        book_ref=book,
        integration_name=integration_name,
        maps=list(maps),
        create_datafields=create_datafields,
        now=call.app.clock(),
        two_way=list(two_way),
        import_new_contacts=import_new_contacts,
    )
    mapped = ", ".join(_mapping(m, directions=False) for m in connected.mappings) or "email only"
    extra = "; contacts new to the book join the list" if connected.import_new_contacts else ""
    info(f"List {list_name!r} connected to address book {connected.address_book!r} ({mapped}{extra}).")


def _mapping(mapping: svc.MappingView, *, directions: bool) -> str:
    """``first+last->FULLNAME``; ``<->`` when two-way; with ``directions``, the direction spelled out too."""
    arrow = "<->" if mapping.two_way else "->"
    text = f"{'+'.join(mapping.fields)}{arrow}{mapping.data_field}"
    return f"{text} ({mapping.direction})" if directions else text


@click.group("connection")
def connection() -> None:
    """Show or change a list's connection to its address book."""


@connection.command("show")
@click.argument("list_name", metavar="LIST")
@body(json=True)
def show(call: Call, list_name: str) -> None:
    """Show LIST's connection: book, mappings and their direction, whether contacts new to the book are
    imported, sync status, pending uploads, guard thresholds."""
    view = call.transaction(svc.show_connection, list_name)
    call.show(view, _print_connection)


def _print_connection(view: svc.ConnectionView) -> None:
    guard = view.guard
    print_mapping(
        f"Connection of {view.list}",
        [
            ("address book", f"{view.address_book} (id {view.address_book_id})"),
            ("integration", view.integration),
            ("mappings", ", ".join(_mapping(m, directions=True) for m in view.mappings) or "-"),
            ("import new contacts", "yes" if view.import_new_contacts else "no"),
            ("sync status", view.sync_status),
            ("error", view.sync_error),
            ("held", view.held),
            ("last export", view.last_exported_at),
            ("pending uploads", view.pending_imports),
            ("contacts in book", view.contacts_in_book),
            ("members", ", ".join(f"{k}={v}" for k, v in view.members.items()) or "-"),
            (
                "guard",
                f"remove > {guard.remove_percent:g}% or > {guard.remove_max}, update > {guard.update_percent:g}%",
            ),
        ],
    )


@connection.command("update")
@click.argument("list_name", metavar="LIST")
@_map_option
@_two_way_option
@click.option(
    "--one-way",
    "one_way",
    multiple=True,
    metavar="DATAFIELD",
    help="Make this mapped data field one-way again: list -> Dotmailer only (repeatable).",
)
@click.option(
    "--import-new-contacts/--no-import-new-contacts",
    default=None,
    help="Whether contacts that join the book in Dotmailer become subscribed members of LIST (static lists "
    "only); members imported earlier stay members.",
)
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
@lock_wait_option
@body()
def update(
    call: Call,
    list_name: str,
    maps: tuple[str, ...],
    two_way: tuple[str, ...],
    one_way: tuple[str, ...],
    import_new_contacts: bool | None,
    create_datafields: bool,
    remove_threshold: float | None,
    remove_max: int | None,
    update_threshold: float | None,
    resync: bool,
    lock_wait: float,
) -> None:
    """Change LIST's connection: replace its mappings (--map), their direction (--two-way, --one-way), the
    import of contacts new to the book, guard thresholds, or force a full resync.

    Turning --two-way or --import-new-contacts on makes the next import read the whole book once, so contacts
    read before are looked at too. --resync waits for a running sync of the integration (see --wait)."""
    call.list_change(
        list_name,
        "connection update",
        resync,
        lock_wait,
        svc.update_connection,
        call.app.client_for,
        list_name=list_name,
        maps=list(maps) or None,
        create_datafields=create_datafields,
        remove_percent=remove_threshold,
        remove_max=remove_max,
        update_percent=update_threshold,
        resync=resync,
        two_way=list(two_way),
        one_way=list(one_way),
        import_new_contacts=import_new_contacts,
    )
    info(
        f"Connection of {list_name!r} updated."
        + (" The next export sends every member again." if resync else "")
    )


@click.command("disconnect")
@click.argument("list_name", metavar="LIST")
@lock_wait_option
@body()
def disconnect(call: Call, list_name: str, lock_wait: float) -> None:
    """Disconnect LIST from its address book. Contacts stay in the book; history is kept.

    Waits for a running sync of the book's integration to finish first (see --wait)."""
    book = call.list_change(list_name, "disconnect", True, lock_wait, svc.disconnect, list_name)
    info(f"List {list_name!r} disconnected from address book {book!r}; nothing was removed from the book.")


COMMANDS = [connect, connection, disconnect]
