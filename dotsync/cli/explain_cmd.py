"""`dotsync explain EMAIL`: why is this person (not) in the book? Everything dotsync knows, in time order."""

from __future__ import annotations

import click

from dotsync.cli.command import Call, body
from dotsync.console import format_value, print_table, stdout
from dotsync.services import explain as svc


@click.command("explain")
@click.argument("email")
@click.option(
    "--integration",
    "integration_name",
    metavar="NAME",
    help="Only what this integration's books, contacts and campaigns hold (default: every integration).",
)
@body(json=True)
def explain(call: Call, email: str, integration_name: str | None) -> None:
    """Everything dotsync knows about EMAIL: why it is (not) in each book, and its history in time order.

    \b
    Its state in each list (with reason and time), its contact in each book (status, added by dotsync or
    not, Dotmailer id), what was last sent and in which upload and how that upload ended, opt-outs read
    from Dotmailer, pending removals, campaign statistics. An email dotsync never saw: "not known", exit 0.
    """
    found = call.transaction(svc.explain_email, email, integration=integration_name)
    call.show(found, _print_explanation)


def _print_explanation(found: svc.Explanation) -> None:
    if not found.known:
        stdout.print(f"{found.email}: not known to dotsync (in no list, no address book, no campaign).")
        return
    stdout.print(f"[bold]{found.email}[/]", highlight=False)
    for verdict in found.verdicts:
        where = f"list {verdict.list!r}" + (f" -> book {verdict.book!r}" if verdict.book else "")
        mark = "[green]in the book[/]" if verdict.in_book else "[yellow]not in the book[/]"
        stdout.print(f"{where}: {mark}: {verdict.why}", highlight=False)
    if found.lists:
        print_table(
            "Lists",
            ["list", "state", "reason", "since", "added", "book"],
            [[m.list, m.state, m.reason, m.state_changed_at, m.added_at, m.book] for m in found.lists],
        )
    for contact in found.contacts:
        stdout.print(
            f"Contact in {contact.integration!r}: Dotmailer id {format_value(contact.dotmailer_id)}, "
            f"account status {format_value(contact.status)}",
            highlight=False,
        )
        if contact.books:
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
                        b.book,
                        b.status,
                        b.added_by_dotsync,
                        b.last_sent_at,
                        b.last_upload.import_id if b.last_upload else None,
                        b.last_upload.status if b.last_upload else None,
                        b.pending_removal,
                    ]
                    for b in contact.books
                ],
            )
    for opt_out in found.opt_outs:
        where = "the account" if opt_out.scope == "account" else f"book {opt_out.book!r}"
        stdout.print(
            f"Opted out in {where} ({opt_out.integration}): {opt_out.status} since {format_value(opt_out.date)}",
            highlight=False,
        )
    for removal in found.pending_removals:
        stdout.print(
            f"Pending removal from book {removal.book!r} at the next export: {removal.why}", highlight=False
        )
    if found.campaigns:
        print_table(
            "Campaigns",
            ["campaign", "sent", "opens", "clicks", "bounces", "unsubscribes"],
            [
                [c.campaign, c.date_sent, c.opens, c.clicks, c.bounces, c.unsubscribes]
                for c in found.campaigns
            ],
        )
    if found.timeline:
        print_table("Timeline (UTC)", ["time", "event"], [[e.time, e.event] for e in found.timeline])
