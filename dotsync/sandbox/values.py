"""Validation and typing of contact values: email syntax, enum spellings, data-field names and typed
values."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from dotsync.sandbox.dates import parse_date

CONTACT_STATUSES = (
    "Subscribed",
    "Unsubscribed",
    "SoftBounced",
    "HardBounced",
    "IspComplained",
    "MailBlocked",
    "PendingOptIn",
    "DirectComplaint",
    "Deleted",
    "SharedSuppression",
    "Suppressed",
    "NotAllowed",
    "DomainSuppression",
    "NoMxRecord",
)
# statuses that take a contact out of every send: an account-level suppression
SUPPRESSED_STATUSES = frozenset(CONTACT_STATUSES) - {"Subscribed", "SoftBounced", "PendingOptIn"}
OPT_IN_TYPES = ("Unknown", "Single", "Double", "VerifiedDouble")
EMAIL_TYPES = ("PlainText", "Html")
DATA_FIELD_TYPES = ("String", "Numeric", "Date", "Boolean")
VISIBILITIES = ("Private", "Public")

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_EMAIL = re.compile(
    rf"^(?=.{{3,254}}$)(?=[^@]{{1,64}}@){_ATOM}(?:\.{_ATOM})*@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_FIELD_NAME = re.compile(r"^[A-Za-z0-9_-]{1,20}$")
_TRUE = {"true", "yes", "1", "y"}
_FALSE = {"false", "no", "0", "n"}


def is_valid_email(email: str) -> bool:
    """A pragmatic syntax check: dot-separated local part, ``@``, a domain with a letters-only TLD."""
    return _EMAIL.match(email) is not None


def is_valid_field_name(name: str) -> bool:
    """Data-field names: 1-20 characters of letters, digits, ``_`` and ``-``."""
    return bool(_FIELD_NAME.match(name))


def canonical(value: object, choices: tuple[str, ...]) -> str | None:
    """The enum spelling matching ``value`` case-insensitively, or None."""
    if not isinstance(value, str):
        return None
    lowered = value.strip().lower()
    for choice in choices:
        if choice.lower() == lowered:
            return choice
    return None


class BadValue(ValueError):
    """A value that does not fit its data field's type."""


def coerce(field_type: str, raw: Any) -> Any:
    """Turn a CSV cell or JSON value into the field's type; None/"" clear the value; raise BadValue."""
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None
    if field_type == "String":
        return raw if isinstance(raw, str) else str(raw)
    if field_type == "Numeric":
        if isinstance(raw, bool):
            raise BadValue(raw)
        if isinstance(raw, int | float):
            return raw
        text = str(raw).strip()
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                raise BadValue(raw) from None
    if field_type == "Boolean":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise BadValue(raw)
    if field_type == "Date":
        if isinstance(raw, datetime):
            return raw
        try:
            return parse_date(str(raw))
        except ValueError:
            raise BadValue(raw) from None
    return raw
