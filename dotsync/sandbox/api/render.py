"""JSON shapes of the model objects, camelCase as the API answers (reference §1.4)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dotsync.sandbox.dates import format_date
from dotsync.sandbox.state import Account, AddressBook, Contact


def book_json(account: Account, book: AddressBook) -> dict[str, Any]:
    """ApiAddressBook."""
    return {
        "id": book.id,
        "name": book.name,
        "visibility": book.visibility,
        "contacts": account.book_size(book),
    }


def _value(value: Any) -> Any:
    return format_date(value) if isinstance(value, datetime) else value


def contact_json(account: Account, contact: Contact, full: bool = True) -> dict[str, Any]:
    """ApiContact; with ``full`` every account data field is listed (null when the contact has no value)."""
    data_fields = None
    if full:
        values = contact.data or {}
        data_fields = [{"key": name, "value": _value(values.get(name))} for name in account.data_fields]
    return {
        "id": contact.id,
        "email": contact.email,
        "optInType": contact.opt_in_type,
        "emailType": contact.email_type,
        "dataFields": data_fields,
        "status": contact.status,
    }


def suppression_json(
    contact: Contact, date: datetime, reason: str, *, null_data_fields: bool = False
) -> dict[str, Any]:
    """ApiContactSuppression (data fields are not returned for suppressed contacts: ``[]``, or ``null`` as the
    vendor's own example of suppressed-since writes it)."""
    return {
        "suppressedContact": {
            "id": contact.id,
            "email": contact.email,
            "optInType": contact.opt_in_type,
            "emailType": contact.email_type,
            "dataFields": None if null_data_fields else [],
            "status": contact.status,
        },
        "dateRemoved": format_date(date),
        "reason": reason,
    }
