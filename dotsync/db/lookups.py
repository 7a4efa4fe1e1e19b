"""The look-ups every layer above the database asks for: a list by name, a list's book, the connected books.

Here, below both ``services/`` and ``sync/``, so the commands and the sync steps ask the same question the same
way (and get the same error when the answer is "none").
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from dotsync.db.models import AddressBook, MarketingList
from dotsync.errors import BadInputError, NotFoundError


def get_list(session: Session, name: str) -> MarketingList:
    """The list named ``name`` (exact name), or :class:`NotFoundError`."""
    found = session.scalar(select(MarketingList).where(MarketingList.name == name))
    if found is None:
        raise NotFoundError(f"no list named {name!r} (see `dotsync list ls`)")
    return found


def connected_book(session: Session, marketing_list: MarketingList) -> AddressBook:
    """The address book ``marketing_list`` is connected to, or :class:`BadInputError`."""
    book = session.scalar(select(AddressBook).where(AddressBook.marketing_list_id == marketing_list.id))
    if book is None:
        raise BadInputError(
            f"list {marketing_list.name!r} is not connected to an address book (see `dotsync connect`)"
        )
    return book


def connected_books(
    session: Session,
    integration_id: int,
    *,
    with_missing: bool = False,
    ids: Collection[int] | None = None,
) -> list[AddressBook]:
    """The integration's books connected to a list, in a stable order (by id).

    Books deleted in Dotmailer (``missing_since`` set) are left out unless ``with_missing``: the import has
    nothing to read from them, the export names each one as failed. ``ids`` keeps only those books.
    """
    query = select(AddressBook).where(
        AddressBook.integration_id == integration_id, AddressBook.marketing_list_id.is_not(None)
    )
    if not with_missing:
        query = query.where(AddressBook.missing_since.is_(None))
    if ids is not None:
        query = query.where(AddressBook.id.in_(list(ids)))
    return list(session.scalars(query.order_by(AddressBook.id)))
