"""The history log: every state change that matters to dotsync's invariants, in order, for tests to audit.

Actions recorded (``HistoryEvent.action``):

- ``add``: an email became a member of a book (by an import, the single-add call, or a world helper);
- ``remove``: an email was taken out of a book (bulk delete, single delete, book deleted);
- ``unsubscribe``: an email was unsubscribed from one book (book-level opt-out);
- ``suppress``: an email was suppressed for the whole account (``detail`` = reason);
- ``resubscribe``: an opt-out was lifted (book-level if ``book_id`` is set, account-level otherwise);
- ``rejected``: an import row was refused (``detail`` = fault reason), so the email was NOT added;
- ``email_change``: a contact's email changed (``email`` = new, ``detail`` = old).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import NamedTuple


class HistoryEvent(NamedTuple):
    """One recorded state change (a tuple: cheap enough to record a million of them)."""

    seq: int
    at: datetime
    account: str
    action: str
    book_id: int | None
    email: str
    source: str  # "import:<id>", "api", "world" or "campaign:<id>"
    detail: str = ""


class History:
    """Append-only list of :class:`HistoryEvent`; can be switched off (``enabled = False``) to save memory."""

    def __init__(self) -> None:
        self.enabled = True
        self._events: list[HistoryEvent] = []

    def record(
        self,
        at: datetime,
        account: str,
        action: str,
        book_id: int | None,
        email: str,
        source: str,
        detail: str = "",
    ) -> None:
        """Append one event (no-op when disabled)."""
        if self.enabled:
            self._events.append(
                HistoryEvent(len(self._events), at, account, action, book_id, email, source, detail)
            )

    def __iter__(self) -> Iterator[HistoryEvent]:
        return iter(self._events)

    def __len__(self) -> int:
        return len(self._events)

    def events(
        self,
        *,
        action: str | None = None,
        book_id: int | None = None,
        email: str | None = None,
        account: str | None = None,
    ) -> list[HistoryEvent]:
        """Events matching every filter given (``email`` is compared case-insensitively)."""
        wanted = email.lower() if email is not None else None
        return [
            e
            for e in self._events
            if (action is None or e.action == action)
            and (book_id is None or e.book_id == book_id)
            and (wanted is None or e.email == wanted)
            and (account is None or e.account == account)
        ]

    def readded_after_optout(self, book_id: int | None = None) -> list[HistoryEvent]:
        """``add`` events that put an email back into a book while it was opted out of it.

        An email is opted out of a book after a book ``unsubscribe`` for that book or an account ``suppress``,
        until a matching ``resubscribe``. Tests assert this list is empty (never re-add an opt-out).
        """
        book_out: set[tuple[str, int | None, str]] = set()
        account_out: set[tuple[str, str]] = set()
        found: list[HistoryEvent] = []
        for e in self._events:
            if e.action == "unsubscribe":
                book_out.add((e.account, e.book_id, e.email))
            elif e.action == "suppress":
                account_out.add((e.account, e.email))
            elif e.action == "resubscribe":
                if e.book_id is None:
                    account_out.discard((e.account, e.email))
                else:
                    book_out.discard((e.account, e.book_id, e.email))
            elif e.action == "email_change":
                # opt-outs belong to the contact, so they follow it to its new address
                for key in [k for k in book_out if k[0] == e.account and k[2] == e.detail]:
                    book_out.discard(key)
                    book_out.add((key[0], key[1], e.email))
                if (e.account, e.detail) in account_out:
                    account_out.discard((e.account, e.detail))
                    account_out.add((e.account, e.email))
            elif (
                e.action == "add"
                and (book_id is None or e.book_id == book_id)
                and ((e.account, e.book_id, e.email) in book_out or (e.account, e.email) in account_out)
            ):
                found.append(e)
        return found

    def clear(self) -> None:
        """Forget every event."""
        self._events.clear()
