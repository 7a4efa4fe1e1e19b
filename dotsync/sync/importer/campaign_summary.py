"""Import (Dotmailer -> dotsync): campaign summaries (``GET campaigns/{id}/summary``, one call per campaign read).

Only sent campaigns (status neither ``Unsent`` nor ``Sending``) with activity since the last run are read
(all of them the first time, see :mod:`~dotsync.sync.importer.campaign_feeds`); every field of the summary is
upserted into ``campaign_summary`` by campaign.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from dotsync.db.bulk import upsert
from dotsync.db.models import (
    SUMMARY_COMMERCE_FIELDS,
    SUMMARY_FLOAT_FIELDS,
    SUMMARY_INT_FIELDS,
    campaign_summary,
)
from dotsync.dotmailer.errors import ApiNotFoundError, MalformedResponseError
from dotsync.dotmailer.models import ApiCampaignSummary
from dotsync.sync.context import SyncContext
from dotsync.sync.importer.campaign_feeds import candidates, mark_done, plan

NAME = "campaign_summary"
FIELDS = ("date_sent", *SUMMARY_INT_FIELDS, *SUMMARY_FLOAT_FIELDS, *SUMMARY_COMMERCE_FIELDS)


def summary_row(campaign_id: int, summary: ApiCampaignSummary, ctx: SyncContext) -> dict[str, Any]:
    return {
        "campaign_id": campaign_id,
        **{name: getattr(summary, name) for name in FIELDS},
        "updated_at": ctx.now,
    }


def run(ctx: SyncContext, session: Session) -> dict[str, int]:
    found = candidates(session, ctx, NAME)
    fetches = plan(ctx, session, NAME, found)
    rows: list[dict[str, Any]] = []
    skipped: set[int] = set()
    for done, fetch in enumerate(fetches, 1):
        try:
            rows.append(summary_row(fetch.campaign_id, ctx.client.get_campaign_summary(fetch.origin_id), ctx))
        except ApiNotFoundError:
            ctx.note(f"campaign {fetch.origin_id} is gone from Dotmailer; its summary was not read")
            skipped.add(fetch.campaign_id)
        except MalformedResponseError as exc:
            # One campaign's unreadable summary (e.g. a malformed date) must not cost the others theirs; it is
            # not marked read, so the next run asks again.
            ctx.note(f"campaign {fetch.origin_id}: summary skipped: {exc}")
            skipped.add(fetch.campaign_id)
        ctx.progress("campaign summaries", done, len(fetches))
    upsert(session.connection(), campaign_summary, rows, key=["campaign_id"])
    mark_done(ctx, session, NAME, [c.id for c in found if c.id not in skipped])
    return {"campaigns": len(found), "read": len(rows)}
