"""Campaigns as imported from Dotmailer: the list, and one campaign with its summary and per-member statistics."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from dotsync.db.models import (
    SUMMARY_COMMERCE_FIELDS,
    SUMMARY_FLOAT_FIELDS,
    SUMMARY_INT_FIELDS,
    AddressBook,
    Campaign,
    Integration,
    ListMember,
    MarketingList,
    MemberStatistics,
    campaign_address_book,
    campaign_summary,
)
from dotsync.errors import BadInputError, NotFoundError
from dotsync.services.integrations import get_integration

SUMMARY_FIELDS = ("date_sent", *SUMMARY_INT_FIELDS, *SUMMARY_FLOAT_FIELDS, *SUMMARY_COMMERCE_FIELDS)


def _books_by_campaign(session: Session, campaign_ids: list[int]) -> dict[int, list[str]]:
    books: dict[int, list[str]] = defaultdict(list)
    if not campaign_ids:
        return books
    for campaign_id, name in session.execute(
        select(campaign_address_book.c.campaign_id, AddressBook.name)
        .join(AddressBook, AddressBook.id == campaign_address_book.c.address_book_id)
        .where(campaign_address_book.c.campaign_id.in_(campaign_ids))
        .order_by(AddressBook.name)
    ):
        books[campaign_id].append(name)
    return books


@dataclass(frozen=True)
class CampaignView:
    """A campaign's details."""

    integration: str
    id: int
    name: str
    subject: str | None
    status: str | None
    from_name: str | None
    from_address: str | None
    reply_action: str | None
    reply_to_address: str | None
    is_split_test: bool | None
    is_deleted: bool
    books: list[str]
    activity_synced_at: datetime | None
    summary_synced_at: datetime | None


@dataclass(frozen=True)
class CampaignListItem(CampaignView):
    """``campaigns list``: the details and the summary's headline numbers."""

    date_sent: datetime | None
    sent: int | None
    unique_opens: int | None
    clicks: int | None


@dataclass(frozen=True)
class MemberStatisticsView:
    """One member's statistics for a campaign."""

    email: str
    list: str
    open_count: int
    click_count: int
    bounce_count: int
    unsubscribe_count: int
    last_contacted_at: datetime | None


@dataclass(frozen=True)
class CampaignDetail(CampaignView):
    """``campaigns show``: the details, the summary (API field names in snake_case, as stored; None before it is
    imported) and every member's statistics."""

    summary: dict[str, Any] | None
    statistics: list[MemberStatisticsView]


def _details(campaign: Campaign, integration: str, books: list[str]) -> dict[str, Any]:
    return {
        "integration": integration,
        "id": campaign.origin_id,
        "name": campaign.name,
        "subject": campaign.subject,
        "status": campaign.status,
        "from_name": campaign.from_name,
        "from_address": campaign.from_address,
        "reply_action": campaign.reply_action,
        "reply_to_address": campaign.reply_to_address,
        "is_split_test": campaign.is_split_test,
        "is_deleted": campaign.is_deleted,
        "books": books,
        "activity_synced_at": campaign.activity_synced_at,
        "summary_synced_at": campaign.summary_synced_at,
    }


def list_campaigns(session: Session, integration: str | None = None) -> list[CampaignListItem]:
    """Campaigns of one integration (or of all), with the headline numbers of their summaries."""
    query = (
        select(
            Campaign,
            Integration.name,
            campaign_summary.c.date_sent,
            campaign_summary.c.num_total_sent,
            campaign_summary.c.num_total_unique_opens,
            campaign_summary.c.num_total_clicks,
        )
        .join(Integration, Integration.id == Campaign.integration_id)
        .outerjoin(campaign_summary, campaign_summary.c.campaign_id == Campaign.id)
        .order_by(Integration.name, Campaign.origin_id)
    )
    if integration is not None:
        query = query.where(Campaign.integration_id == get_integration(session, integration).id)
    rows = session.execute(query).all()
    books = _books_by_campaign(session, [row[0].id for row in rows])
    return [
        CampaignListItem(
            **_details(campaign, integration_name, books.get(campaign.id, [])),
            date_sent=date_sent,
            sent=sent,
            unique_opens=opens,
            clicks=clicks,
        )
        for campaign, integration_name, date_sent, sent, opens, clicks in rows
    ]


def find_campaign(session: Session, ref: str, integration: str | None = None) -> Campaign:
    """A campaign by Dotmailer id or by name; several matches (across integrations) is bad input."""
    text = ref.strip()
    condition = Campaign.name == text
    if text.isdigit():
        condition = or_(Campaign.origin_id == int(text), condition)
    query = select(Campaign).where(condition)
    if integration is not None:
        query = query.where(Campaign.integration_id == get_integration(session, integration).id)
    found = list(session.scalars(query.order_by(Campaign.id)))
    if not found:
        raise NotFoundError(
            f"no campaign {ref!r} (give its Dotmailer id or name; see `dotsync campaigns list`)"
        )
    exact_id = [c for c in found if text.isdigit() and c.origin_id == int(text)]
    if len(found) > 1 and len(exact_id) == 1:
        return exact_id[0]
    if len(found) > 1:
        raise BadInputError(
            f"{len(found)} campaigns match {ref!r}; give its Dotmailer id, or choose with --integration"
        )
    return found[0]


def show_campaign(session: Session, ref: str, integration: str | None = None) -> CampaignDetail:
    """The campaign, its summary (API field names in snake_case; None before it is imported) and per-member
    statistics (email, list, opens, clicks, bounces, unsubscribes, last contacted)."""
    campaign = find_campaign(session, ref, integration)
    integration_name = session.scalar(
        select(Integration.name).where(Integration.id == campaign.integration_id)
    )
    row = session.execute(
        select(campaign_summary).where(campaign_summary.c.campaign_id == campaign.id)
    ).first()
    summary = {name: getattr(row, name) for name in SUMMARY_FIELDS} if row is not None else None
    statistics = [
        MemberStatisticsView(
            email=email,
            list=list_name,
            open_count=stats.open_count,
            click_count=stats.click_count,
            bounce_count=stats.bounce_count,
            unsubscribe_count=stats.unsubscribe_count,
            last_contacted_at=stats.last_contacted_at,
        )
        for stats, email, list_name in session.execute(
            select(MemberStatistics, ListMember.email, MarketingList.name)
            .join(ListMember, ListMember.id == MemberStatistics.list_member_id)
            .join(MarketingList, MarketingList.id == ListMember.list_id)
            .where(MemberStatistics.campaign_id == campaign.id)
            .order_by(MarketingList.name, ListMember.email)
        )
    ]
    books = _books_by_campaign(session, [campaign.id]).get(campaign.id, [])
    return CampaignDetail(
        **_details(campaign, integration_name or "", books), summary=summary, statistics=statistics
    )
