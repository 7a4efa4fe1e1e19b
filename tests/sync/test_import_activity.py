"""Step tests of the activity connectors (activity_contact, campaign_summary, campaign_click, campaign_open):
rows, statistics, events, idempotence, and the O(1) cost of an unchanged account."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from dotsync.db.models import (
    Activity,
    Campaign,
    ListMember,
    MarketingEvent,
    MemberStatistics,
    campaign_summary,
)
from dotsync.dotmailer.client import DotmailerClient
from dotsync.sandbox import Account
from tests.support.fakes import Clock
from tests.support.rows import connect_book
from tests.sync.helpers import make_ctx, run_connector, snapshot

ACTIVITY = ("activity_contact", "campaign_summary", "campaign_click", "campaign_open")
EMAILS = [f"{name}@example.com" for name in ("ann", "bob", "cid", "dan", "eve", "fay")]


def _import(
    sessions: sessionmaker[Session],
    client: DotmailerClient,
    integration_id: int,
    clock: Clock,
    names: tuple[str, ...] = ("address_book", "campaign", "contact", *ACTIVITY),
) -> dict[str, dict[str, int]]:
    ctx = make_ctx(sessions, client, integration_id, clock.now)
    return {name: run_connector(ctx, name) for name in names}


def _world(
    account: Account,
    sessions: sessionmaker[Session],
    client: DotmailerClient,
    integration_id: int,
    clock: Clock,
) -> int:
    news = account.create_book("News")
    account.add_contacts(news, EMAILS)
    _import(sessions, client, integration_id, clock, ("address_book",))
    list_id = connect_book(sessions, integration_id, news.id, "news", EMAILS[:5])
    clock.advance(minutes=30)
    account.send_campaign(
        "Spring sale",
        [news],
        opens=["ann@example.com"],
        clicks=["bob@example.com"],
        soft_bounces=["cid@example.com"],
        hard_bounces=["dan@example.com"],
        unsubscribes=["eve@example.com"],
    )
    account.create_campaign("Draft")  # unsent, in no book
    clock.advance(minutes=30)
    return list_id


def _statistics(
    sessions: sessionmaker[Session], campaign: str = "Spring sale"
) -> dict[str, MemberStatistics]:
    with sessions() as session:
        rows = session.execute(
            select(MemberStatistics, ListMember.email)
            .join(ListMember, ListMember.id == MemberStatistics.list_member_id)
            .join(Campaign, Campaign.id == MemberStatistics.campaign_id)
            .where(Campaign.name == campaign)
        )
        return {email: stats for stats, email in rows}


def _events(sessions: sessionmaker[Session], campaign: str = "Spring sale") -> Counter[tuple[str, str]]:
    with sessions() as session:
        rows = session.execute(
            select(ListMember.email, MarketingEvent.event_type)
            .join(ListMember, ListMember.id == MarketingEvent.list_member_id)
            .join(Campaign, Campaign.id == MarketingEvent.campaign_id)
            .where(Campaign.name == campaign)
        )
        return Counter((email, kind) for email, kind in rows)


def test_activity_statistics_events_and_summary(
    sandbox_client: DotmailerClient,
    account: Account,
    sessions: sessionmaker[Session],
    integration_id: int,
    clock: Clock,
) -> None:
    _world(account, sessions, sandbox_client, integration_id, clock)
    counts = _import(sessions, sandbox_client, integration_id, clock)
    assert counts["activity_contact"]["activities"] == 6
    sandbox_campaign = account.campaign("Spring sale")
    with sessions() as session:
        activities = {a.email: a for a in session.scalars(select(Activity))}
        assert sorted(activities) == EMAILS
        ann_api = sandbox_campaign.activities[account.find_contact("ann@example.com").id]
        assert activities["ann@example.com"].num_opens == ann_api.num_opens >= 1
        assert activities["ann@example.com"].contact_id is not None
        assert activities["dan@example.com"].hard_bounced
        assert activities["cid@example.com"].soft_bounced
        summary = session.execute(select(campaign_summary)).one()
    expected = sandbox_campaign.summary()
    assert summary.num_total_sent == expected["numTotalSent"] == 6
    assert summary.num_total_unique_opens == expected["numTotalUniqueOpens"]
    assert summary.percentage_delivered == expected["percentageDelivered"]

    stats = _statistics(sessions)
    assert sorted(stats) == EMAILS[:5]  # fay is not a member of the connected list
    assert stats["ann@example.com"].open_count == ann_api.num_opens
    assert (stats["bob@example.com"].click_count, stats["bob@example.com"].open_count) == (1, 1)
    assert stats["cid@example.com"].bounce_count == 1
    assert stats["dan@example.com"].bounce_count == 1
    assert stats["eve@example.com"].unsubscribe_count == 1
    assert stats["ann@example.com"].last_contacted_at == sandbox_campaign.date_sent

    events = _events(sessions)
    assert all(events[(e, "send")] == 1 for e in EMAILS[:5])
    assert events[("cid@example.com", "soft_bounce")] == 1
    assert events[("dan@example.com", "hard_bounce")] == 1
    assert events[("eve@example.com", "unsubscribe")] == 1
    assert events[("bob@example.com", "click")] == 1
    assert events[("bob@example.com", "open")] == 1
    assert events[("ann@example.com", "open")] >= 1
    with sessions() as session:
        click = session.scalar(select(MarketingEvent).where(MarketingEvent.event_type == "click"))
        assert click is not None
        assert click.detail == f"https://sandbox.example/c/{sandbox_campaign.id}/offer"

    # The same answers again (same run time): the same database.
    before = snapshot(sessions)
    ctx = make_ctx(sessions, sandbox_client, integration_id, clock.now)
    for name in ACTIVITY:
        run_connector(ctx, name)
    assert snapshot(sessions) == before


def test_an_unchanged_account_costs_one_call_and_new_activity_is_read_since_the_mark(
    sandbox_client: DotmailerClient,
    account: Account,
    sessions: sessionmaker[Session],
    integration_id: int,
    clock: Clock,
) -> None:
    _world(account, sessions, sandbox_client, integration_id, clock)
    for i in range(5):
        account.send_campaign(f"Extra {i}", [account.book("News")], opens=0.5)
    clock.advance(minutes=10)
    _import(sessions, sandbox_client, integration_id, clock)

    clock.advance(hours=1)
    sandbox_client.calls_by_endpoint.clear()
    _import(sessions, sandbox_client, integration_id, clock, ACTIVITY)
    assert dict(sandbox_client.calls_by_endpoint) == {"GET /v2/campaigns/with-activity-since/{date}": 1}

    clock.advance(hours=1)
    account.record_activity("Spring sale", "ann@example.com", opens=2, clicks=1)
    before = _statistics(sessions)["ann@example.com"]
    clock.advance(minutes=2)
    sandbox_client.calls_by_endpoint.clear()
    _import(sessions, sandbox_client, integration_id, clock, ACTIVITY)
    calls = dict(sandbox_client.calls_by_endpoint)
    assert calls == {
        "GET /v2/campaigns/with-activity-since/{date}": 1,
        "GET /v2/campaigns/{id}/activities/since-date/{date}": 1,
        "GET /v2/campaigns/{id}/summary": 1,
        "GET /v2/campaigns/{id}/clicks/since-date/{date}": 1,
        "GET /v2/campaigns/{id}/opens/since-date/{date}": 1,
    }
    after = _statistics(sessions)["ann@example.com"]
    assert after.open_count == before.open_count + 2
    assert after.click_count == before.click_count + 1
    assert _events(sessions)[("ann@example.com", "click")] == 1


def test_a_campaign_left_out_for_a_while_is_caught_up_since_its_own_mark(
    sandbox_client: DotmailerClient,
    account: Account,
    sessions: sessionmaker[Session],
    integration_id: int,
    clock: Clock,
) -> None:
    _world(account, sessions, sandbox_client, integration_id, clock)
    _import(sessions, sandbox_client, integration_id, clock)
    with sessions.begin() as session:
        session.execute(update(Campaign).values(is_deleted=True))
    clock.advance(hours=1)
    account.record_activity("Spring sale", "ann@example.com", clicks=1)
    clock.advance(hours=1)
    _import(sessions, sandbox_client, integration_id, clock, ACTIVITY)  # not a candidate while deleted
    clock.advance(hours=1)
    with sessions.begin() as session:
        session.execute(update(Campaign).values(is_deleted=False))
    sandbox_client.calls_by_endpoint.clear()
    _import(sessions, sandbox_client, integration_id, clock, ACTIVITY)
    # with-activity-since no longer lists it, but its mark is older than the watermark: read since the mark.
    assert sandbox_client.calls_by_endpoint["GET /v2/campaigns/{id}/clicks/since-date/{date}"] == 1
    assert _events(sessions)[("ann@example.com", "click")] == 1
    assert _statistics(sessions)["ann@example.com"].click_count == 1
