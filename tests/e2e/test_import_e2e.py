"""End-to-end: the whole import (`integration sync` service: lock, run history, all connectors) against the
sandbox, with 2 connected books, 30 sent campaigns with activity, book unsubscribes and account suppressions.

After one import the database must mirror the sandbox; a second import with nothing changed must cost at most
4 + 3·B API calls (B connected books) and no per-campaign call at all.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from dotsync.db.models import (
    Activity,
    AddressBook,
    AddressBookContact,
    Campaign,
    Contact,
    Integration,
    ListMember,
    MarketingEvent,
    MemberStatistics,
    campaign_summary,
)
from dotsync.dotmailer.client import DotmailerClient
from dotsync.sandbox import Account, Sandbox
from dotsync.secret import SecretBox
from dotsync.services import sync as svc
from dotsync.sync.orchestrator import SyncReport
from tests.support import PASSWORD, USERNAME
from tests.support.fakes import Clock, FakeSleep
from tests.support.rows import connect_book

B = 2


def _env(
    engine: Engine, sessions: sessionmaker[Session], sandbox: Sandbox, clock: Clock
) -> svc.SyncEnvironment:
    def make_client(integration: Integration) -> DotmailerClient:
        return DotmailerClient(
            USERNAME,
            PASSWORD,
            integration.api_url,
            endpoint=integration.api_endpoint,
            transport=sandbox.transport(),
            sleep=FakeSleep(),
        )

    return svc.SyncEnvironment(
        engine=engine,
        sessions=sessions,
        box=SecretBox(Fernet.generate_key()),
        make_client=make_client,
        now=clock,
    )


def _sync(env: svc.SyncEnvironment, connectors: list[str] | None = None) -> SyncReport:
    report = svc.integration_sync(env, integration=None, connectors=connectors, force=False)
    outcome = report.outcomes[0]
    assert outcome.outcome == "success", (outcome.error, outcome.result.counts if outcome.result else None)
    return report


def _build_world(account: Account, clock: Clock) -> dict[str, Any]:
    members_book = account.create_book("Members")
    prospects_book = account.create_book("Prospects")
    other = account.create_book("Other")
    members = [f"m{i:03d}@example.com" for i in range(60)]
    prospects = [f"p{i:03d}@example.com" for i in range(40)] + members[:10]
    account.add_contacts(members_book, [{"email": e, "dataFields": {"FIRSTNAME": e[:4]}} for e in members])
    account.add_contacts(prospects_book, prospects)
    account.add_contacts(other, ["stranger@example.com"])
    return {"books": (members_book, prospects_book), "members": members, "prospects": prospects}


def test_import_mirrors_the_sandbox_and_an_unchanged_rerun_is_cheap(
    engine: Engine,
    sessions: sessionmaker[Session],
    sandbox: Sandbox,
    account: Account,
    clock: Clock,
    integration_id: int,
) -> None:
    world = _build_world(account, clock)
    members_book, prospects_book = world["books"]
    env = _env(engine, sessions, sandbox, clock)
    _sync(env, ["address_book"])
    # The lists: most book contacts, plus people Dotmailer does not know yet.
    members_list = connect_book(
        sessions, integration_id, members_book.id, "members", [*world["members"][:50], "new1@example.com"]
    )
    prospects_list = connect_book(
        sessions,
        integration_id,
        prospects_book.id,
        "prospects",
        [*world["prospects"][:45], "new2@example.com"],
    )

    # 30 sent campaigns with activity, alternating books; some to both.
    for i in range(30):
        clock.advance(minutes=3)
        books = (
            [members_book]
            if i % 3 == 0
            else [prospects_book]
            if i % 3 == 1
            else [members_book, prospects_book]
        )
        account.send_campaign(
            f"Campaign {i:02d}",
            books,
            opens=0.4,
            clicks=0.15,
            soft_bounces=0.05,
            hard_bounces=1 if i % 10 == 0 else 0,
            unsubscribes=1 if i % 7 == 0 else 0,
        )
    account.create_campaign("Unsent draft")
    clock.advance(minutes=5)
    account.unsubscribe(members_book, "m001@example.com")
    account.unsubscribe(prospects_book, "p002@example.com")
    account.suppress("m003@example.com", "Suppressed")
    account.suppress("p004@example.com", "IspComplained")
    clock.advance(minutes=10)

    _sync(env)

    _assert_mirrors(
        sessions, account, integration_id, {members_book.id: members_list, prospects_book.id: prospects_list}
    )

    # Nothing changes in Dotmailer; an hour later the import runs again.
    clock.advance(hours=1)
    before = _row_counts(sessions)
    sandbox.calls.reset()
    _sync(env)
    counts = sandbox.calls.counts()
    print("\nunchanged import, API calls per endpoint:")
    for endpoint, n in sorted(counts.items()):
        print(f"  {n:3d}  {endpoint}")
    print(f"  {sum(counts.values()):3d}  total (budget 4 + 3*{B} = {4 + 3 * B})")
    assert sum(counts.values()) <= 4 + 3 * B
    per_campaign = [e for e in counts if e.split(" ", 1)[1].startswith("/v2/campaigns/{id}")]
    assert per_campaign == []
    assert counts["GET /v2/campaigns/with-activity-since/{date}"] == 1
    assert _row_counts(sessions) == before


def _row_counts(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions() as session:
        return {
            model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (
                AddressBook,
                Contact,
                AddressBookContact,
                Campaign,
                Activity,
                MarketingEvent,
                MemberStatistics,
            )
        }


def _assert_mirrors(
    sessions: sessionmaker[Session], account: Account, integration_id: int, lists: dict[int, int]
) -> None:
    with sessions() as session:
        # Books: every sandbox book, same names and counts.
        books = {b.origin_id: b for b in session.scalars(select(AddressBook))}
        assert set(books) == set(account.books)
        for book_id, sandbox_book in account.books.items():
            assert books[book_id].name == sandbox_book.name
            assert books[book_id].contact_count == account.book_size(sandbox_book)

        # Contacts of the connected books: same ids, statuses; memberships linked to members by email.
        contacts = {c.email: c for c in session.scalars(select(Contact))}
        for book_id, list_id in lists.items():
            book = account.books[book_id]
            member_ids = {
                m.email: m.id
                for m in session.scalars(select(ListMember).where(ListMember.list_id == list_id))
            }
            memberships = {
                email: abc
                for abc, email in session.execute(
                    select(AddressBookContact, Contact.email)
                    .join(Contact, Contact.id == AddressBookContact.contact_id)
                    .where(AddressBookContact.address_book_id == books[book_id].id)
                )
            }
            for cid in account.member_ids(book):
                sandbox_contact = account.contacts[cid]
                local = contacts[sandbox_contact.email]
                assert local.origin_id == cid
                assert local.status == sandbox_contact.status
                abc = memberships[sandbox_contact.email]
                assert abc.status == sandbox_contact.status
                assert abc.list_member_id == member_ids.get(sandbox_contact.email)
                assert not abc.added_by_dotsync
            # Book unsubscribes: membership opted out, member unsubscribed.
            for email in account.unsubscribed_emails(book):
                assert memberships[email].status == "Unsubscribed"
                member = session.scalar(
                    select(ListMember).where(ListMember.list_id == list_id, ListMember.email == email)
                )
                if member is not None:
                    assert member.state == "unsubscribed"
                    assert member.state_reason
        # Account suppressions: contact status, and every connected list's member unsubscribed.
        for email, reason in account.suppressed_emails().items():
            assert contacts[email].status == reason
            for member in session.scalars(select(ListMember).where(ListMember.email == email)):
                assert member.state == "unsubscribed", (email, member.list_id)

        # Campaigns sent to connected books: activities, summaries and statistics as in the sandbox.
        campaigns = {c.origin_id: c for c in session.scalars(select(Campaign))}
        sent = [c for c in account.campaigns.values() if c.status == "Sent"]
        assert {c.id for c in sent} == set(campaigns)
        summaries = {row.campaign_id: row for row in session.execute(select(campaign_summary))}
        member_emails = {
            list_id: {
                m.email: m.id
                for m in session.scalars(select(ListMember).where(ListMember.list_id == list_id))
            }
            for list_id in lists.values()
        }
        for sandbox_campaign in sent:
            local = campaigns[sandbox_campaign.id]
            assert not local.is_deleted
            assert local.name == sandbox_campaign.name
            activities = {
                a.email: a for a in session.scalars(select(Activity).where(Activity.campaign_id == local.id))
            }
            assert len(activities) == len(sandbox_campaign.activities)
            expected = sandbox_campaign.summary()
            summary = summaries[local.id]
            assert summary.num_total_sent == expected["numTotalSent"]
            assert summary.num_total_opens == expected["numTotalOpens"]
            assert summary.num_total_clicks == expected["numTotalClicks"]
            assert summary.percentage_unique_opens == expected["percentageUniqueOpens"]
            stats = {
                s.list_member_id: s
                for s in session.scalars(
                    select(MemberStatistics).where(MemberStatistics.campaign_id == local.id)
                )
            }
            wanted_members = 0
            for activity in sandbox_campaign.activities.values():
                assert activities[activity.email].num_opens == activity.num_opens
                for book_id in sandbox_campaign.book_ids:
                    member_id = member_emails[lists[book_id]].get(activity.email)
                    if member_id is None:
                        continue
                    wanted_members += 1
                    assert stats[member_id].open_count == activity.num_opens
                    assert stats[member_id].click_count == activity.num_clicks
                    assert stats[member_id].bounce_count == int(activity.soft_bounced) + int(
                        activity.hard_bounced
                    )
                    assert stats[member_id].last_contacted_at == activity.date_sent
            assert len(stats) == wanted_members
            kinds = Counter(
                session.scalars(
                    select(MarketingEvent.event_type).where(MarketingEvent.campaign_id == local.id)
                )
            )
            assert kinds["send"] == wanted_members
            assert kinds["click"] >= 1 or expected["numTotalClicks"] == 0
