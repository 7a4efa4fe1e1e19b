"""SQLAlchemy models for dotsync's own database: the whole domain of SPEC §2.

ORM classes are bare nouns. Bulk work (members, contacts, activities) goes through SQLAlchemy Core on these
tables (``Model.__table__``); the ORM is for small, per-object work in the CLI.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects.mysql import LONGBLOB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from dotsync.db.types import UTCDateTime, metadata, utcnow

# The vocabularies stored in this database, each said once. Members are ``str`` (``StrEnum``): a column holds the
# plain value, a value read back compares equal to its member, and SQL built with a member renders that value.
# Rows bound one by one in bulk (executemany) take ``.value``: the drivers bind an exact ``str`` faster than a
# subclass (sqlite3 looks for an adapter for each one).


class MemberState(StrEnum):
    """A list member's state (SPEC §2): ``ListMember.state``."""

    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    REMOVED = "removed"


class ListKind(StrEnum):
    """Where a list's members come from: files and hands, or a read-only SQL query (``MarketingList.kind``)."""

    STATIC = "static"
    QUERY = "query"


class Operation(StrEnum):
    """How the next upload sends a book row: a contact new to Dotmailer, one new to the book, or an update
    (``AddressBookContact.operation``)."""

    NEW = "new"
    ADD = "add"
    UPDATE = "update"


class ImportStatus(StrEnum):
    """Dotmailer's status of an upload (a "contact import"), as dotsync keeps it: ``ContactExport.status`` and a
    book's ``sync_status``. Dotmailer's own error statuses (``Failed``...) are kept as it sends them."""

    NOT_FINISHED = "NotFinished"
    FINISHED = "Finished"
    REJECTED = "RejectedByWatchdog"
    UNKNOWN = "Unknown"  # dotsync gave up polling: Dotmailer never said how it ended


class RunKind(StrEnum):
    """What a run did: ``Run.kind``."""

    IMPORT = "import"
    EXPORT = "export"
    EXPORT_DRY_RUN = "export-dry-run"
    SYNC = "sync"


class RunOutcome(StrEnum):
    """How a run ended: ``Run.outcome``."""

    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    SKIPPED = "skipped"  # another run held the integration's lock
    STOPPED = "stopped_early"  # out of API calls (or waiting time) for now: resumed next run
    # Never stored: what the history shows for a ``running`` row whose process died (sync.runs.killed_run_ids).
    KILLED = "killed"


class StepOutcome(StrEnum):
    """How one connector or one book's export ended: ``RunStep.outcome`` (a step is recorded once it is over)."""

    SUCCESS = "success"
    FAILED = "failed"
    SKIPPED = "skipped"
    STOPPED = "stopped_early"
    HELD = "held"  # the mass-change guard held the book's export


# Dotmailer contact statuses that still receive mail in a book.
ACTIVE_CONTACT_STATUSES = ("Subscribed", "SoftBounced")
# ... and those a contact can have without having opted out: a pending double opt-in is not an opt-out.
REACHABLE_CONTACT_STATUSES = (*ACTIVE_CONTACT_STATUSES, "PendingOptIn")

# Dotmailer's built-in address books, recognised by name (they have no id convention). They are imported like
# any other, and never offered for connection (``AddressBook.is_system``).
SYSTEM_BOOK_NAMES = ("all contacts", "test")


class Base(DeclarativeBase):
    metadata = metadata
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[str]: JSON()}


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Integration(Timestamped, Base):
    """One Dotmailer account."""

    __tablename__ = "integration"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    username: Mapped[str] = mapped_column(String(255))
    password_encrypted: Mapped[str] = mapped_column(Text)
    api_url: Mapped[str] = mapped_column(String(255))
    api_endpoint: Mapped[str | None] = mapped_column(String(255))
    owner: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    datafields_synced_at: Mapped[datetime | None]
    # Dotmailer rate limits as the last run saw them: "tiered" (per minute, 429) or "hourly" (ApiCallsRemaining),
    # the last limit hit (text and time), and the time before which no call may be made (after a 429).
    rate_limit_scheme: Mapped[str | None] = mapped_column(String(16))
    rate_limit_hit: Mapped[str | None] = mapped_column(Text)
    rate_limit_hit_at: Mapped[datetime | None]
    rate_limited_until: Mapped[datetime | None]

    address_books: Mapped[list[AddressBook]] = relationship(
        back_populates="integration", cascade="all, delete-orphan", passive_deletes=True
    )


class MarketingList(Timestamped, Base):
    """A list of members: ``static`` (stored here) or ``query`` (rows of a read-only SQL query)."""

    __tablename__ = "marketing_list"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # static | query
    email_column: Mapped[str] = mapped_column(String(255), default="email")
    field_columns: Mapped[list[str]] = mapped_column(default=list)
    query: Mapped[str | None] = mapped_column(Text)
    source_url_encrypted: Mapped[str | None] = mapped_column(Text)
    refreshed_at: Mapped[datetime | None]
    source_error: Mapped[str | None] = mapped_column(Text)
    # The list's change counter: every write that can change what Dotmailer should hold for a member stamps
    # the member with a value of it (see dotsync.lists.changes and docs/DESIGN.md, "Change tracking").
    change_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    address_book: Mapped[AddressBook | None] = relationship(back_populates="marketing_list")


class ListMember(Timestamped, Base):
    """A member of a list: normalised email, field values, state (subscribed, unsubscribed, removed)."""

    __tablename__ = "list_member"
    __table_args__ = (
        UniqueConstraint("list_id", "email"),
        # Export pages walk a list's members in id order: the id ends the index.
        Index("ix_list_member_list_state", "list_id", "state", "id"),
        # The export plans the members changed since the sequence it last planned.
        Index("ix_list_member_list_change", "list_id", "change_seq"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("marketing_list.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    fields_hash: Mapped[str] = mapped_column(String(32), default="")
    state: Mapped[str] = mapped_column(String(16), default=MemberState.SUBSCRIBED.value)
    state_reason: Mapped[str | None] = mapped_column(Text)
    state_changed_at: Mapped[datetime | None]
    # Query lists: False once the member left the query's result (its state is kept for when it comes back).
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    # The list's change_seq when this member last changed (fields, state, membership of a query's result).
    change_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class AddressBook(Timestamped, Base):
    """Mirror of a Dotmailer address book, and the connection to at most one list."""

    __tablename__ = "address_book"
    __table_args__ = (UniqueConstraint("integration_id", "origin_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integration.id", ondelete="CASCADE"))
    origin_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(255))
    visibility: Mapped[str | None] = mapped_column(String(32))
    contact_count: Mapped[int | None]
    marketing_list_id: Mapped[int | None] = mapped_column(
        ForeignKey("marketing_list.id", ondelete="SET NULL"), unique=True
    )
    connected_at: Mapped[datetime | None]
    sync_status: Mapped[str | None] = mapped_column(String(64))
    sync_error: Mapped[str | None] = mapped_column(Text)
    # The import whose failure sync_error reports (cleared when a later import finishes); NULL when the error
    # came from elsewhere (plan, upload, guard) or there is none.
    sync_error_import_id: Mapped[str | None] = mapped_column(String(100))
    # Set when a connected book was not returned by Dotmailer any more; cleared when it comes back.
    missing_since: Mapped[datetime | None]
    last_contact_import_at: Mapped[datetime | None]
    last_unsubscribe_import_at: Mapped[datetime | None]
    last_exported_at: Mapped[datetime | None]
    # Hash of the mappings and data-field types the last plan used; when it changes every member is re-planned.
    plan_signature: Mapped[str | None] = mapped_column(String(32))
    # The connected list's change_seq up to which every change has been planned and applied (None: plan all).
    planned_seq: Mapped[int | None] = mapped_column(BigInteger)
    # Mass-change guard (per connection): thresholds and a one-shot confirmation.
    guard_remove_percent: Mapped[float] = mapped_column(Float, default=20.0)
    guard_remove_max: Mapped[int] = mapped_column(Integer, default=1000)
    guard_update_percent: Mapped[float] = mapped_column(Float, default=50.0)
    guard_held_reason: Mapped[str | None] = mapped_column(Text)
    # Removals Dotmailer has not applied after every attempt (still pending), as shown by ``status``; NULL: none.
    removal_note: Mapped[str | None] = mapped_column(Text)
    # Contacts that join the book in Dotmailer become members of the (static) list (issue 15).
    import_new_contacts: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    integration: Mapped[Integration] = relationship(back_populates="address_books")
    marketing_list: Mapped[MarketingList | None] = relationship(back_populates="address_book")
    mappings: Mapped[list[FieldMapping]] = relationship(
        back_populates="address_book", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def is_system(self) -> bool:
        """One of Dotmailer's built-in books ("All Contacts", "Test"), which cannot be connected to a list."""
        return self.name.strip().lower() in SYSTEM_BOOK_NAMES


class Contact(Timestamped, Base):
    """A Dotmailer contact as dotsync knows it, per integration."""

    __tablename__ = "contact"
    __table_args__ = (
        UniqueConstraint("integration_id", "email"),
        UniqueConstraint("integration_id", "origin_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integration.id", ondelete="CASCADE"))
    origin_id: Mapped[int | None] = mapped_column(BigInteger)
    email: Mapped[str] = mapped_column(String(320))
    status: Mapped[str | None] = mapped_column(String(32))
    opt_in_type: Mapped[str | None] = mapped_column(String(32))
    email_type: Mapped[str | None] = mapped_column(String(32))
    data_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    unsubscribed_at: Mapped[datetime | None]


class AddressBookContact(Timestamped, Base):
    """A contact's membership of a book, and the export bookkeeping for it."""

    __tablename__ = "address_book_contact"
    __table_args__ = (
        UniqueConstraint("address_book_id", "contact_id"),
        # Partial indexes (SQLite, PostgreSQL; a full index elsewhere): the scheduled rows, and the rows the
        # import or settle stamped. A row the export inserts as sent enters neither, so a first export writes
        # two index entries fewer per member. Queries repeat the condition literally so the index applies.
        # ``scheduled`` is in the columns for MySQL/MariaDB, which index every row: without it, finding a book's
        # few scheduled rows read all of the book's rows.
        Index(
            "ix_abc_book_scheduled",
            "address_book_id",
            "scheduled",
            "id",
            sqlite_where=text("scheduled = 1"),
            postgresql_where=text("scheduled"),
        ),
        Index(
            "ix_abc_book_change",
            "address_book_id",
            "change_seq",
            sqlite_where=text("change_seq > 0"),
            postgresql_where=text("change_seq > 0"),
        ),
        # The pending removals of a book (few, usually none: the export asks for them every run).
        Index(
            "ix_abc_book_removal",
            "address_book_id",
            "removal_requested_at",
            sqlite_where=text("removal_requested_at IS NOT NULL"),
            postgresql_where=text("removal_requested_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    address_book_id: Mapped[int] = mapped_column(ForeignKey("address_book.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), index=True)
    status: Mapped[str | None] = mapped_column(String(32))
    unsubscribed_at: Mapped[datetime | None]
    unsubscribe_reason: Mapped[str | None] = mapped_column(String(64))
    list_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("list_member.id", ondelete="SET NULL"), index=True
    )
    # True when dotsync put this contact in the book; only such contacts are ever removed by dotsync.
    added_by_dotsync: Mapped[bool] = mapped_column(Boolean, default=False)
    scheduled: Mapped[bool] = mapped_column(Boolean, default=False)
    operation: Mapped[str | None] = mapped_column(String(8))
    scheduled_hash: Mapped[str | None] = mapped_column(String(32))
    import_id: Mapped[str | None] = mapped_column(String(100), index=True)
    sent_hash: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None]
    # The CSV line (no header) planned for the next upload, formatted once by the plan; NULL once sent.
    scheduled_row: Mapped[str | None] = mapped_column(Text)
    # A value of the connected list's change_seq, stamped when the import or the export's settle step changed
    # this row in a way the next plan must look at (status, re-queued upload).
    change_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Uploads of this row that ended in an error status; a row is re-queued after a failure only once.
    export_failures: Mapped[int] = mapped_column(Integer, default=0)
    # A removal sent (``contacts/delete`` answers 202; Dotmailer applies it later) and not yet confirmed by a
    # read of the book: when it was last sent (Dotmailer's clock; NULL: no removal pending), how many times,
    # and when a check last found the contact still listed (see dotsync/sync/export/pending_removals.py).
    removal_requested_at: Mapped[datetime | None]
    removal_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    removal_checked_at: Mapped[datetime | None]


class ContactExport(Timestamped, Base):
    """One CSV upload to Dotmailer (an "import" in Dotmailer's words)."""

    __tablename__ = "contact_export"

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[str] = mapped_column(String(100), unique=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integration.id", ondelete="CASCADE"))
    address_book_id: Mapped[int | None] = mapped_column(
        ForeignKey("address_book.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(64), default=ImportStatus.NOT_FINISHED.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    failed_polls: Mapped[int] = mapped_column(Integer, default=0)
    faults_processed: Mapped[bool] = mapped_column(Boolean, default=False)
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    byte_count: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class UploadIntent(Base):
    """Members about to be uploaded to a book for the first time: written before the upload, deleted in the
    transaction that records it. One left behind means a run died between the two; the contact import then
    knows that a contact of these members it finds in the book was added by dotsync (so a removal may take it
    out again), though no book row says so. ``member_ids``: the file's new rows' member ids, 8 bytes each
    (``array("q")``), exactly: a contact of any other member is never taken for dotsync's. Dropped by the
    book's next upload once older than a week."""

    __tablename__ = "upload_intent"

    id: Mapped[int] = mapped_column(primary_key=True)
    address_book_id: Mapped[int] = mapped_column(
        ForeignKey("address_book.id", ondelete="CASCADE"), index=True
    )
    member_ids: Mapped[bytes] = mapped_column(LargeBinary().with_variant(LONGBLOB(), "mysql", "mariadb"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


campaign_address_book = Table(
    "campaign_address_book",
    metadata,
    Column("campaign_id", ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True),
    Column("address_book_id", ForeignKey("address_book.id", ondelete="CASCADE"), primary_key=True),
)


class Campaign(Timestamped, Base):
    """Mirror of a Dotmailer campaign (every field of ApiCampaign)."""

    __tablename__ = "campaign"
    __table_args__ = (UniqueConstraint("integration_id", "origin_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integration.id", ondelete="CASCADE"))
    origin_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str | None] = mapped_column(String(255))
    from_name: Mapped[str | None] = mapped_column(String(255))
    from_address: Mapped[str | None] = mapped_column(String(255))
    from_address_id: Mapped[int | None] = mapped_column(BigInteger)
    html_content: Mapped[str | None] = mapped_column(Text)
    plain_text_content: Mapped[str | None] = mapped_column(Text)
    reply_action: Mapped[str | None] = mapped_column(String(64))
    reply_to_address: Mapped[str | None] = mapped_column(String(255))
    is_split_test: Mapped[bool | None] = mapped_column(Boolean)
    status: Mapped[str | None] = mapped_column(String(64))
    is_deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Activity bookkeeping: when activity/clicks/opens were last read in full or since a date.
    activity_synced_at: Mapped[datetime | None]
    summary_synced_at: Mapped[datetime | None]

    address_books: Mapped[list[AddressBook]] = relationship(secondary=campaign_address_book)


SUMMARY_INT_FIELDS = (
    "num_unique_opens",
    "num_unique_text_opens",
    "num_total_unique_opens",
    "num_opens",
    "num_text_opens",
    "num_total_opens",
    "num_clicks",
    "num_text_clicks",
    "num_total_clicks",
    "num_page_views",
    "num_total_page_views",
    "num_text_page_views",
    "num_forwards",
    "num_text_forwards",
    "num_estimated_forwards",
    "num_text_estimated_forwards",
    "num_total_estimated_forwards",
    "num_replies",
    "num_text_replies",
    "num_total_replies",
    "num_hard_bounces",
    "num_text_hard_bounces",
    "num_total_hard_bounces",
    "num_soft_bounces",
    "num_text_soft_bounces",
    "num_total_soft_bounces",
    "num_unsubscribes",
    "num_text_unsubscribes",
    "num_total_unsubscribes",
    "num_isp_complaints",
    "num_text_isp_complaints",
    "num_total_isp_complaints",
    "num_mail_blocks",
    "num_text_mail_blocks",
    "num_total_mail_blocks",
    "num_sent",
    "num_text_sent",
    "num_total_sent",
    "num_recipients_clicked",
    "num_delivered",
    "num_text_delivered",
    "num_total_delivered",
)
SUMMARY_FLOAT_FIELDS = (
    "percentage_delivered",
    "percentage_unique_opens",
    "percentage_opens",
    "percentage_unsubscribes",
    "percentage_replies",
    "percentage_hard_bounces",
    "percentage_soft_bounces",
    "percentage_users_clicked",
    "percentage_clicks_to_opens",
)

SUMMARY_COMMERCE_FIELDS = (
    "revenue",
    "conversion_rate",
    "assisted_revenue",
    "num_orders",
    "num_assisted_orders",
)

campaign_summary = Table(
    "campaign_summary",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "campaign_id",
        ForeignKey("campaign.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("date_sent", UTCDateTime(), nullable=True),
    *[Column(name, Integer, nullable=True) for name in SUMMARY_INT_FIELDS],
    *[Column(name, Float, nullable=True) for name in SUMMARY_FLOAT_FIELDS],
    # Commerce fields of the current API (reference §15); revenue is text as the account formats it ("$0.00").
    Column("revenue", String(64), nullable=True),
    Column("conversion_rate", Float, nullable=True),
    Column("assisted_revenue", String(64), nullable=True),
    Column("num_orders", Integer, nullable=True),
    Column("num_assisted_orders", Integer, nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False, default=utcnow),
)


class Activity(Timestamped, Base):
    """Per (campaign, contact email): the contact's activity summary for that campaign."""

    __tablename__ = "activity"
    __table_args__ = (UniqueConstraint("campaign_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"), index=True)
    contact_origin_id: Mapped[int | None] = mapped_column(BigInteger)
    email: Mapped[str] = mapped_column(String(320), index=True)
    num_opens: Mapped[int | None]
    num_page_views: Mapped[int | None]
    num_clicks: Mapped[int | None]
    num_forwards: Mapped[int | None]
    num_estimated_forwards: Mapped[int | None]
    num_replies: Mapped[int | None]
    date_sent: Mapped[datetime | None]
    date_first_opened: Mapped[datetime | None]
    date_last_opened: Mapped[datetime | None]
    first_open_ip: Mapped[str | None] = mapped_column(String(255))
    unsubscribed: Mapped[bool | None] = mapped_column(Boolean)
    soft_bounced: Mapped[bool | None] = mapped_column(Boolean)
    hard_bounced: Mapped[bool | None] = mapped_column(Boolean)


class MarketingEvent(Base):
    """One send / open / click / soft_bounce / hard_bounce / unsubscribe of a list member in a campaign."""

    __tablename__ = "marketing_event"
    __table_args__ = (
        # event_key = hash of (type, time, detail): re-reading a page never inserts an event twice.
        UniqueConstraint("campaign_id", "list_member_id", "event_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    list_member_id: Mapped[int] = mapped_column(ForeignKey("list_member.id", ondelete="CASCADE"), index=True)
    event_type: Mapped[str] = mapped_column(String(16))
    event_key: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime | None]
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MemberStatistics(Base):
    """Per (campaign, list member): the "Email Campaign statistics" of the seed README."""

    __tablename__ = "member_statistics"
    __table_args__ = (UniqueConstraint("campaign_id", "list_member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    list_member_id: Mapped[int] = mapped_column(ForeignKey("list_member.id", ondelete="CASCADE"), index=True)
    open_count: Mapped[int] = mapped_column(Integer, default=0)
    click_count: Mapped[int] = mapped_column(Integer, default=0)
    bounce_count: Mapped[int] = mapped_column(Integer, default=0)
    unsubscribe_count: Mapped[int] = mapped_column(Integer, default=0)
    last_contacted_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DataField(Base):
    """Mirror of a Dotmailer data field."""

    __tablename__ = "data_field"
    __table_args__ = (UniqueConstraint("integration_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integration.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(20))
    type: Mapped[str] = mapped_column(String(32))
    visibility: Mapped[str | None] = mapped_column(String(32))
    default_value: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class FieldMapping(Base):
    """Per connection: list field(s) -> data field, and whether changes flow back (two-way)."""

    __tablename__ = "field_mapping"
    __table_args__ = (UniqueConstraint("address_book_id", "data_field_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address_book_id: Mapped[int] = mapped_column(ForeignKey("address_book.id", ondelete="CASCADE"))
    # One list field, or several joined with "+" (their values are joined with a space, e.g. FULLNAME).
    list_fields: Mapped[str] = mapped_column(String(512))
    data_field_name: Mapped[str] = mapped_column(String(20))
    two_way: Mapped[bool] = mapped_column(Boolean, default=False)

    address_book: Mapped[AddressBook] = relationship(back_populates="mappings")


class Watermark(Base):
    """A connector's "since" point: the start time of its last successful run (per integration and scope)."""

    __tablename__ = "watermark"
    __table_args__ = (UniqueConstraint("integration_id", "connector", "scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integration.id", ondelete="CASCADE"))
    connector: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(64), default="")
    value: Mapped[datetime]


class Run(Base):
    """History of every command run: kind, integration, times, outcome, per-step counts, API calls, error."""

    __tablename__ = "run"
    __table_args__ = (Index("ix_run_integration_started", "integration_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    integration_id: Mapped[int | None] = mapped_column(ForeignKey("integration.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(16), default=RunOutcome.RUNNING.value)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    api_calls: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None]

    steps: Mapped[list[RunStep]] = relationship(
        back_populates="run", cascade="all, delete-orphan", passive_deletes=True, order_by="RunStep.id"
    )


class RunStep(Base):
    """One connector or export step inside a run."""

    __tablename__ = "run_step"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str | None] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(16))
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    api_calls: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)

    run: Mapped[Run] = relationship(back_populates="steps")


class LockHolder(Base):
    """Who holds an integration's run lock and since when (the lock itself is advisory or a file lock)."""

    __tablename__ = "lock_holder"

    integration_id: Mapped[int] = mapped_column(
        ForeignKey("integration.id", ondelete="CASCADE"), primary_key=True
    )
    holder: Mapped[str] = mapped_column(String(255))
    acquired_at: Mapped[datetime]


class AlertState(Base):
    """A problem that alerts know about: announced (``announced_at`` set) or waiting to be (delivery failed).

    One row per problem key; the row is deleted once the problem cleared and its ``resolved`` was delivered.
    ``cleared_at`` marks a cleared problem whose ``resolved`` message could not be delivered yet.
    """

    __tablename__ = "alert_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    integration_id: Mapped[int | None] = mapped_column(ForeignKey("integration.id", ondelete="CASCADE"))
    book: Mapped[str | None] = mapped_column(String(255))
    problem: Mapped[str] = mapped_column(Text)
    since: Mapped[datetime | None]
    run_id: Mapped[int | None]
    first_seen_at: Mapped[datetime]
    announced_at: Mapped[datetime | None]
    cleared_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
