"""`dotsync explain EMAIL`: why is this person (not) in the book? Everything dotsync knows, in time order."""

from __future__ import annotations

from typing import Any

import click

from dotsync.cli.context import AppContext
from dotsync.cli.options import json_option
from dotsync.console import format_value, print_json, print_table, stdout
from dotsync.db.engine import session_scope
from dotsync.services import explain as svc


@click.command("explain")
@click.argument("email")
@click.option(
    "--integration",
    "integration_name",
    metavar="NAME",
    help="Only what this integration's books, contacts and campaigns hold (default: every integration).",
)
@json_option
@click.pass_obj
def explain(app: AppContext, email: str, integration_name: str | None, as_json: bool) -> None:
    """Everything dotsync knows about EMAIL: why it is (not) in each book, and its history in time order.

    \b
    Its state in each list (with reason and time), its contact in each book (status, added by dotsync or
    not, Dotmailer id), what was last sent and in which upload and how that upload ended, opt-outs read
    from Dotmailer, pending removals, campaign statistics. An email dotsync never saw: "not known", exit 0.
    """
    with session_scope(app.sessions()) as session:
        found = svc.explain_email(session, email, integration=integration_name)
    if as_json:
        print_json(found.as_dict())
        return
    if not found.known:
        stdout.print(f"{found.email}: not known to dotsync (in no list, no address book, no campaign).")
        return
    _render(found.as_dict())


def _render(view: dict[str, Any]) -> None:
    stdout.print(f"[bold]{view['email']}[/]", highlight=False)
    for verdict in view["verdicts"]:
        where = f"list {verdict['list']!r}" + (f" -> book {verdict['book']!r}" if verdict["book"] else "")
        mark = "[green]in the book[/]" if verdict["in_book"] else "[yellow]not in the book[/]"
        stdout.print(f"{where}: {mark}: {verdict['why']}", highlight=False)
    if view["lists"]:
        print_table(
            "Lists",
            ["list", "state", "reason", "since", "added", "book"],
            [
                [m["list"], m["state"], m["reason"], m["state_changed_at"], m["added_at"], m["book"]]
                for m in view["lists"]
            ],
        )
    for contact in view["contacts"]:
        stdout.print(
            f"Contact in {contact['integration']!r}: Dotmailer id {format_value(contact['dotmailer_id'])}, "
            f"account status {format_value(contact['status'])}",
            highlight=False,
        )
        if contact["books"]:
            print_table(
                None,
                [
                    "book",
                    "status",
                    "added by dotsync",
                    "last sent",
                    "last upload",
                    "upload status",
                    "pending removal",
                ],
                [
                    [
                        b["book"],
                        b["status"],
                        b["added_by_dotsync"],
                        b["last_sent_at"],
                        b["last_upload"]["import_id"] if b["last_upload"] else None,
                        b["last_upload"]["status"] if b["last_upload"] else None,
                        b["pending_removal"],
                    ]
                    for b in contact["books"]
                ],
            )
    for opt_out in view["opt_outs"]:
        where = "the account" if opt_out["scope"] == "account" else f"book {opt_out['book']!r}"
        stdout.print(
            f"Opted out in {where} ({opt_out['integration']}): {opt_out['status']} since "
            f"{format_value(opt_out['date'])}",
            highlight=False,
        )
    for removal in view["pending_removals"]:
        stdout.print(
            f"Pending removal from book {removal['book']!r} at the next export: {removal['why']}",
            highlight=False,
        )
    if view["campaigns"]:
        print_table(
            "Campaigns",
            ["campaign", "sent", "opens", "clicks", "bounces", "unsubscribes"],
            [
                [c["campaign"], c["date_sent"], c["opens"], c["clicks"], c["bounces"], c["unsubscribes"]]
                for c in view["campaigns"]
            ],
        )
    if view["timeline"]:
        print_table("Timeline (UTC)", ["time", "event"], [[e["time"], e["event"]] for e in view["timeline"]])
