"""The sandbox's in-memory model of Dotmailer accounts: books, contacts, data fields, opt-outs, campaigns.

An :class:`Account` holds one API user's world. Its methods are both what the API handlers call and the
"world-scripting" helpers tests use to make things happen in Dotmailer "from elsewhere" (a user unsubscribing,
a campaign going out, an email changing). Every mutation bumps ``version`` (which invalidates cached listings)
and records relevant changes in the shared :class:`~dotsync.sandbox.history.History`.

Opt-outs belong to the contact (by id), so they follow an email change. A book unsubscribe takes the contact
out of that book; an account suppression keeps book memberships but sets the contact's status, hides it from
"All Contacts" and from ``GET contacts/{id}``, and makes every import fault it.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from dotsync.sandbox.campaigns import Campaign
from dotsync.sandbox.dates import Clock, utc
from dotsync.sandbox.errors import ApiError, bad_request, not_found
from dotsync.sandbox.history import History
from dotsync.sandbox.values import (
    DATA_FIELD_TYPES,
    EMAIL_TYPES,
    OPT_IN_TYPES,
    SUPPRESSED_STATUSES,
    VISIBILITIES,
    BadValue,
    canonical,
    coerce,
    is_valid_email,
    is_valid_field_name,
)

ALL_CONTACTS = "All Contacts"
TEST_BOOK = "Test"
DEFAULT_DATA_FIELDS = ("FIRSTNAME", "LASTNAME", "FULLNAME", "GENDER", "POSTCODE")
SENDABLE = frozenset({"Subscribed", "SoftBounced"})
_CACHE_SLOTS = 16


class Env:
    """What all accounts of one sandbox share: the clock, the history log, the world RNG and id counters."""

    def __init__(self, clock: Clock, history: History, seed: int) -> None:
        self.clock = clock
        self.history = history
        self.rng = random.Random(seed)
        self._ids = {kind: itertools.count(start) for kind, start in _ID_STARTS.items()}

    def next_id(self, kind: str) -> int:
        """A new id, unique across the sandbox, for ``account``, ``book``, ``contact`` or ``campaign``."""
        return next(self._ids[kind])


_ID_STARTS = {"account": 1001, "book": 101, "contact": 1_000_001, "campaign": 5001}


@dataclass(slots=True)
class DataField:
    """ApiDataField."""

    name: str
    type: str = "String"
    visibility: str = "Private"
    default_value: Any = None
    system: bool = False

    def to_json(self) -> dict[str, Any]:
        """The API's camelCase shape."""
        return {
            "name": self.name,
            "type": self.type,
            "visibility": self.visibility,
            "defaultValue": self.default_value,
        }


@dataclass(slots=True)
class Contact:
    """ApiContact; ``data`` maps upper-case field names to typed values (None when no value is set)."""

    id: int
    email: str
    created: datetime
    modified: datetime
    status: str = "Subscribed"
    opt_in_type: str = "Unknown"
    email_type: str = "Html"
    data: dict[str, Any] | None = None


@dataclass(slots=True)
class Suppression:
    """An account-level suppression of a contact."""

    contact_id: int
    reason: str
    date: datetime


@dataclass(slots=True)
class AddressBook:
    """ApiAddressBook plus members (contact ids, insertion-ordered) and book unsubscribes (id -> date)."""

    id: int
    name: str
    visibility: str = "Private"
    system: str | None = None  # "all" (All Contacts) | "test" (Test) | None
    members: dict[int, None] = field(default_factory=dict)
    unsubscribed: dict[int, datetime] = field(default_factory=dict)

    @property
    def writable(self) -> bool:
        """System books cannot be written to through the API."""
        return self.system is None


def _not_writable() -> ApiError:
    return bad_request("Address book cannot be written to via the API.", "ERROR_ADDRESSBOOK_NOTWRITABLE")


@dataclass
class ContactImport:
    """One upload (the model; its lifecycle, from checks to report, is in imports.py)."""

    id: str
    book_id: int | None
    filename: str
    created: datetime
    outcome: str
    data: bytes | None
    status: str = "NotFinished"
    polls: int = 0
    header: list[str] = field(default_factory=list)
    report: dict[str, int] | None = None
    faults: list[tuple[str, list[str]]] = field(default_factory=list)
    finished: datetime | None = None
    sent: bytes | None = None  # a copy of the file, kept only with ImportConfig.keep_files (for tests)

    def to_json(self) -> dict[str, str]:
        """ApiContactImport."""
        return {"id": self.id, "status": self.status}


class Account:
    """One Dotmailer account, reached with one API user's credentials."""

    def __init__(
        self,
        env: Env,
        username: str,
        password: str,
        *,
        name: str = "Sandbox account",
        main_email: str | None = None,
        api_endpoint: str | None = None,
    ) -> None:
        self.env = env
        self.username = username
        self.password = password
        self.id = env.next_id("account")
        self.name = name
        self.main_email = main_email or "owner@sandbox.example"
        self.api_endpoint = api_endpoint  # None: the scheme+host the request came in on
        self.books: dict[int, AddressBook] = {}
        self.contacts: dict[int, Contact] = {}
        self.by_email: dict[str, int] = {}
        self.data_fields: dict[str, DataField] = {}
        self.suppressions: dict[int, Suppression] = {}
        self.campaigns: dict[int, Campaign] = {}
        self.imports: dict[str, ContactImport] = {}
        self.call_times: deque[datetime] = deque()
        # Bulk removals answered 202 but not applied yet: (due time, book id, contact ids), in request order.
        self.pending_removals: list[tuple[datetime, int, list[int]]] = []
        self.version = 0
        self._cache: dict[Any, Any] = {}
        self._cache_version = -1
        for field_name in DEFAULT_DATA_FIELDS:
            self.data_fields[field_name] = DataField(field_name, system=True)
        self._add_book(ALL_CONTACTS, "Private", "all")
        self._add_book(TEST_BOOK, "Private", "test")

    # ----------------------------------------------------------------- plumbing
    def now(self) -> datetime:
        """The sandbox clock."""
        return self.env.clock.now()

    def touch(self) -> None:
        """Note a state change (invalidates cached listings)."""
        self.version += 1

    def cached(self, key: Any, build: Callable[[], Any]) -> Any:
        """A listing computed once per state version, so paging a big book is O(n) overall, not O(n²)."""
        if self._cache_version != self.version:
            self._cache.clear()
            self._cache_version = self.version
        if key not in self._cache:
            if len(self._cache) >= _CACHE_SLOTS:  # many distinct "since" dates: keep memory bounded
                self._cache.clear()
            self._cache[key] = build()
        return self._cache[key]

    def _record(
        self,
        action: str,
        book_id: int | None,
        email: str,
        source: str,
        detail: str = "",
        when: datetime | None = None,
    ) -> None:
        self.env.history.record(when or self.now(), self.username, action, book_id, email, source, detail)

    def calls_in_last_hour(self, now: datetime) -> int:
        """API calls counted in the rolling hour ending at ``now``."""
        horizon = now - timedelta(hours=1)
        while self.call_times and self.call_times[0] <= horizon:
            self.call_times.popleft()
        return len(self.call_times)

    # ----------------------------------------------------------------- books
    def _add_book(self, name: str, visibility: str, system: str | None = None) -> AddressBook:
        book = AddressBook(self.env.next_id("book"), name, visibility, system)
        self.books[book.id] = book
        self.touch()
        return book

    @property
    def all_contacts(self) -> AddressBook:
        """The system "All Contacts" book."""
        return next(b for b in self.books.values() if b.system == "all")

    @property
    def test_book(self) -> AddressBook:
        """The system "Test" book."""
        return next(b for b in self.books.values() if b.system == "test")

    def create_book(self, name: str, visibility: str = "Private") -> AddressBook:
        """Create a book; reserved or duplicate names (case-insensitive) give ERROR_ADDRESSBOOK_DUPLICATE."""
        name = (name or "").strip() if isinstance(name, str) else ""
        if not name or len(name) > 255:
            raise bad_request("The address book name is not valid.", "ERROR_ADDRESSBOOK_INVALID")
        vis = canonical(visibility, VISIBILITIES)
        if vis is None:
            raise bad_request(f"Visibility '{visibility}' is not valid.", "ERROR_PARAMETER_INVALID")
        if any(b.name.lower() == name.lower() for b in self.books.values()):
            raise bad_request(
                "That name is in use already, please choose another.", "ERROR_ADDRESSBOOK_DUPLICATE"
            )
        return self._add_book(name, vis)

    def book(self, ref: AddressBook | int | str) -> AddressBook:
        """A book by object, id or name (case-insensitive); 404 ERROR_ADDRESSBOOK_NOT_FOUND if unknown."""
        if isinstance(ref, AddressBook):
            return ref
        if isinstance(ref, int):
            found = self.books.get(ref)
        else:
            found = next((b for b in self.books.values() if b.name.lower() == ref.lower()), None)
        if found is None:
            raise not_found("ERROR_ADDRESSBOOK_NOT_FOUND")
        return found

    def update_book(
        self, ref: AddressBook | int | str, name: str, visibility: str | None = None
    ) -> AddressBook:
        """Rename a user book / change its visibility."""
        book = self.book(ref)
        if not book.writable:
            raise _not_writable()
        if name.lower() != book.name.lower() and any(
            b.name.lower() == name.lower() for b in self.books.values()
        ):
            raise bad_request(
                "That name is in use already, please choose another.", "ERROR_ADDRESSBOOK_DUPLICATE"
            )
        vis = canonical(visibility, VISIBILITIES) if visibility is not None else book.visibility
        if vis is None or not name.strip():
            raise bad_request("The address book is not valid.", "ERROR_ADDRESSBOOK_INVALID")
        book.name, book.visibility = name.strip(), vis
        self.touch()
        return book

    def delete_book(self, ref: AddressBook | int | str, source: str = "world") -> None:
        """Delete a user book (its members stay in the account)."""
        book = self.book(ref)
        if not book.writable:
            raise _not_writable()
        for contact_id in book.members:
            self._record("remove", book.id, self.contacts[contact_id].email, source, "book deleted")
        del self.books[book.id]
        self.touch()

    def member_ids(self, book: AddressBook) -> list[int]:
        """Contact ids in a book, in membership order (All Contacts: every non-suppressed contact)."""
        if book.system == "all":
            return self.cached(
                ("all-members",), lambda: [cid for cid in self.contacts if cid not in self.suppressions]
            )
        return self.cached(("members", book.id), lambda: list(book.members))

    def book_size(self, book: AddressBook) -> int:
        """The ``contacts`` count of a book."""
        if book.system == "all":
            return len(self.contacts) - len(self.suppressions)
        return len(book.members)

    def member_emails(self, ref: AddressBook | int | str) -> set[str]:
        """World helper: the emails currently in a book."""
        return {self.contacts[cid].email for cid in self.member_ids(self.book(ref))}

    def unsubscribed_emails(self, ref: AddressBook | int | str) -> set[str]:
        """World helper: emails unsubscribed from a book."""
        return {self.contacts[cid].email for cid in self.book(ref).unsubscribed}

    def suppressed_emails(self) -> dict[str, str]:
        """World helper: account-suppressed emails and their reasons."""
        return {self.contacts[s.contact_id].email: s.reason for s in self.suppressions.values()}

    # ----------------------------------------------------------------- contacts
    def contact_by_email(self, email: str) -> Contact | None:
        """The contact with this email (case-insensitive), if any."""
        cid = self.by_email.get(email.strip().lower())
        return self.contacts[cid] if cid is not None else None

    def find_contact(self, ref: int | str) -> Contact:
        """A contact by id or email; 404 ERROR_CONTACT_NOT_FOUND."""
        contact = self.contacts.get(ref) if isinstance(ref, int) else self.contact_by_email(ref)
        if contact is None:
            raise not_found("ERROR_CONTACT_NOT_FOUND")
        return contact

    def new_contact(self, email: str, when: datetime | None = None) -> Contact:
        """Create a contact (the email must be valid and unused)."""
        when = when or self.now()
        contact = Contact(self.env.next_id("contact"), email.strip().lower(), when, when)
        self.contacts[contact.id] = contact
        self.by_email[contact.email] = contact.id
        self.touch()
        return contact

    def add_member(
        self, book: AddressBook, contact: Contact, source: str, when: datetime | None = None
    ) -> bool:
        """Put a contact in a book (no opt-out checks here: callers decide); True if it was not there."""
        if contact.id in book.members:
            return False
        book.members[contact.id] = None
        contact.modified = when = when or self.now()
        self.touch()
        self._record("add", book.id, contact.email, source, when=when)
        return True

    def schedule_removal(self, book: AddressBook, contact_ids: list[int], delay: float) -> str:
        """A bulk removal: applied after ``delay`` seconds of sandbox time (at once when 0); returns a job id."""
        job = str(uuid.uuid4())  # not from the world RNG, so seeded worlds draw as before
        if delay <= 0:
            for contact_id in contact_ids:
                self.remove_member(book, contact_id, "api")
        else:
            self.pending_removals.append((self.now() + timedelta(seconds=delay), book.id, list(contact_ids)))
        return job

    def apply_due_removals(self) -> None:
        """Apply the bulk removals whose delay has passed (called before every request and on ``advance``)."""
        if not self.pending_removals:
            return
        now = self.now()
        due = [item for item in self.pending_removals if item[0] <= now]
        self.pending_removals = [item for item in self.pending_removals if item[0] > now]
        for _when, book_id, contact_ids in due:
            book = self.books.get(book_id)
            if book is None:
                continue
            for contact_id in contact_ids:
                self.remove_member(book, contact_id, "api")

    def remove_member(self, book: AddressBook, contact_id: int, source: str) -> bool:
        """Take a contact out of a book; True if it was there."""
        if contact_id not in book.members:
            return False
        del book.members[contact_id]
        contact = self.contacts[contact_id]
        contact.modified = self.now()
        self.touch()
        self._record("remove", book.id, contact.email, source)
        return True

    def field_values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Check and type data-field values keyed by field name (any case); 400 on unknown field/bad value."""
        typed: dict[str, Any] = {}
        for key, raw in values.items():
            data_field = self.data_fields.get(str(key).upper())
            if data_field is None:
                raise bad_request(f"Data field '{key}' does not exist.", "ERROR_DATAFIELD_NOTFOUND")
            try:
                typed[data_field.name] = coerce(data_field.type, raw)
            except BadValue:
                raise bad_request(
                    f"Value for data field '{key}' is not valid.", "ERROR_DATAFIELD_INVALID"
                ) from None
        return typed

    def apply_values(self, contact: Contact, typed: Mapping[str, Any], when: datetime | None = None) -> bool:
        """Store typed values on a contact (None clears); True if anything changed."""
        data = contact.data if contact.data is not None else {}
        changed = False
        for name, value in typed.items():
            if value is None:
                if data.pop(name, None) is not None:
                    changed = True
            elif data.get(name) != value:
                data[name] = value
                changed = True
        contact.data = data or None
        if changed:
            contact.modified = when or self.now()
            self.touch()
        return changed

    def add_contact(
        self,
        ref: AddressBook | int | str,
        email: str,
        data_fields: Mapping[str, Any] | None = None,
        *,
        opt_in_type: str | None = None,
        email_type: str | None = None,
        source: str = "world",
    ) -> Contact:
        """Add (or update) one contact in a book, with the API's rules for a single add.

        Raises 400 ``ERROR_CONTACT_SUPPRESSED`` for an account-suppressed contact and
        ``ERROR_CONTACT_SUPPRESSEDFORADDRESSBOOK`` for one unsubscribed from this book.
        """
        book = self.book(ref)
        if not book.writable:
            raise _not_writable()
        address = email.strip().lower()
        if not is_valid_email(address):
            raise bad_request("Email is not a valid email address.", "ERROR_PARAMETER_INVALID")
        typed = self.field_values(data_fields or {})
        opt_in = canonical(opt_in_type, OPT_IN_TYPES) if opt_in_type else None
        kind = canonical(email_type, EMAIL_TYPES) if email_type else None
        contact = self.contact_by_email(address)
        if contact is not None and contact.id in self.suppressions:
            raise bad_request("Contact is suppressed.", "ERROR_CONTACT_SUPPRESSED")
        if contact is not None and contact.id in book.unsubscribed:
            raise bad_request(
                "Contact is unsubscribed from this address book.", "ERROR_CONTACT_SUPPRESSEDFORADDRESSBOOK"
            )
        if contact is None:
            contact = self.new_contact(address)
        if opt_in:
            contact.opt_in_type = opt_in
        if kind:
            contact.email_type = kind
        self.apply_values(contact, typed)
        self.add_member(book, contact, source)
        return contact

    def add_contacts(
        self, ref: AddressBook | int | str, contacts: Iterable[str | Mapping[str, Any]], source: str = "world"
    ) -> list[Contact]:
        """World helper: add contacts to a book "from elsewhere" (not via dotsync).

        Items are emails or dicts ``{"email", "dataFields": {NAME: value}, "optInType", "emailType"}``.
        """
        added = []
        for item in contacts:
            if isinstance(item, str):
                added.append(self.add_contact(ref, item, source=source))
            else:
                lowered = {str(k).lower(): v for k, v in item.items()}
                added.append(
                    self.add_contact(
                        ref,
                        str(lowered.get("email", "")),
                        lowered.get("datafields") or {},
                        opt_in_type=lowered.get("optintype"),
                        email_type=lowered.get("emailtype"),
                        source=source,
                    )
                )
        return added

    def _contact_for(self, email: str, when: datetime) -> Contact:
        contact = self.contact_by_email(email)
        if contact is None:
            if not is_valid_email(email.strip().lower()):
                raise bad_request("Email is not a valid email address.", "ERROR_PARAMETER_INVALID")
            contact = self.new_contact(email, when)
        return contact

    def unsubscribe(
        self, ref: AddressBook | int | str, email: str, when: datetime | None = None, source: str = "world"
    ) -> Contact:
        """Unsubscribe an email from one book (it leaves the book and shows in ``unsubscribed-since``)."""
        book = self.book(ref)
        when = utc(when) if when else self.now()
        contact = self._contact_for(email, when)
        book.members.pop(contact.id, None)
        book.unsubscribed[contact.id] = when
        contact.modified = when
        self.touch()
        self._record("unsubscribe", book.id, contact.email, source)
        return contact

    def suppress(
        self, email: str, reason: str = "Suppressed", when: datetime | None = None, source: str = "world"
    ) -> Contact:
        """Suppress an email for the whole account (``reason``: a contact status such as ``HardBounced``)."""
        status = canonical(reason, tuple(SUPPRESSED_STATUSES))
        if status is None:
            raise ValueError(
                f"{reason!r} is not a suppression reason ({', '.join(sorted(SUPPRESSED_STATUSES))})"
            )
        when = utc(when) if when else self.now()
        contact = self._contact_for(email, when)
        contact.status = status
        contact.modified = when
        self.suppressions[contact.id] = Suppression(contact.id, status, when)
        self.touch()
        self._record("suppress", None, contact.email, source, status)
        return contact

    def resubscribe(
        self, email: str, ref: AddressBook | int | str | None = None, source: str = "world"
    ) -> Contact:
        """World helper: lift a book unsubscribe (``ref`` given) or the account suppression (no ``ref``)."""
        contact = self.find_contact(email)
        if ref is None:
            self.suppressions.pop(contact.id, None)
            contact.status = "Subscribed"
            self._record("resubscribe", None, contact.email, source)
        else:
            book = self.book(ref)
            book.unsubscribed.pop(contact.id, None)
            self._record("resubscribe", book.id, contact.email, source)
        contact.modified = self.now()
        self.touch()
        return contact

    def change_email(self, old: str, new: str) -> Contact:
        """World helper: change a contact's email (its id, memberships and opt-outs stay)."""
        contact = self.find_contact(old)
        address = new.strip().lower()
        if not is_valid_email(address):
            raise bad_request("Email is not a valid email address.", "ERROR_PARAMETER_INVALID")
        if address in self.by_email and self.by_email[address] != contact.id:
            raise bad_request("The email is in use by another contact.", "ERROR_NON_UNIQUE_EMAIL")
        previous = contact.email
        del self.by_email[previous]
        contact.email = address
        self.by_email[address] = contact.id
        contact.modified = self.now()
        for campaign in self.campaigns.values():
            activity = campaign.activities.get(contact.id)
            if activity is not None:
                activity.email = address
        self.touch()
        self._record("email_change", None, address, "world", previous)
        return contact

    def set_data_fields(
        self, email: str, values: Mapping[str, Any], when: datetime | None = None, source: str = "world"
    ) -> Contact:
        """World helper: change a contact's data fields from outside dotsync (a form, a user in the web app).

        Values are keyed by field name (any case) and typed as the API would (400 on an unknown field or a bad
        value); None clears one. The contact's modification time moves when anything changed, so it shows in
        ``modified-since``."""
        contact = self.find_contact(email)
        when = utc(when) if when else self.now()
        if self.apply_values(contact, self.field_values(values), when):
            self._record("data_fields", None, contact.email, source, ", ".join(sorted(values)))
        return contact

    # ----------------------------------------------------------------- data fields
    def create_data_field(
        self, name: str, type: str = "String", visibility: str = "Private", default: Any = None
    ) -> DataField:
        """Create a data field (names are stored upper-case); 400 on a bad name/type or a duplicate."""
        if not isinstance(name, str) or not is_valid_field_name(name):
            raise bad_request(
                "Data field names are 1-20 characters of letters, digits, '_' and '-'.",
                "ERROR_DATAFIELD_INVALID",
            )
        field_type = canonical(type, DATA_FIELD_TYPES)
        vis = canonical(visibility, VISIBILITIES)
        if field_type is None or vis is None:
            raise bad_request("Data field type or visibility is not valid.", "ERROR_DATAFIELD_INVALID")
        if name.upper() in self.data_fields:
            raise bad_request("Field already exists.", "ERROR_NON_UNIQUE_DATAFIELD")
        try:
            default_value = coerce(field_type, default)
        except BadValue:
            raise bad_request("The default value does not fit the type.", "ERROR_DATAFIELD_INVALID") from None
        data_field = DataField(name.upper(), field_type, vis, default_value)
        self.data_fields[data_field.name] = data_field
        self.touch()
        return data_field

    def delete_data_field(self, name: str) -> None:
        """Delete a data field and its values; 404 for an unknown or a system field."""
        data_field = self.data_fields.get(name.upper())
        if data_field is None:
            raise not_found("ERROR_DATAFIELD_NOTFOUND")
        if data_field.system:
            raise ApiError(404, "System data fields cannot be deleted. ERROR_DATAFIELD_INVALID")
        del self.data_fields[data_field.name]
        for contact in self.contacts.values():
            if contact.data and contact.data.pop(data_field.name, None) is not None:
                contact.modified = self.now()
                contact.data = contact.data or None
        self.touch()

    # ----------------------------------------------------------------- campaigns
    def create_campaign(self, name: str, subject: str | None = None, **fields: Any) -> Campaign:
        """World helper: an unsent campaign (``fields``: from_name, from_email, reply_action, status, ...)."""
        campaign = Campaign(self.env.next_id("campaign"), name, subject or name, **fields)
        self.campaigns[campaign.id] = campaign
        self.touch()
        return campaign

    def campaign(self, ref: Campaign | int | str) -> Campaign:
        """A campaign by object, id or name; 404 ERROR_CAMPAIGN_NOT_FOUND."""
        if isinstance(ref, Campaign):
            return ref
        if isinstance(ref, int):
            found = self.campaigns.get(ref)
        else:
            found = next((c for c in self.campaigns.values() if c.name == ref), None)
        if found is None:
            raise not_found("ERROR_CAMPAIGN_NOT_FOUND")
        return found

    def send_campaign(
        self,
        name: str | Campaign,
        books: Iterable[AddressBook | int | str],
        *,
        opens: Iterable[str] | float = (),
        clicks: Iterable[str] | float = (),
        soft_bounces: Iterable[str] | float = (),
        hard_bounces: Iterable[str] | float = (),
        unsubscribes: Iterable[str] | float = (),
        when: datetime | None = None,
    ) -> Campaign:
        """World helper: send a campaign to books and record what recipients did.

        Recipients are the current sendable members (status Subscribed/SoftBounced) of the books. Each
        activity argument is a collection of recipient emails, an ``int`` (that many random recipients) or a
        ``float`` in [0, 1] (that share of recipients), drawn from the sandbox's seeded RNG. A hard bounce or
        an unsubscribe also suppresses the contact for the account (reasons ``HardBounced``/``Unsubscribed``);
        a soft bounce sets its status to ``SoftBounced``. A click implies an open.
        """
        when = utc(when) if when else self.now()
        campaign = name if isinstance(name, Campaign) else self.create_campaign(name)
        targets = [self.book(b) for b in books]
        if not targets:
            raise ValueError("send_campaign needs at least one book (an empty list would mean All Contacts)")
        campaign.book_ids = [b.id for b in targets]
        campaign.status, campaign.date_sent = "Sent", when
        recipients: dict[int, Contact] = {}
        for book in targets:
            for cid in self.member_ids(book):
                contact = self.contacts[cid]
                if contact.status in SENDABLE and cid not in self.suppressions:
                    recipients.setdefault(cid, contact)
        for contact in recipients.values():
            campaign.add_recipient(contact.id, contact.email, contact.email_type == "PlainText", when)
        pool = [c.email for c in recipients.values()]
        source = f"campaign:{campaign.id}"
        hard = self._pick(hard_bounces, pool)
        soft = self._pick(soft_bounces, [e for e in pool if e not in hard])
        delivered = [e for e in pool if e not in hard and e not in soft]
        openers = self._pick(opens, delivered)
        clickers = self._pick(clicks, delivered)
        leavers = self._pick(unsubscribes, delivered)
        for email in pool:
            contact = self.find_contact(email)
            if email in hard:
                campaign.record_bounce(contact.id, when, hard=True)
                self.suppress(email, "HardBounced", when, source)
            elif email in soft:
                campaign.record_bounce(contact.id, when, hard=False)
                contact.status, contact.modified = "SoftBounced", when
            if email in openers:
                campaign.record_open(contact.id, when, 1 + self.env.rng.randrange(3))
            if email in clickers:
                campaign.record_click(contact.id, when, f"https://sandbox.example/c/{campaign.id}/offer")
            if email in leavers:
                campaign.record_unsubscribe(contact.id, when)
                self.suppress(email, "Unsubscribed", when, source)
        self.touch()
        return campaign

    def record_activity(
        self,
        campaign_ref: Campaign | int | str,
        email: str,
        *,
        opens: int = 0,
        clicks: int = 0,
        unsubscribe: bool = False,
        when: datetime | None = None,
    ) -> None:
        """World helper: later activity by a recipient of a sent campaign (for *since-date* tests)."""
        campaign = self.campaign(campaign_ref)
        contact = self.find_contact(email)
        if contact.id not in campaign.activities:
            raise ValueError(f"{email} did not receive campaign {campaign.id}")
        when = utc(when) if when else self.now()
        if opens:
            campaign.record_open(contact.id, when, opens)
        for _ in range(clicks):
            campaign.record_click(contact.id, when, f"https://sandbox.example/c/{campaign.id}/offer")
        if unsubscribe:
            campaign.record_unsubscribe(contact.id, when)
            self.suppress(email, "Unsubscribed", when, f"campaign:{campaign.id}")
        self.touch()

    def _pick(self, spec: Iterable[str] | float, pool: list[str]) -> set[str]:
        if isinstance(spec, bool):
            raise TypeError("activity selection must be emails, a count or a share")
        if isinstance(spec, int):
            return set(self.env.rng.sample(pool, min(spec, len(pool))))
        if isinstance(spec, float):
            return set(self.env.rng.sample(pool, round(len(pool) * spec)))
        chosen = {e.strip().lower() for e in spec}
        strangers = chosen - set(pool)
        if strangers:
            raise ValueError(f"not recipients of this send: {', '.join(sorted(strangers))}")
        return chosen
