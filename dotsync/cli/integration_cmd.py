"""`dotsync integration ...`: Dotmailer accounts (create, list, show, check, update, delete, sync)."""

from __future__ import annotations

import os
import sys

import click

from dotsync.cli.command import Call, body
from dotsync.cli.context import AppContext
from dotsync.cli.lazy import LazyGroup
from dotsync.console import fields_of, info, print_mapping, print_table
from dotsync.errors import BadInputError
from dotsync.services import integrations as svc


def read_password(password_stdin: bool, *, required: bool = True) -> str | None:
    """The password from --password-stdin, else $DOTSYNC_PASSWORD, else a hidden prompt. Never from argv."""
    if password_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise BadInputError("--password-stdin was given but standard input held no password")
        return password
    env = os.environ.get("DOTSYNC_PASSWORD")
    if env:
        return env
    if not required:
        return None
    if sys.stdin.isatty():
        return str(click.prompt("Dotmailer API password", hide_input=True))
    raise BadInputError(
        "no password given: pipe it with --password-stdin, set DOTSYNC_PASSWORD, or run on a terminal to be asked"
    )


@click.group(cls=LazyGroup)  # `integration sync` is registered in dotsync.cli.COMMANDS
def integration() -> None:
    """Dotmailer accounts (API users) that dotsync syncs with."""


@integration.command("create")
@click.option("--name", required=True, help="A unique name for this integration.")
@click.option("--username", required=True, help="The Dotmailer API user (apiuser-...@apiconnector.com).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option(
    "--api-url",
    default=svc.DEFAULT_API_URL,
    show_default=True,
    help="API base URL: https://..., or http:// on a loopback address (sandbox).",
)
@click.option("--owner", help="Owner label for the records this integration imports.")
@click.option(
    "--no-check", is_flag=True, help="Do not check the credentials against Dotmailer before saving."
)
@body()
def create(
    call: Call,
    name: str,
    username: str,
    password_stdin: bool,
    api_url: str,
    owner: str | None,
    no_check: bool,
) -> None:
    """Create an integration. The password is stored encrypted and never shown.

    The password comes from --password-stdin, else $DOTSYNC_PASSWORD, else a hidden prompt; it is never
    accepted as a command-line argument. Unless --no-check, the credentials are checked first (exit 3 if
    Dotmailer refuses them).
    """
    svc.validate_api_url(api_url)
    password = read_password(password_stdin)
    assert password is not None
    created = call.transaction(
        svc.create_integration,
        call.app.box(),
        name=name,
        username=username,
        password=password,
        api_url=api_url,
        owner=owner,
        check=None if no_check else _checker(call.app),
    )
    info(f"Integration {created.name!r} created" + ("" if no_check else " (credentials checked)") + ".")
    if not no_check:
        _import_books(call.app, created.name)


def _import_books(app: AppContext, name: str) -> None:
    """The first minutes: import the new integration's address books at once, as the OroCRM integration does,
    so `books list --available` shows them. A failure here is only a warning: the integration is saved."""
    from dotsync.cli.sync_cmd import import_address_books

    imported = import_address_books(app, name)
    if imported.error is not None:
        info(f"[yellow]Address books not imported yet ({imported.error}); run `dotsync integration sync`.[/]")
        return
    info(
        f"Imported {imported.books} address book(s). Next: `dotsync books list --available`, "
        "`dotsync list create NAME --csv FILE`, then `dotsync connect LIST BOOK`."
    )


def _checker(app: AppContext) -> svc.Checker:
    def check(username: str, password: str, api_url: str) -> svc.CheckResult:
        return svc.check_credentials(username, password, api_url, **app.client_kwargs())

    return check


@integration.command("list")
@body(json=True)
def list_(call: Call) -> None:
    """List integrations."""
    views = call.transaction(svc.list_integrations)
    call.show(views, _print_integrations)


def _print_integrations(views: list[svc.IntegrationView]) -> None:
    print_table(
        "Integrations",
        ["name", "username", "endpoint", "active", "books", "connected"],
        [
            [v.name, v.username, v.api_endpoint or v.api_url, v.active, v.address_books, v.connected_books]
            for v in views
        ],
        empty="No integration yet: add your Dotmailer API user with "
        "`dotsync integration create --name NAME --username USER`.",
    )


@integration.command("show")
@click.argument("name")
@body(json=True)
def show(call: Call, name: str) -> None:
    """Show one integration (never its password)."""
    view = call.transaction(svc.show_integration, name)
    call.show(view, lambda view: print_mapping(f"Integration {name}", fields_of(view)))


@integration.command("check")
@click.argument("name")
@body(json=True)
def check(call: Call, name: str) -> None:
    """Check an integration's credentials: account name, main email, endpoint, API calls left this hour."""
    view = call.transaction(svc.check_integration, call.app.box(), name, **call.app.client_kwargs())
    call.show(view, lambda view: print_mapping(f"Integration {name}: credentials OK", fields_of(view)))


@integration.command("update")
@click.argument("name")
@click.option("--rename", "new_name", help="A new name.")
@click.option("--username", help="A new API username.")
@click.option("--password-stdin", is_flag=True, help="Read a new password from standard input.")
@click.option("--api-url", help="A new API base URL.")
@click.option("--owner", help="A new owner label.")
@click.option("--active/--inactive", default=None, help="Enable or disable syncing this integration.")
@click.option("--no-check", is_flag=True, help="Do not check changed credentials against Dotmailer.")
@body()
def update(
    call: Call,
    name: str,
    new_name: str | None,
    username: str | None,
    password_stdin: bool,
    api_url: str | None,
    owner: str | None,
    active: bool | None,
    no_check: bool,
) -> None:
    """Change an integration. A new password comes from --password-stdin or $DOTSYNC_PASSWORD."""
    password = (
        read_password(password_stdin, required=False)
        if password_stdin or os.environ.get("DOTSYNC_PASSWORD")
        else None
    )
    call.transaction(
        svc.update_integration,
        call.app.box(),
        name,
        new_name=new_name,
        username=username,
        password=password,
        api_url=api_url,
        owner=owner,
        active=active,
        check=None if no_check else _checker(call.app),
    )
    info(f"Integration {new_name or name!r} updated.")


@integration.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@body()
def delete(call: Call, name: str, yes: bool) -> None:
    """Delete an integration and everything imported with it (lists are kept)."""
    if not yes and sys.stdin.isatty():
        click.confirm(f"Delete integration {name!r} and its imported data?", abort=True)
    call.transaction(svc.delete_integration, name)
    info(f"Integration {name!r} deleted.")
