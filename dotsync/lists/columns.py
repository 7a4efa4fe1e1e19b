"""Choosing the email column among a file's or a query's columns, and the field columns beside it."""

from __future__ import annotations

import re
from collections.abc import Sequence

from dotsync.errors import BadInputError

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
# Names that mean "the email" once lower-cased and stripped of spaces, dashes and underscores.
_EMAIL_NAMES = ("email", "emailaddress", "mail", "emailaddr")


def _squash(name: str) -> str:
    return _NON_ALNUM.sub("", name.lower())


def find_email_column(columns: Sequence[str], wanted: str | None, *, source: str) -> str:
    """The column holding emails: ``wanted`` (exact, else case-insensitive), else one named like "email".

    Without ``wanted``: a column named "email" in any case; else one named like "Email Address", "e-mail" or
    "mail"; else the only column whose name contains "email". BadInputError (naming the columns found) when
    there is none, or several equally good candidates.
    """
    found = ", ".join(repr(c) for c in columns) or "none"
    if len(columns) == 1 and any(sep in columns[0] for sep in (";", "\t", "|")):
        raise BadInputError(
            f"{source} has a single column {columns[0]!r}: it seems to use another separator than a comma, "
            "but dotsync reads comma-separated files"
        )
    if wanted is not None:
        wanted = wanted.strip()
        if wanted in columns:
            return wanted
        folded = [c for c in columns if c.lower() == wanted.lower()]
        if len(folded) == 1:
            return folded[0]
        raise BadInputError(f"{source} has no column {wanted!r} (columns found: {found})")
    for candidates in (
        [c for c in columns if c.lower() == "email"],
        [c for c in columns if _squash(c) in _EMAIL_NAMES],
        [c for c in columns if "email" in _squash(c)],
    ):
        if len(candidates) == 1:
            return candidates[0]
        if len(candidates) > 1:
            names = ", ".join(repr(c) for c in candidates)
            raise BadInputError(
                f"{source} has several columns that could hold the email ({names}); choose one with --email-column"
            )
    raise BadInputError(f"{source} has no email column (columns found: {found}); name it with --email-column")


def field_columns(columns: Sequence[str], email_column: str) -> list[str]:
    """Every column but the email column, in order: their values become the member's fields."""
    return [c for c in columns if c != email_column]
