"""`dotsync campaigns ...`: imported Dotmailer campaigns, their summaries and per-member statistics."""

from __future__ import annotations

import dataclasses

import click

from dotsync.cli.command import Call, body
from dotsync.cli.options import integration_option
from dotsync.console import print_mapping, print_table
from dotsync.services import campaigns as svc

_HEADLINE = (
    "date_sent",
    "num_total_sent",
    "num_total_delivered",
    "num_total_unique_opens",
    "num_total_opens",
    "num_total_clicks",
    "num_recipients_clicked",
    "num_total_hard_bounces",
    "num_total_soft_bounces",
    "num_total_unsubscribes",
    "percentage_delivered",
    "percentage_unique_opens",
    "percentage_users_clicked",
)


@click.group()
def campaigns() -> None:
    """Dotmailer campaigns sent to connected books, as imported by `dotsync integration sync`."""


@campaigns.command("list")
@integration_option
@body(json=True)
def list_(call: Call, integration_name: str | None) -> None:
    """List campaigns (of every integration, or --integration) with sent, opens and clicks."""
    views = call.transaction(svc.list_campaigns, integration_name)
    call.show(views, _print_campaigns)


def _print_campaigns(views: list[svc.CampaignListItem]) -> None:
    print_table(
        "Campaigns",
        ["integration", "id", "name", "status", "books", "sent on", "sent", "opened", "clicks", "deleted"],
        [
            [
                v.integration,
                v.id,
                v.name,
                v.status,
                ", ".join(v.books),
                v.date_sent,
                v.sent,
                v.unique_opens,
                v.clicks,
                v.is_deleted,
            ]
            for v in views
        ],
        empty="No campaigns yet: `dotsync integration sync` imports the campaigns of connected books "
        "(connect a list first: `dotsync connect LIST BOOK`).",
    )


@campaigns.command("show")
@click.argument("campaign")
@integration_option
@click.option(
    "--top",
    default=20,
    show_default=True,
    type=click.IntRange(0),
    help="Members shown in the table (0: all).",
)
@body(json=True)
def show(call: Call, campaign: str, integration_name: str | None, top: int) -> None:
    """Show CAMPAIGN (its Dotmailer id or name): details, summary and per-member statistics.

    The table shows the most active members first (--top); --json gives every member.
    """
    view = call.transaction(svc.show_campaign, campaign, integration_name)
    call.show(view, lambda view: _print_campaign(view, top))


def _print_campaign(view: svc.CampaignDetail, top: int) -> None:
    details = [
        (f.name, ", ".join(view.books) if f.name == "books" else getattr(view, f.name))
        for f in dataclasses.fields(svc.CampaignView)
    ]
    print_mapping(f"Campaign {view.name}", details)
    if view.summary is None:
        print_mapping("Summary", [("summary", "not imported yet")])
    else:
        print_mapping("Summary", [(name, view.summary[name]) for name in _HEADLINE])
    stats = sorted(
        view.statistics,
        key=lambda s: (-(s.open_count + s.click_count + s.bounce_count + s.unsubscribe_count), s.email),
    )
    shown = stats if top == 0 else stats[:top]
    title = "Per-member statistics" + (
        f" (most active {len(shown)} of {len(stats)})" if len(shown) < len(stats) else ""
    )
    print_table(
        title,
        ["email", "list", "opens", "clicks", "bounces", "unsubscribes", "last contacted"],
        [
            [
                s.email,
                s.list,
                s.open_count,
                s.click_count,
                s.bounce_count,
                s.unsubscribe_count,
                s.last_contacted_at,
            ]
            for s in shown
        ],
    )
