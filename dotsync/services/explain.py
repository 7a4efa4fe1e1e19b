"""``dotsync explain EMAIL``: everything dotsync knows about one email, and why it is (not) in each book.

Read only. Gathers, for one normalised email: its membership and state in each list, its Dotmailer contact and
its membership of each book (status, added by dotsync or not, what was last sent and in which upload, how that
upload ended), opt-outs read from Dotmailer, pending removals and campaign statistics; then a verdict per
connected list and a timeline of everything dated, in time order.

dotsync keeps, per contact and book, the *last* upload that carried it (not every earlier one): the timeline
shows that upload; earlier uploads of the same row are not recorded per contact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dotsync.db.models import (
    ACTIVE_CONTACT_STATUSES,
    Activity,
    AddressBook,
    AddressBookContact,
    Campaign,
    Contact,
    ContactExport,
    ImportStatus,
    Integration,
    ListKind,
    ListMember,
    MarketingEvent,
    MarketingList,
    MemberState,
    MemberStatistics,
)
from dotsync.errors import BadInputError
from dotsync.lists.email import normalise_email
from dotsync.services.integrations import get_integration


@dataclass(frozen=True)
class Membership:
    """The email's member in one list."""

    list: str
    kind: str
    state: str
    reason: str | None
    state_changed_at: datetime | None
    added_at: datetime
    in_query_result: bool | None  # query lists only
    fields: dict[str, Any]
    book: str | None  # the list's address book


@dataclass(frozen=True)
class UploadView:
    """The last upload that carried a contact to a book."""

    import_id: str
    status: str
    rows: int
    created_at: datetime
    finished_at: datetime | None
    error: str | None


@dataclass(frozen=True)
class BookMembership:
    """The contact in one address book, and what dotsync last sent of it."""

    book: str
    book_id: int
    status: str | None
    added_by_dotsync: bool
    scheduled: bool
    operation: str | None
    last_sent_at: datetime | None
    last_upload: UploadView | None
    unsubscribed_at: datetime | None
    unsubscribe_reason: str | None
    export_failures: int
    pending_removal: bool  # the next export removes it
    removal_sent_at: datetime | None  # a removal sent, not yet seen applied
    removal_attempts: int


@dataclass(frozen=True)
class ContactView:
    """The email's Dotmailer contact in one integration."""

    integration: str
    dotmailer_id: int | None
    status: str | None
    opt_in_type: str | None
    email_type: str | None
    unsubscribed_at: datetime | None
    data_fields: dict[str, Any]
    first_seen_at: datetime
    books: list[BookMembership]


@dataclass(frozen=True, kw_only=True)
class AccountOptOut:
    """A suppression of the contact in the whole Dotmailer account."""

    integration: str
    scope: str = "account"
    book: None = None
    status: str | None
    date: datetime | None


@dataclass(frozen=True, kw_only=True)
class BookOptOut:
    """An unsubscribe of the contact from one book."""

    integration: str
    scope: str = "book"
    book: str
    status: str | None
    reason: str | None
    date: datetime | None


@dataclass(frozen=True)
class PendingRemoval:
    integration: str
    book: str
    why: str


@dataclass(frozen=True)
class CampaignStats:
    """The email's statistics for one campaign: per member (opens, clicks...) and per contact (activity)."""

    integration: str
    campaign: str
    campaign_id: int
    opens: int | None
    clicks: int | None
    bounces: int | None
    unsubscribes: int | None
    last_contacted_at: datetime | None
    date_sent: datetime | None
    first_opened_at: datetime | None
    hard_bounced: bool | None
    soft_bounced: bool | None
    unsubscribed: bool | None


@dataclass(frozen=True)
class Verdict:
    """Is the email in the list's book, and why (not)?"""

    list: str
    book: str | None
    in_book: bool
    why: str


@dataclass(frozen=True)
class Event:
    time: datetime
    event: str


@dataclass
class Explanation:
    email: str
    lists: list[Membership] = field(default_factory=list)
    contacts: list[ContactView] = field(default_factory=list)
    opt_outs: list[AccountOptOut | BookOptOut] = field(default_factory=list)
    pending_removals: list[PendingRemoval] = field(default_factory=list)
    campaigns: list[CampaignStats] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    timeline: list[Event] = field(default_factory=list)

    @property
    def known(self) -> bool:
        return bool(self.lists or self.contacts or self.campaigns)

    def as_dict(self) -> dict[str, Any]:
        return {
            "email": self.email,
            "known": self.known,
            "verdicts": self.verdicts,
            "lists": self.lists,
            "contacts": self.contacts,
            "opt_outs": self.opt_outs,
            "pending_removals": self.pending_removals,
            "campaigns": self.campaigns,
            "timeline": self.timeline,
        }

    def event(self, when: datetime | None, what: str) -> None:
        if when is not None:
            self.timeline.append(Event(when, what))


def explain_email(session: Session, raw_email: str, *, integration: str | None = None) -> Explanation:
    email, invalid = normalise_email(raw_email)
    if email is None:
        raise BadInputError(f"{raw_email!r} is not a valid email address: {invalid}")
    only = get_integration(session, integration).id if integration is not None else None
    found = Explanation(email=email)
    members = _members(session, email, only)
    member_ids = {m.id for m, _l, _b in members}
    for member, marketing_list, book in members:
        found.lists.append(
            Membership(
                list=marketing_list.name,
                kind=marketing_list.kind,
                state=member.state,
                reason=member.state_reason,
                state_changed_at=member.state_changed_at,
                added_at=member.created_at,
                in_query_result=member.is_current if marketing_list.kind == ListKind.QUERY else None,
                fields=member.fields,
                book=book.name if book else None,
            )
        )
        found.event(member.created_at, f"added to list {marketing_list.name!r}")
        if member.state_changed_at is not None:
            reason = f": {member.state_reason}" if member.state_reason else ""
            found.event(member.state_changed_at, f"{member.state} in list {marketing_list.name!r}{reason}")

    contacts_query = select(Contact, Integration.name).join(
        Integration, Integration.id == Contact.integration_id
    )
    contacts_query = contacts_query.where(Contact.email == email)
    if only is not None:
        contacts_query = contacts_query.where(Contact.integration_id == only)
    book_rows: dict[int, BookMembership] = {}  # by the book's primary key
    for contact, integration_name in session.execute(contacts_query.order_by(Contact.integration_id)).all():
        view, rows = _contact_view(session, found, contact, integration_name)
        found.contacts.append(view)
        book_rows.update(rows)
    _campaigns(session, found, email, member_ids, only)
    found.verdicts = [
        _verdict(m, lst, book, book_rows.get(book.id) if book else None) for m, lst, book in members
    ]
    found.timeline.sort(key=lambda e: e.time)
    return found


def _members(
    session: Session, email: str, only: int | None
) -> list[tuple[ListMember, MarketingList, AddressBook | None]]:
    query = (
        select(ListMember, MarketingList, AddressBook)
        .join(MarketingList, MarketingList.id == ListMember.list_id)
        .outerjoin(AddressBook, AddressBook.marketing_list_id == MarketingList.id)
        .where(ListMember.email == email)
        .order_by(MarketingList.name)
    )
    if only is not None:
        query = query.where(AddressBook.integration_id == only)
    return [(m, lst, book) for m, lst, book in session.execute(query).all()]


def _contact_view(
    session: Session, found: Explanation, contact: Contact, integration: str
) -> tuple[ContactView, dict[int, BookMembership]]:
    """The contact, and its book rows by the book's primary key."""
    if contact.unsubscribed_at is not None or contact.status not in (None, *ACTIVE_CONTACT_STATUSES):
        found.opt_outs.append(
            AccountOptOut(integration=integration, status=contact.status, date=contact.unsubscribed_at)
        )
        found.event(contact.unsubscribed_at, f"{contact.status} in the Dotmailer account ({integration})")
    books: dict[int, BookMembership] = {}
    rows = session.execute(
        select(AddressBookContact, AddressBook, ListMember)
        .join(AddressBook, AddressBook.id == AddressBookContact.address_book_id)
        .outerjoin(ListMember, ListMember.id == AddressBookContact.list_member_id)
        .where(AddressBookContact.contact_id == contact.id)
        .order_by(AddressBook.name)
    ).all()
    for abc, book, member in rows:
        upload = (
            session.scalar(select(ContactExport).where(ContactExport.import_id == abc.import_id))
            if abc.import_id
            else None
        )
        upload_view = None
        if upload is not None:
            upload_view = UploadView(
                import_id=upload.import_id,
                status=upload.status,
                rows=upload.row_count,
                created_at=upload.created_at,
                finished_at=upload.finished_at,
                error=upload.error,
            )
            found.event(
                upload.created_at,
                f"upload {upload.import_id} to book {book.name!r} ({upload.row_count} rows)",
            )
            if upload.status != ImportStatus.NOT_FINISHED:
                found.event(
                    upload.finished_at or upload.updated_at,
                    f"upload {upload.import_id} ended {upload.status}"
                    + (f": {upload.error}" if upload.error else ""),
                )
        opted_out = abc.status not in (None, *ACTIVE_CONTACT_STATUSES) or abc.unsubscribed_at is not None
        if opted_out:
            found.opt_outs.append(
                BookOptOut(
                    integration=integration,
                    book=book.name,
                    status=abc.status,
                    reason=abc.unsubscribe_reason,
                    date=abc.unsubscribed_at,
                )
            )
            found.event(abc.unsubscribed_at, f"{abc.status} in book {book.name!r} (read from Dotmailer)")
        pending_removal = bool(
            abc.added_by_dotsync
            and abc.status in ACTIVE_CONTACT_STATUSES
            and book.marketing_list_id is not None
            and (member is None or member.state != MemberState.SUBSCRIBED or not member.is_current)
            and (member is None or member.list_id == book.marketing_list_id)
            and abc.removal_requested_at is None  # else sent already, waiting for Dotmailer to apply it
        )
        if abc.removal_requested_at is not None:
            found.event(
                abc.removal_requested_at,
                f"removal from book {book.name!r} sent (attempt {abc.removal_attempts}); "
                "forgotten once Dotmailer no longer lists the contact",
            )
        if pending_removal:
            found.pending_removals.append(
                PendingRemoval(
                    integration=integration,
                    book=book.name,
                    why="its list member is no longer subscribed"
                    if member is not None
                    else "its list member is gone",
                )
            )
        if abc.sent_at is not None:
            found.event(abc.sent_at, f"sent to book {book.name!r} as {abc.operation or 'row'}")
        books[book.id] = BookMembership(
            book=book.name,
            book_id=book.origin_id,
            status=abc.status,
            added_by_dotsync=abc.added_by_dotsync,
            scheduled=abc.scheduled,
            operation=abc.operation,
            last_sent_at=abc.sent_at,
            last_upload=upload_view,
            unsubscribed_at=abc.unsubscribed_at,
            unsubscribe_reason=abc.unsubscribe_reason,
            export_failures=abc.export_failures,
            pending_removal=pending_removal,
            removal_sent_at=abc.removal_requested_at,
            removal_attempts=abc.removal_attempts,
        )
    view = ContactView(
        integration=integration,
        dotmailer_id=contact.origin_id,
        status=contact.status,
        opt_in_type=contact.opt_in_type,
        email_type=contact.email_type,
        unsubscribed_at=contact.unsubscribed_at,
        data_fields=contact.data_fields,
        first_seen_at=contact.created_at,
        books=list(books.values()),
    )
    return view, books


def _campaigns(
    session: Session, found: Explanation, email: str, member_ids: set[int], only: int | None
) -> None:
    stats: dict[int, MemberStatistics] = {}
    if member_ids:
        for row in session.scalars(
            select(MemberStatistics).where(MemberStatistics.list_member_id.in_(member_ids))
        ):
            stats.setdefault(row.campaign_id, row)
    activities = {a.campaign_id: a for a in session.scalars(select(Activity).where(Activity.email == email))}
    campaign_ids = set(stats) | set(activities)
    if not campaign_ids:
        return
    query = (
        select(Campaign, Integration.name)
        .join(Integration, Integration.id == Campaign.integration_id)
        .where(Campaign.id.in_(campaign_ids))
    )
    if only is not None:
        query = query.where(Campaign.integration_id == only)
    for campaign, integration in session.execute(query.order_by(Campaign.name)).all():
        stat = stats.get(campaign.id)
        activity = activities.get(campaign.id)
        found.campaigns.append(
            CampaignStats(
                integration=integration,
                campaign=campaign.name,
                campaign_id=campaign.origin_id,
                opens=stat.open_count if stat else (activity.num_opens if activity else None),
                clicks=stat.click_count if stat else (activity.num_clicks if activity else None),
                bounces=stat.bounce_count if stat else None,
                unsubscribes=stat.unsubscribe_count if stat else None,
                last_contacted_at=stat.last_contacted_at if stat else None,
                date_sent=activity.date_sent if activity else None,
                first_opened_at=activity.date_first_opened if activity else None,
                hard_bounced=activity.hard_bounced if activity else None,
                soft_bounced=activity.soft_bounced if activity else None,
                unsubscribed=activity.unsubscribed if activity else None,
            )
        )
        if activity is not None:
            found.event(activity.date_sent, f"campaign {campaign.name!r} sent")
        if member_ids:
            events = session.scalars(
                select(MarketingEvent)
                .where(
                    MarketingEvent.campaign_id == campaign.id, MarketingEvent.list_member_id.in_(member_ids)
                )
                .order_by(MarketingEvent.occurred_at)
            )
            for event in events:
                if event.event_type == "send" and activity is not None and activity.date_sent:
                    continue  # already on the timeline as "sent"
                detail = f" ({event.detail})" if event.detail else ""
                found.event(event.occurred_at, f"{event.event_type} in campaign {campaign.name!r}{detail}")


def _verdict(
    member: ListMember, marketing_list: MarketingList, book: AddressBook | None, row: BookMembership | None
) -> Verdict:
    """One line answering "is this email in the list's book, and why (not)?"."""
    if book is None:
        return Verdict(marketing_list.name, None, False, "the list is not connected to an address book")
    in_book = (
        row is not None
        and row.status in ACTIVE_CONTACT_STATUSES
        and row.last_sent_at is not None
        and row.removal_sent_at is None
    )
    removed_next = (
        "; it will be removed from the book at the next export" if row and row.pending_removal else ""
    )
    if row is not None and row.status not in (None, *ACTIVE_CONTACT_STATUSES):
        why = f"opted out in Dotmailer ({row.status}); dotsync never adds it back"
        in_book = False
    elif row is not None and row.removal_sent_at is not None:
        why = (
            f"its removal was sent to Dotmailer at {row.removal_sent_at:%Y-%m-%d %H:%M} UTC "
            f"(attempt {row.removal_attempts}); Dotmailer applies removals later, dotsync waits to see it gone"
            + (
                "; re-added to the list, it is sent again then"
                if member.state == MemberState.SUBSCRIBED
                else ""
            )
        )
    elif marketing_list.kind == ListKind.QUERY and not member.is_current:
        why = "no longer in the query's result" + removed_next
    elif member.state != MemberState.SUBSCRIBED:
        reason = f" ({member.state_reason})" if member.state_reason else ""
        why = f"{member.state} in the list{reason}" + removed_next
    elif row is None or row.last_sent_at is None:
        upload = row.last_upload if row else None
        if upload and upload.status == ImportStatus.NOT_FINISHED:
            why = f"upload {upload.import_id} is still being processed by Dotmailer"
        else:
            why = "subscribed, not sent yet: the next export adds it"
    elif row.scheduled:
        why = "in the book; a change is scheduled for the next export"
    elif row.last_upload and row.last_upload.status == ImportStatus.NOT_FINISHED:
        why = f"sent; upload {row.last_upload.import_id} is still being processed by Dotmailer"
    else:
        why = "in the book, up to date"
    return Verdict(marketing_list.name, book.name, in_book, why)
