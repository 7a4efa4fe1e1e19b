"""Import (Dotmailer -> dotsync): campaign opens (``GET campaigns/{id}/opens[/since-date/{date}]``) as ``open``
marketing events of list members. See :mod:`~dotsync.sync.importer.campaign_events`.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from dotsync.dotmailer.models import ApiCampaignContactOpen
from dotsync.lists.email import email_key
from dotsync.sync.context import SyncContext
from dotsync.sync.importer.campaign_events import EventRow, run_feed

NAME = "campaign_open"


def to_row(event: ApiCampaignContactOpen) -> EventRow:
    return email_key(event.email), event.date_opened, None


def run(ctx: SyncContext, session: Session) -> dict[str, int]:
    return run_feed(ctx, session, NAME, "open", ctx.client.iter_campaign_opens, to_row)
