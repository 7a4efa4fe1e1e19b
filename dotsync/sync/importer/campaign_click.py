"""Import (Dotmailer -> dotsync): campaign clicks (``GET campaigns/{id}/clicks[/since-date/{date}]``) as ``click``
marketing events of list members, with the URL as detail. See :mod:`~dotsync.sync.importer.campaign_events`.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from dotsync.dotmailer.models import ApiCampaignContactClick
from dotsync.lists.email import email_key
from dotsync.sync.context import SyncContext
from dotsync.sync.importer.campaign_events import EventRow, run_feed

NAME = "campaign_click"


def to_row(click: ApiCampaignContactClick) -> EventRow:
    return email_key(click.email), click.date_clicked, click.url


def run(ctx: SyncContext, session: Session) -> dict[str, int]:
    return run_feed(ctx, session, NAME, "click", ctx.client.iter_campaign_clicks, to_row)
