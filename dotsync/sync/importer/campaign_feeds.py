"""Import (Dotmailer -> dotsync): which campaigns the activity and summary connectors must read, and how far back.

The four connectors ``activity_contact``, ``campaign_summary``, ``campaign_click`` and ``campaign_open`` each keep
a per-campaign mark (the start time of their last successful run that covered the campaign) and an
integration-level watermark (the start time of their last successful run):

* ``activity_contact``: ``Campaign.activity_synced_at``; ``campaign_summary``: ``Campaign.summary_synced_at``;
  ``campaign_click`` / ``campaign_open``: ``Watermark`` rows with ``scope`` = the campaign's local id.

A campaign is read

* in full when it has no mark (first time seen);
* since its mark (minus the overlap) when Dotmailer lists it in ``campaigns/with-activity-since/{date}``;
* since its mark also when the mark is older than the connector's watermark: the campaign was left out of
  earlier runs (e.g. soft-deleted for a while), so "no new activity" answers never covered it.

Every other candidate had no activity since the connector last looked, so it costs no call. The
``with-activity-since`` list is asked at most once per run, since the oldest of the four watermarks, and shared
through ``ctx.shared``: an unchanged account costs one call for all four connectors, however many campaigns
it has. At the end of a successful run every candidate's mark moves to the run's start time, in bulk.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Column, Table, select, update
from sqlalchemy.orm import Session

from dotsync.db.bulk import batched, upsert
from dotsync.db.models import AddressBook, Campaign, Watermark, campaign_address_book
from dotsync.sync.context import SyncContext
from dotsync.sync.importer.common import since_with_overlap
from dotsync.sync.watermarks import read_watermark, write_watermark

ACTIVITY_CONNECTORS = ("activity_contact", "campaign_summary", "campaign_click", "campaign_open")
SHARED_KEY = "campaigns_with_activity_since"
# Campaign statuses with nothing to read yet.
UNSENT = "Unsent"
NOT_SENT_FOR_SUMMARY = ("Unsent", "Sending")

CAMPAIGNS = cast(Table, Campaign.__table__)
WATERMARKS = cast(Table, Watermark.__table__)
_MARK_COLUMNS: dict[str, Column[Any]] = {
    "activity_contact": CAMPAIGNS.c.activity_synced_at,
    "campaign_summary": CAMPAIGNS.c.summary_synced_at,
}


@dataclass(frozen=True)
class Candidate:
    id: int
    origin_id: int
    mark: datetime | None


@dataclass(frozen=True)
class Fetch:
    """One campaign to read: ``since`` None means its whole history."""

    campaign_id: int
    origin_id: int
    since: datetime | None


def candidates(session: Session, ctx: SyncContext, connector: str) -> list[Candidate]:
    """The campaigns this connector looks at, with their marks."""
    query = select(CAMPAIGNS.c.id, CAMPAIGNS.c.origin_id).where(
        CAMPAIGNS.c.integration_id == ctx.integration_id, CAMPAIGNS.c.is_deleted.is_(False)
    )
    if connector == "campaign_summary":
        query = query.where(CAMPAIGNS.c.status.is_not(None), CAMPAIGNS.c.status.not_in(NOT_SENT_FOR_SUMMARY))
    else:
        query = query.where((CAMPAIGNS.c.status.is_(None)) | (CAMPAIGNS.c.status != UNSENT))
    column = _MARK_COLUMNS.get(connector)
    if column is not None:
        rows = session.execute(query.add_columns(column).order_by(CAMPAIGNS.c.id)).all()
        return [Candidate(r[0], r[1], r[2]) for r in rows]
    marks = {
        int(scope): value
        for scope, value in session.execute(
            select(WATERMARKS.c.scope, WATERMARKS.c.value).where(
                WATERMARKS.c.integration_id == ctx.integration_id,
                WATERMARKS.c.connector == connector,
                WATERMARKS.c.scope != "",
            )
        )
        if scope.isdigit()
    }
    return [
        Candidate(r.id, r.origin_id, marks.get(r.id)) for r in session.execute(query.order_by(CAMPAIGNS.c.id))
    ]


def campaigns_with_activity(ctx: SyncContext, session: Session) -> set[int]:
    """Dotmailer ids of campaigns with activity since the oldest of the four watermarks; asked once per run."""
    cached = ctx.shared.get(SHARED_KEY)
    if isinstance(cached, set):
        return cached
    marks = [m for m in (read_watermark(session, ctx.integration_id, c) for c in ACTIVITY_CONNECTORS) if m]
    since = min(marks) if marks else None
    found: set[int] = set()
    if since is not None:
        found = {campaign.id for campaign in ctx.client.iter_campaigns_with_activity_since(since)}
    ctx.shared[SHARED_KEY] = found
    return found


def plan(ctx: SyncContext, session: Session, connector: str, found: list[Candidate]) -> list[Fetch]:
    """Which candidates to read, and since when (see the module docstring)."""
    watermark = read_watermark(session, ctx.integration_id, connector)
    fetches: list[Fetch] = []
    quiet: list[Candidate] = []
    for c in found:
        if c.mark is None:
            fetches.append(Fetch(c.id, c.origin_id, None))
        elif watermark is None or c.mark < watermark:
            fetches.append(Fetch(c.id, c.origin_id, since_with_overlap(c.mark)))
        else:
            quiet.append(c)
    if quiet:
        active = campaigns_with_activity(ctx, session)
        fetches.extend(
            Fetch(c.id, c.origin_id, since_with_overlap(c.mark)) for c in quiet if c.origin_id in active
        )
    fetches.sort(key=lambda f: f.campaign_id)
    return fetches


def mark_done(ctx: SyncContext, session: Session, connector: str, campaign_ids: Iterable[int]) -> None:
    """Move the marks of these campaigns and the connector's watermark to the run's start time."""
    conn = session.connection()
    column = _MARK_COLUMNS.get(connector)
    for chunk in batched(sorted(set(campaign_ids)), 1000):
        if column is not None:
            conn.execute(update(CAMPAIGNS).where(CAMPAIGNS.c.id.in_(chunk)).values({column.key: ctx.now}))
        else:
            upsert(
                conn,
                WATERMARKS,
                [
                    {
                        "integration_id": ctx.integration_id,
                        "connector": connector,
                        "scope": str(cid),
                        "value": ctx.now,
                    }
                    for cid in chunk
                ],
                key=["integration_id", "connector", "scope"],
                update=["value"],
            )
    write_watermark(session, ctx.integration_id, connector, ctx.now)


def campaign_lists(session: Session, campaign_id: int) -> list[int]:
    """The lists connected to the books a campaign was sent to (members are matched in these, by email)."""
    found = session.scalars(
        select(AddressBook.marketing_list_id)
        .join(campaign_address_book, campaign_address_book.c.address_book_id == AddressBook.id)
        .where(campaign_address_book.c.campaign_id == campaign_id, AddressBook.marketing_list_id.is_not(None))
        .distinct()
    ).all()
    return sorted(list_id for list_id in found if list_id is not None)
