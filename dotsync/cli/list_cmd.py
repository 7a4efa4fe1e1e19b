"""`dotsync list ...`: marketing lists (static or query-backed) and their members' state.

Each command parses its options, calls one function of :mod:`dotsync.services.lists` in one transaction, and
renders the result: results on stdout (only JSON with ``--json``), messages and progress on stderr.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from dotsync.cli.context import AppContext
from dotsync.cli.options import json_option, lock_wait_option
from dotsync.console import ProgressReporter, info, print_json, print_mapping, print_table, progress_enabled
from dotsync.db.engine import session_scope
from dotsync.services import lists as svc
from dotsync.services.locking import LockWait, list_change

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


def _reporter(app: AppContext) -> ProgressReporter:
    return ProgressReporter(progress_enabled(app.verbosity))


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _report_load(result: svc.LoadResult, rejects_path: Path | None) -> None:
    data = result.as_dict()
    parts = [f"{result.rows_read} read", f"{result.new} new", f"{result.changed} changed"]
    parts.append(f"{result.unchanged} unchanged")
    for key in ("left", "came_back"):
        if key in data:
            parts.append(f"{data[key]} {key.replace('_', ' ')}")
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
@json_option
@click.pass_obj
def create(
    app: AppContext,
    name: str,
    csv_path: Path | None,
    query: str | None,
    source_url: str | None,
    email_column: str | None,
    encoding: str | None,
    rejects_path: Path | None,
    as_json: bool,
) -> None:
    """Create a list: from a CSV file (--csv), from a query (--query with --source), or empty.

    \b
    The email column is found by name ("email", any case) unless --email-column names it; every other
    column becomes a member field. Invalid emails and duplicates (case variants too; the first wins) are
    skipped and reported. A query runs in a read-only transaction, once now to check it and load the
    members, and again before each export. Nothing is written if the file or the query cannot be used.
    """
    reporter = _reporter(app)
    with reporter.running(), session_scope(app.sessions()) as session:
        created = svc.create_list(
            session,
            app.box(),
            name=name,
            now=app.clock(),
            csv_path=csv_path,
            query=query,
            source_url=source_url,
            email_column=email_column,
            encoding=encoding,
            rejects_path=rejects_path,
            progress=reporter,
        )
    info(f"List {created.name!r} created ({created.kind}, email column {created.email_column!r}).")
    if created.load is not None:
        _report_load(created.load, rejects_path)
    if as_json:
        print_json(
            {
                "name": created.name,
                "kind": created.kind,
                "email_column": created.email_column,
                "load": created.load.as_dict() if created.load else None,
            }
        )


@list_group.command("import")
@click.argument("name")
@click.argument("file", type=_csv_path)
@email_column_option
@encoding_option
@rejects_option
@json_option
@click.pass_obj
def import_(
    app: AppContext,
    name: str,
    file: Path,
    email_column: str | None,
    encoding: str | None,
    rejects_path: Path | None,
    as_json: bool,
) -> None:
    """Add or update a static list's members from a CSV file.

    New emails become subscribed members; known members get the file's field values. A member who
    unsubscribed or was removed keeps that state: a re-import never subscribes anyone again. The whole file
    is one transaction: if it cannot be read to the end, nothing changes.
    """
    reporter = _reporter(app)
    with reporter.running(), session_scope(app.sessions()) as session:
        result = svc.import_members(
            session,
            name,
            file,
            now=app.clock(),
            email_column=email_column,
            encoding=encoding,
            rejects_path=rejects_path,
            progress=reporter,
        )
    info(f"Imported {file} into list {name!r}.")
    _report_load(result, rejects_path)
    if as_json:
        print_json(result.as_dict())


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
@click.pass_obj
def add(app: AppContext, name: str, email: str, fields: dict[str, str], resubscribe: bool) -> None:
    """Add a member to a list by hand, or update its fields.

    \b
    A new email is added as subscribed. A member that was removed is subscribed again. A member that
    unsubscribed stays unsubscribed (an opt-out is respected) unless --resubscribe is given.
    On a query-backed list only members its query returns can be re-subscribed, and fields come from
    the query.
    """
    with session_scope(app.sessions()) as session:
        change = svc.add_member(session, name, email, now=app.clock(), fields=fields, resubscribe=resubscribe)
    info(_ADD_MESSAGES[change.outcome].format(email=change.email, name=name))


@list_group.command("remove")
@click.argument("name")
@click.argument("email")
@click.pass_obj
def remove(app: AppContext, name: str, email: str) -> None:
    """Take a member out of a list (state "removed"; `list add` brings it back).

    The member is kept with its state, so a re-import or the query does not bring it back. A member who
    unsubscribed stays unsubscribed.
    """
    with session_scope(app.sessions()) as session:
        change = svc.remove_member(session, name, email, now=app.clock())
    messages = {
        svc.MemberOutcome.REMOVED: f"{change.email} removed from list {name!r}.",
        svc.MemberOutcome.ALREADY: f"{change.email} was already removed from list {name!r}.",
        svc.MemberOutcome.KEPT_UNSUBSCRIBED: f"{change.email} unsubscribed from list {name!r} and stays unsubscribed.",
    }
    info(messages[change.outcome])


@list_group.command("unsubscribe")
@click.argument("name")
@click.argument("email")
@click.pass_obj
def unsubscribe(app: AppContext, name: str, email: str) -> None:
    """Mark a member as unsubscribed (opted out): never exported again unless re-subscribed by hand."""
    with session_scope(app.sessions()) as session:
        change = svc.unsubscribe_member(session, name, email, now=app.clock())
    if change.outcome == svc.MemberOutcome.ALREADY:
        info(f"{change.email} was already unsubscribed from list {name!r}.")
    else:
        info(f"{change.email} unsubscribed from list {name!r}.")


def _book_label(view: dict[str, Any]) -> str | None:
    book = view["address_book"]
    if book is None:
        return None
    label = f"{book['name']} ({book['integration']})"
    if book.get("missing_since"):
        label += (
            f" - DELETED IN DOTMAILER since {book['missing_since']:%Y-%m-%d %H:%M}; disconnect or reconnect"
        )
    elif book.get("sync_error"):
        label += f" - {book['sync_error']}"
    return label


@list_group.command("ls")
@json_option
@click.pass_obj
def ls(app: AppContext, as_json: bool) -> None:
    """List the marketing lists with their member counts and connected address book."""
    with session_scope(app.sessions()) as session:
        views = svc.list_views(session, app.box())
    if as_json:
        print_json(views)
        return
    print_table(
        "Lists",
        ["name", "kind", "subscribed", "unsubscribed", "removed", "address book", "refreshed"],
        [
            [
                v["name"],
                v["kind"],
                v["members"]["subscribed"],
                v["members"]["unsubscribed"],
                v["members"]["removed"],
                _book_label(v),
                v["refreshed_at"],
            ]
            for v in views
        ],
        empty="No lists yet: create one with `dotsync list create NAME --csv FILE` "
        "(or `--query SQL --source URL`).",
    )


@list_group.command("show")
@click.argument("name")
@json_option
@click.pass_obj
def show(app: AppContext, name: str, as_json: bool) -> None:
    """Show a list: kind, source (password masked), email column, fields, counts per state, address book."""
    with session_scope(app.sessions()) as session:
        view = svc.list_view(session, app.box(), name)
    if as_json:
        print_json(view)
        return
    members = view["members"]
    items: list[tuple[str, Any]] = [
        ("kind", view["kind"]),
        ("source", view["source"]),
        ("query", view["query"]),
        ("email column", view["email_column"]),
        ("fields", ", ".join(view["fields"]) or None),
        ("subscribed", members["subscribed"]),
        ("unsubscribed", members["unsubscribed"]),
        ("removed", members["removed"]),
    ]
    if view["kind"] == "query":
        items += [
            ("left the query", members["left_query"]),
            ("refreshed", view["refreshed_at"]),
            ("source error", view["source_error"]),
        ]
    items += [("address book", _book_label(view)), ("created", view["created_at"])]
    print_mapping(f"List {view['name']}", items)


@list_group.command("members")
@click.argument("name")
@click.option(
    "--state",
    type=click.Choice(svc.STATE_FILTERS),
    default="subscribed",
    show_default=True,
    help="Which members: current members in one state, or all (also those that left a query's result).",
)
@json_option
@click.pass_obj
def members(app: AppContext, name: str, state: str, as_json: bool) -> None:
    """List a list's members by email (streamed: fine for very large lists).

    \b
    Plain output is tab-separated: email, state, changed at, reason. With --json: an array of objects
    with email, state, reason, changed_at, current and fields.
    """
    with session_scope(app.sessions()) as session:
        rows = svc.iter_members(session, name, state=state)
        if as_json:
            _echo_json_array(rows)
            return
        click.echo("email\tstate\tchanged_at\treason")
        for member in rows:
            click.echo(
                f"{member['email']}\t{member['state']}\t{member['changed_at'] or ''}\t{member['reason'] or ''}"
            )


def _echo_json_array(items: Iterable[dict[str, Any]]) -> None:
    """A JSON array written item by item, one object a line, so a huge list is never built in memory."""
    first = True
    click.echo("[", nl=False)
    for item in items:
        click.echo(("\n  " if first else ",\n  ") + json.dumps(item, ensure_ascii=False), nl=False)
        first = False
    click.echo("]" if first else "\n]")


@list_group.command("delete")
@click.argument("name")
@click.option(
    "--force", is_flag=True, help="Delete even while connected to an address book (disconnects it)."
)
@lock_wait_option
@click.pass_obj
def delete(app: AppContext, name: str, force: bool, lock_wait: float) -> None:
    """Delete a list and its members. Refused while the list is connected to an address book, unless --force
    (which first waits for a running sync of the book's integration to finish, see --wait)."""
    wait = LockWait(seconds=lock_wait, sleep=app.sleep or time.sleep, notify=info)
    with list_change(app.sessions(), name, kind="list delete", locked=force, wait=wait) as session:
        book = svc.delete_list(session, name, force=force)
    info(f"List {name!r} deleted" + (f" (disconnected from address book {book!r})." if book else "."))
