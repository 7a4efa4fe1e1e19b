"""Import (Dotmailer -> dotsync): per-contact campaign activity, member statistics and send/bounce/unsubscribe events.

For each non-deleted, sent campaign chosen by :mod:`~dotsync.sync.importer.campaign_feeds`:
``GET campaigns/{id}/activities`` (whole history, first time) or ``.../activities/since-date/{date}``.
Each row is upserted as an ``Activity`` (by campaign + email), and for every member with that email in the
lists connected to the campaign's books:

* ``MemberStatistics`` is overwritten with the row's counts (opens, clicks, soft + hard bounces, unsubscribe)
  and ``last_contacted_at`` = the date sent: the API row is cumulative, so re-reading it is idempotent;
* ``MarketingEvent`` rows ``send``, ``soft_bounce``, ``hard_bounce``, ``unsubscribe`` are inserted once each
  (deterministic ``event_key``, insert-or-ignore). Send and bounces happen at the date sent; an unsubscribe at
  the contact's known opt-out time, else the date sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from dotsync.db.bulk import batched, insert_ignore, upsert
from dotsync.db.models import Activity, MarketingEvent, MemberStatistics
from dotsync.dotmailer.errors import ApiNotFoundError
from dotsync.dotmailer.models import ApiCampaignContactSummary
from dotsync.lists.email import email_key
from dotsync.sync.context import SyncContext
from dotsync.sync.importer.campaign_feeds import campaign_lists, candidates, mark_done, plan
from dotsync.sync.importer.common import BATCH, CONTACTS, event_key, member_ids

NAME = "activity_contact"
ACTIVITIES = cast(Table, Activity.__table__)
EVENTS = cast(Table, MarketingEvent.__table__)
STATISTICS = cast(Table, MemberStatistics.__table__)
_ACTIVITY_FIELDS = (
    "num_opens",
    "num_page_views",
    "num_clicks",
    "num_forwards",
    "num_estimated_forwards",
    "num_replies",
    "date_sent",
    "date_first_opened",
    "date_last_opened",
    "first_open_ip",
    "unsubscribed",
    "soft_bounced",
    "hard_bounced",
)


def _contacts(
    session: Session, integration_id: int, rows: list[ApiCampaignContactSummary]
) -> tuple[dict[int, Any], dict[str, Any]]:
    conn = session.connection()
    origin_ids = sorted({r.contact_id for r in rows if r.contact_id is not None})
    emails = sorted({email_key(r.email) for r in rows if r.email})
    columns = (CONTACTS.c.id, CONTACTS.c.origin_id, CONTACTS.c.email, CONTACTS.c.unsubscribed_at)
    by_origin = (
        {
            r.origin_id: r
            for r in conn.execute(
                select(*columns).where(
                    CONTACTS.c.integration_id == integration_id, CONTACTS.c.origin_id.in_(origin_ids)
                )
            )
        }
        if origin_ids
        else {}
    )
    by_email = (
        {
            r.email: r
            for r in conn.execute(
                select(*columns).where(
                    CONTACTS.c.integration_id == integration_id, CONTACTS.c.email.in_(emails)
                )
            )
        }
        if emails
        else {}
    )
    return by_origin, by_email


def save_activities(
    session: Session,
    integration_id: int,
    campaign_id: int,
    list_ids: list[int],
    rows: Iterable[ApiCampaignContactSummary],
    now: datetime,
) -> dict[str, int]:
    """Store one batch of a campaign's activity rows; returns counts."""
    unique: dict[str, ApiCampaignContactSummary] = {}
    for row in rows:
        email = email_key(row.email)
        if email:
            unique[email] = row
    if not unique:
        return {"activities": 0, "statistics": 0}
    batch = list(unique.values())
    by_origin, by_email = _contacts(session, integration_id, batch)
    activity_rows: list[dict[str, Any]] = []
    opted_out_at: dict[str, datetime | None] = {}
    for email, row in unique.items():
        contact = (by_origin.get(row.contact_id) if row.contact_id is not None else None) or by_email.get(
            email
        )
        opted_out_at[email] = contact.unsubscribed_at if contact is not None else None
        activity_rows.append(
            {
                "campaign_id": campaign_id,
                "email": email,
                "contact_id": contact.id if contact is not None else None,
                "contact_origin_id": row.contact_id,
                **{name: getattr(row, name) for name in _ACTIVITY_FIELDS},
                "created_at": now,
                "updated_at": now,
            }
        )
    conn = session.connection()
    upsert(
        conn,
        ACTIVITIES,
        activity_rows,
        key=["campaign_id", "email"],
        update=["contact_id", "contact_origin_id", *_ACTIVITY_FIELDS, "updated_at"],
    )
    statistics: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for email, pairs in member_ids(conn, list_ids, unique).items():
        row = unique[email]
        sent = row.date_sent
        happened: list[tuple[str, datetime | None]] = []
        if sent is not None:
            happened.append(("send", sent))
        if row.soft_bounced:
            happened.append(("soft_bounce", sent))
        if row.hard_bounced:
            happened.append(("hard_bounce", sent))
        for _list_id, member_id in pairs:
            statistics.append(
                {
                    "campaign_id": campaign_id,
                    "list_member_id": member_id,
                    "open_count": row.num_opens,
                    "click_count": row.num_clicks,
                    "bounce_count": int(row.soft_bounced) + int(row.hard_bounced),
                    "unsubscribe_count": int(row.unsubscribed),
                    "last_contacted_at": sent,
                    "updated_at": now,
                }
            )
            for kind, when in happened:
                events.append(_event(campaign_id, member_id, kind, when, event_key(kind, when), now))
            if row.unsubscribed:
                # At most one per campaign and member: the key leaves the (approximate) time out.
                when = opted_out_at[email] or sent
                events.append(
                    _event(campaign_id, member_id, "unsubscribe", when, event_key("unsubscribe", None), now)
                )
    upsert(conn, STATISTICS, statistics, key=["campaign_id", "list_member_id"])
    insert_ignore(conn, EVENTS, events, key=["campaign_id", "list_member_id", "event_key"])
    return {"activities": len(activity_rows), "statistics": len(statistics)}


def _event(
    campaign_id: int,
    member_id: int,
    kind: str,
    when: datetime | None,
    key: str,
    now: datetime,
    detail: str | None = None,
) -> dict[str, Any]:
    return {
        "campaign_id": campaign_id,
        "list_member_id": member_id,
        "event_type": kind,
        "event_key": key,
        "occurred_at": when,
        "detail": detail,
        "created_at": now,
    }


def run(ctx: SyncContext, session: Session) -> dict[str, int]:
    found = candidates(session, ctx, NAME)
    fetches = plan(ctx, session, NAME, found)
    counts = {"campaigns": len(found), "read": 0, "activities": 0, "statistics": 0}
    skipped: set[int] = set()
    for done, fetch in enumerate(fetches, 1):
        lists = campaign_lists(session, fetch.campaign_id)
        try:
            for batch in batched(ctx.client.iter_campaign_activities(fetch.origin_id, fetch.since), BATCH):
                saved = save_activities(session, ctx.integration_id, fetch.campaign_id, lists, batch, ctx.now)
                counts["activities"] += saved["activities"]
                counts["statistics"] += saved["statistics"]
        except ApiNotFoundError:
            ctx.note(f"campaign {fetch.origin_id} is gone from Dotmailer; its activity was not read")
            skipped.add(fetch.campaign_id)
        counts["read"] += 1
        ctx.progress("campaign activity", done, len(fetches))
    mark_done(ctx, session, NAME, [c.id for c in found if c.id not in skipped])
    return counts
