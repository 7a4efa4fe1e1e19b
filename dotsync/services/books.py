"""Address books as the user sees them: list (optionally only those free to connect) and create in Dotmailer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from dotsync.db.models import AddressBook, Integration, MarketingList
from dotsync.dotmailer.errors import DuplicateError
from dotsync.errors import BadInputError
from dotsync.services.integrations import get_integration
from dotsync.sync.orchestrator import ClientFactory

VISIBILITIES = {"private": "Private", "public": "Public"}


class BookState(StrEnum):
    """Whether a book can be connected to a list."""

    CONNECTED = "connected"
    MISSING = "missing"  # connected, and gone from Dotmailer
    SYSTEM = "system"  # "All Contacts", "Test": never connected
    AVAILABLE = "available"

    @classmethod
    def of(cls, book: AddressBook) -> BookState:
        if book.missing_since is not None:
            return cls.MISSING
        if book.marketing_list_id is not None:
            return cls.CONNECTED
        if book.is_system:
            return cls.SYSTEM
        return cls.AVAILABLE


@dataclass(frozen=True)
class BookView:
    """An address book as ``books list|create`` show it."""

    integration: str
    id: int
    name: str
    visibility: str | None
    contacts: int | None
    state: BookState
    list: str | None  # the connected list's name
    missing_since: datetime | None
    last_contact_import_at: datetime | None
    last_unsubscribe_import_at: datetime | None
    last_exported_at: datetime | None


def _view(book: AddressBook, integration: str, list_name: str | None) -> BookView:
    return BookView(
        integration=integration,
        id=book.origin_id,
        name=book.name,
        visibility=book.visibility,
        contacts=book.contact_count,
        state=BookState.of(book),
        list=list_name,
        missing_since=book.missing_since,
        last_contact_import_at=book.last_contact_import_at,
        last_unsubscribe_import_at=book.last_unsubscribe_import_at,
        last_exported_at=book.last_exported_at,
    )


def list_books(
    session: Session, integration: str | None = None, *, available: bool = False
) -> list[BookView]:
    """Books of one integration (or of all); ``available``: only those that can be connected to a list."""
    query = (
        select(AddressBook, Integration.name, MarketingList.name)
        .join(Integration, Integration.id == AddressBook.integration_id)
        .outerjoin(MarketingList, MarketingList.id == AddressBook.marketing_list_id)
        .order_by(Integration.name, AddressBook.name, AddressBook.origin_id)
    )
    if integration is not None:
        query = query.where(AddressBook.integration_id == get_integration(session, integration).id)
    views = [
        _view(book, integration_name, list_name)
        for book, integration_name, list_name in session.execute(query)
    ]
    if available:
        views = [v for v in views if v.state == BookState.AVAILABLE]
    return views


def create_book(
    session: Session,
    make_client: ClientFactory,
    integration: str | None,
    name: str,
    visibility: str = "private",
) -> BookView:
    """Create a book in Dotmailer, then store it; a name Dotmailer refuses as taken is bad input (exit 2)."""
    name = name.strip()
    if not name:
        raise BadInputError("the address book name is empty")
    if len(name) > 255:
        raise BadInputError("the address book name is longer than 255 characters")
    wanted = VISIBILITIES.get(visibility.lower())
    if wanted is None:
        raise BadInputError(f"unknown visibility {visibility!r}; choose private or public")
    found = get_integration(session, integration)
    with make_client(found) as client:
        client.connect()
        if client.endpoint and client.endpoint != found.api_endpoint:
            found.api_endpoint = client.endpoint
        try:
            created = client.create_address_book(name, wanted)
        except DuplicateError as exc:
            raise BadInputError(
                f"Dotmailer refused the name {name!r}: {(exc.api_message or str(exc)).strip()}"
            ) from exc
    book = session.scalar(
        select(AddressBook).where(AddressBook.integration_id == found.id, AddressBook.origin_id == created.id)
    )
    if book is None:
        book = AddressBook(integration_id=found.id, origin_id=created.id, name=created.name)
        session.add(book)
    book.name = created.name
    book.visibility = created.visibility or wanted
    book.contact_count = created.contacts if created.contacts is not None else 0
    session.flush()
    return _view(book, found.name, None)
