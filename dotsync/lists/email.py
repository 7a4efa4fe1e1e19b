"""Email normalisation: the one place that decides what a list member's email is (trimmed, lower-cased, valid).

The check is a syntax check only (no DNS): what Dotmailer would accept as a contact email, written so that a
rejected address comes with a reason a user can act on. Dotmailer lower-cases emails, so dotsync does too,
which also makes case variants of one address collapse to one member.

Two functions, one rule for the spelling: :func:`normalise_email` is for addresses dotsync is *given* (CSV
files, query sources, the command line) and checks them; :func:`email_key` is for addresses Dotmailer *sent*
(contacts, opt-outs, campaign feeds), which it already holds: they are only trimmed and lower-cased, never
refused, so a contact or an opt-out is never lost to a stricter check than Dotmailer's.
"""

from __future__ import annotations

import re
from typing import NamedTuple

MAX_EMAIL_LENGTH = 254
MAX_LOCAL_LENGTH = 64
MAX_LABEL_LENGTH = 63

# The common case, checked in one regex call; anything it refuses goes through the explained checks below
# (which also accept the rare valid addresses the regex does not cover, e.g. non-ASCII letters).
_ATEXT = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_FAST = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*@(?:{_LABEL}\.)+[a-z](?:[a-z0-9-]{{0,61}}[a-z0-9])")
_LOCAL_SPECIALS = frozenset("!#$%&'*+/=?^_`{|}~-")


class NormalisedEmail(NamedTuple):
    """Either ``email`` (normalised, valid) or ``reason`` (why the value is not a usable email)."""

    email: str | None
    reason: str | None


def email_key(value: str | None) -> str:
    """An address as Dotmailer sent it, as dotsync stores and matches it: trimmed and lower-cased, unchecked;
    "" for none."""
    return (value or "").strip().lower()


def normalise_email(value: object) -> NormalisedEmail:
    """Trim, lower-case and syntax-check ``value``; return the email, or None and the reason it is invalid."""
    if value is None:
        return NormalisedEmail(None, "empty email")
    email = email_key(value if isinstance(value, str) else str(value))
    if len(email) <= MAX_EMAIL_LENGTH and _FAST.fullmatch(email):
        local = email.partition("@")[0]
        if len(local) <= MAX_LOCAL_LENGTH:
            return NormalisedEmail(email, None)
    reason = _invalid_reason(email)
    if reason is not None:
        return NormalisedEmail(None, f"invalid email {_shorten(email)!r}: {reason}" if email else reason)
    return NormalisedEmail(email, None)


def is_valid_email(value: object) -> bool:
    return normalise_email(value).email is not None


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _invalid_reason(email: str) -> str | None:
    """Why a trimmed, lower-cased value is not a valid email (None when it is valid)."""
    if not email:
        return "empty email"
    if len(email) > MAX_EMAIL_LENGTH:
        return f"longer than {MAX_EMAIL_LENGTH} characters"
    for char in email:
        if char.isspace() or ord(char) < 32 or ord(char) == 127 or char == "\x85":
            return "contains spaces or control characters"
    ats = email.count("@")
    if ats == 0:
        return "missing @"
    if ats > 1:
        return "more than one @"
    local, _, domain = email.partition("@")
    return _local_reason(local) or _domain_reason(domain)


def _local_reason(local: str) -> str | None:
    if not local:
        return "nothing before the @"
    if len(local) > MAX_LOCAL_LENGTH:
        return f"the part before the @ is longer than {MAX_LOCAL_LENGTH} characters"
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return "misplaced dot before the @"
    for char in local:
        if not (char.isalnum() or char in _LOCAL_SPECIALS or char == "."):
            return f"character {char!r} is not allowed before the @"
    return None


def _domain_reason(domain: str) -> str | None:
    if not domain:
        return "nothing after the @"
    if "." not in domain:
        return "the domain has no dot"
    labels = domain.split(".")
    if any(not label for label in labels):
        return "misplaced dot in the domain"
    for label in labels:
        if len(label) > MAX_LABEL_LENGTH:
            return f"a domain label is longer than {MAX_LABEL_LENGTH} characters"
        if label.startswith("-") or label.endswith("-"):
            return "a domain label starts or ends with a hyphen"
        for char in label:
            if not (char.isalnum() or char == "-"):
                return f"character {char!r} is not allowed in the domain"
    top = labels[-1]
    if len(top) < 2 or top.isdigit() or not top[0].isalpha():
        return f"{top!r} is not a top-level domain"
    return None
