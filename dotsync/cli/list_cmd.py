"""`dotsync list ...`: marketing lists (static or query-backed) and their members' state.

Each command parses its options, calls one function of :mod:`dotsync.services.lists` in one transaction, and
renders the result: results on stdout (only JSON with ``--json``), messages and progress on stderr.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import click

from dotsync.cli.command import Call, body
from dotsync.cli.options import lock_wait_option
from dotsync.console import info, json_text, print_mapping, print_table
from dotsync.services import lists as svc

_csv_path = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)
_out_path = click.Path(dir_okay=False, writable=True, path_type=Path)

email_column_option = click.option(
    "--email-column",
    metavar="COL",
    help='The column holding the email (default: the column named like "email", any case).',
)
encoding_option = click.option(
    "--encoding",
    metavar="ENC",
    help="The CSV file's text encoding (default: UTF-8, with or without BOM), e.g. latin-1 or cp1252.",
)
rejects_option = click.option(
    "--rejects",
    "rejects_path",
    metavar="FILE",
    type=_out_path,
    help="Write the skipped rows (invalid, duplicate, malformed) with line numbers and reasons to this CSV.",
)


def _parse_fields(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}")
        fields[key.strip()] = value
    return fields


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _report_load(result: svc.LoadResult, rejects_path: Path | None) -> None:
    parts = [f"{result.rows_read} read", f"{result.new} new", f"{result.changed} changed"]
    parts.append(f"{result.unchanged} unchanged")
    if isinstance(result, svc.RefreshResult):
        parts += [f"{result.left} left", f"{result.came_back} came back"]
    info("Rows: " + ", ".join(parts) + ".")
    skipped = result.invalid + result.duplicates
    if not skipped:
        return
    info(
        f"Skipped {_plural(result.invalid, 'invalid row')} and {_plural(result.duplicates, 'duplicate')}"
        + (f" (all written to {rejects_path})." if rejects_path else ":")
    )
    if rejects_path:
        return
    for reject in result.rejects:
        info(f"  line {reject.line}: {reject.reason}")
    if skipped > len(result.rejects):
        info(f"  ... and {skipped - len(result.rejects)} more (write them all with --rejects FILE)")


@click.group("list")
def list_group() -> None:
    """Marketing lists: static (CSV files, added by hand) or query-backed (a read-only SQL query)."""


@list_group.command("create")
@click.argument("name")
@click.option(
    "--csv", "csv_path", metavar="FILE", type=_csv_path, help="Load the members from this CSV file."
)
@click.option("--query", metavar="SQL", help="A SELECT whose rows are the members (needs --source).")
@click.option(
    "--source",
    "source_url",
    metavar="URL",
    help="SQLAlchemy URL of the database the query runs on, e.g. sqlite:///crm.db, postgresql://u@host/db, "
    "mysql://u@host/db (needs dotsync[mysql]); stored encrypted, shown masked.",
)
@email_column_option
@encoding_option
@rejects_option
@body(json=True, progress=True)
def create(
    call: Call,
    name: str,
    csv_path: Path | None,
    query: str | None,
    source_url: str | None,
    email_column: str | None,
    encoding: str | None,
    rejects_path: Path | None,
) -> None:
    """Create a list: from a CSV file (--csv), from a query (--query with --source), or empty.

    \b
    The email column is found by name ("email", any case) unless --email-column names it; every other
    column becomes a member field. Invalid emails and duplicates (case variants too; the first wins) are
    skipped and reported. A query runs in a read-only transaction, once now to check it and load the
    members, and again before each export. Nothing is written if the file or the query cannot be used.
    """
    created = call.transaction(
        svc.create_list,
        call.app.box(),
        name=name,
        now=call.app.clock(),
        csv_path=csv_path,
        query=query,
        source_url=source_url,
        email_column=email_column,
        encoding=encoding,
        rejects_path=rejects_path,
        progress=call.progress,
    )
    info(f"List {created.name!r} created ({created.kind}, email column {created.email_column!r}).")
    if created.load is not None:
        _report_load(created.load, rejects_path)
    call.show(created)


@list_group.command("import")
@click.argument("name")
@click.argument("file", type=_csv_path)
@email_column_option
@encoding_option
@rejects_option
@body(json=True, progress=True)
def import_(
    call: Call,
    name: str,
    file: Path,
    email_column: str | None,
    encoding: str | None,
    rejects_path: Path | None,
) -> None:
    """Add or update a static list's members from a CSV file.

    New emails become subscribed members; known members get the file's field values. A member who
    unsubscribed or was removed keeps that state: a re-import never subscribes anyone again. The whole file
    is one transaction: if it cannot be read to the end, nothing changes.
    """
    result = call.transaction(
        svc.import_members,
        name,
        file,
        now=call.app.clock(),
        email_column=email_column,
        encoding=encoding,
        rejects_path=rejects_path,
        progress=call.progress,
    )
    info(f"Imported {file} into list {name!r}.")
    _report_load(result, rejects_path)
    call.show(result)


_ADD_MESSAGES = {
    svc.MemberOutcome.ADDED: "{email} added to list {name!r}.",
    svc.MemberOutcome.UPDATED: "{email}: fields updated in list {name!r}.",
    svc.MemberOutcome.UNCHANGED: "{email} is already a subscribed member of list {name!r}.",
    svc.MemberOutcome.RESUBSCRIBED: "{email} is subscribed to list {name!r} again.",
    svc.MemberOutcome.KEPT_UNSUBSCRIBED: (
        "{email} unsubscribed from list {name!r} earlier and stays unsubscribed "
        "(use --resubscribe if they asked to be subscribed again)."
    ),
}


@list_group.command("add")
@click.argument("name")
@click.argument("email")
@click.option(
    "--field",
    "fields",
    metavar="K=V",
    multiple=True,
    callback=_parse_fields,
    help="A field value for the member (repeatable).",
)
@click.option(
    "--resubscribe",
    is_flag=True,
    help="Subscribe the member again even if they unsubscribed (only when they asked for it).",
)
@body()
def add(call: Call, name: str, email: str, fields: dict[str, str], resubscribe: bool) -> None:
    """Add a member to a list by hand, or update its fields.

    \b
    A new email is added as subscribed. A member that was removed is subscribed again. A member that
    unsubscribed stays unsubscribed (an opt-out is respected) unless --resubscribe is given.
    On a query-backed list only members its query returns can be re-subscribed, and fields come from
    the query.
    """
    change = call.transaction(
        svc.add_member, name, email, now=call.app.clock(), fields=fields, resubscribe=resubscribe
    )
    info(_ADD_MESSAGES[change.outcome].format(email=change.email, name=name))


_REMOVE_MESSAGES = {
    svc.MemberOutcome.REMOVED: "{email} removed from list {name!r}.",
    svc.MemberOutcome.ALREADY: "{email} was already removed from list {name!r}.",
    svc.MemberOutcome.KEPT_UNSUBSCRIBED: "{email} unsubscribed from list {name!r} and stays unsubscribed.",
}


@list_group.command("remove")
@click.argument("name")
@click.argument("email")
@body()
def remove(call: Call, name: str, email: str) -> None:
    """Take a member out of a list (state "removed"; `list add` brings it back).

    The member is kept with its state, so a re-import or the query does not bring it back. A member who
    unsubscribed stays unsubscribed.
    """
    change = call.transaction(svc.remove_member, name, email, now=call.app.clock())
    info(_REMOVE_MESSAGES[change.outcome].format(email=change.email, name=name))


_UNSUBSCRIBE_MESSAGES = {
    svc.MemberOutcome.UNSUBSCRIBED: "{email} unsubscribed from list {name!r}.",
    svc.MemberOutcome.ALREADY: "{email} was already unsubscribed from list {name!r}.",
}


@list_group.command("unsubscribe")
@click.argument("name")
@click.argument("email")
@body()
def unsubscribe(call: Call, name: str, email: str) -> None:
    """Mark a member as unsubscribed (opted out): never exported again unless re-subscribed by hand."""
    change = call.transaction(svc.unsubscribe_member, name, email, now=call.app.clock())
    info(_UNSUBSCRIBE_MESSAGES[change.outcome].format(email=change.email, name=name))


def _book_label(view: svc.ListView) -> str | None:
    book = view.address_book
    if book is None:
        return None
    label = f"{book.name} ({book.integration})"
    if book.missing_since:
        label += f" - DELETED IN DOTMAILER since {book.missing_since:%Y-%m-%d %H:%M}; disconnect or reconnect"
    elif book.sync_error:
        label += f" - {book.sync_error}"
    return label


@list_group.command("ls")
@body(json=True)
def ls(call: Call) -> None:
    """List the marketing lists with their member counts and connected address book."""
    views = call.transaction(svc.list_views, call.app.box())
    call.show(views, _print_lists)


def _print_lists(views: list[svc.ListView]) -> None:
    print_table(
        "Lists",
        ["name", "kind", "subscribed", "unsubscribed", "removed", "address book", "refreshed"],
        [
            [
                v.name,
                v.kind,
                v.members.subscribed,
                v.members.unsubscribed,
                v.members.removed,
                _book_label(v),
                v.refreshed_at,
            ]
            for v in views
        ],
        empty="No lists yet: create one with `dotsync list create NAME --csv FILE` "
        "(or `--query SQL --source URL`).",
    )


@list_group.command("show")
@click.argument("name")
@body(json=True)
def show(call: Call, name: str) -> None:
    """Show a list: kind, source (password masked), email column, fields, counts per state, address book."""
    view = call.transaction(svc.list_view, call.app.box(), name)
    call.show(view, _print_list)


def _print_list(view: svc.ListView) -> None:
    members = view.members
    items: list[tuple[str, object]] = [
        ("kind", view.kind),
        ("source", view.source),
        ("query", view.query),
        ("email column", view.email_column),
        ("fields", ", ".join(view.fields) or None),
        ("subscribed", members.subscribed),
        ("unsubscribed", members.unsubscribed),
        ("removed", members.removed),
    ]
    if view.kind == svc.ListKind.QUERY:
        items += [
            ("left the query", members.left_query),
            ("refreshed", view.refreshed_at),
            ("source error", view.source_error),
        ]
    items += [("address book", _book_label(view)), ("created", view.created_at)]
    print_mapping(f"List {view.name}", items)


@list_group.command("members")
@click.argument("name")
@click.option(
    "--state",
    type=click.Choice(svc.STATE_FILTERS),
    default="subscribed",
    show_default=True,
    help="Which members: current members in one state, or all (also those that left a query's result).",
)
@body(json=True)
def members(call: Call, name: str, state: str) -> None:
    """List a list's members by email (streamed: fine for very large lists).

    \b
    Plain output is tab-separated: email, state, changed at, reason. With --json: an array of objects
    with email, state, reason, changed_at, current and fields.
    """
    # Printed as they are read, inside the transaction that reads them: a huge list is never held in memory.
    call.transaction(
        lambda session: _print_members(svc.iter_members(session, name, state=state), call.as_json)
    )


def _print_members(rows: Iterable[svc.MemberView], as_json: bool) -> None:
    if as_json:
        _echo_json_array(rows)
        return
    click.echo("email\tstate\tchanged_at\treason")
    for member in rows:
        changed = member.changed_at.isoformat() if member.changed_at is not None else ""
        click.echo(f"{member.email}\t{member.state}\t{changed}\t{member.reason or ''}")


def _echo_json_array(items: Iterable[svc.MemberView]) -> None:
    """A JSON array written item by item, one object a line, so a huge list is never built in memory."""
    first = True
    click.echo("[", nl=False)
    for item in items:
        click.echo(("\n  " if first else ",\n  ") + json_text(item), nl=False)
        first = False
    click.echo("]" if first else "\n]")


@list_group.command("delete")
@click.argument("name")
@click.option(
    "--force", is_flag=True, help="Delete even while connected to an address book (disconnects it)."
)
@lock_wait_option
@body()
def delete(call: Call, name: str, force: bool, lock_wait: float) -> None:
    """Delete a list and its members. Refused while the list is connected to an address book, unless --force
    (which first waits for a running sync of the book's integration to finish, see --wait)."""
    book = call.list_change(name, "list delete", force, lock_wait, svc.delete_list, name, force=force)
    info(f"List {name!r} deleted" + (f" (disconnected from address book {book!r})." if book else "."))
