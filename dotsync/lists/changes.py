"""Change tracking of list members, so the export plans only what changed (see docs/DESIGN.md).

Each list has a counter, ``marketing_list.change_seq``. A write that can change what Dotmailer should hold for
a member (fields, state, membership of a query's result) stamps the member's ``change_seq`` with a value of
it; the import and the export's settle step stamp the book rows (``address_book_contact.change_seq``) whose
status they changed. A book remembers the value up to which it planned (``address_book.planned_seq``), and
the next plan reads only rows stamped above it.

Two ways to take a value:

- :func:`next_change` — for writers that may run beside an export (``list add|import|remove|unsubscribe``, a
  query refresh) and for the plan itself: ``UPDATE`` the list's row (taking its row lock until commit), then
  read the new value. A writer holds the lock from before its first member write until it commits, and the
  plan takes it too, so the plan waits for every writer that took a smaller value: nothing committed later can
  carry a value the plan has passed.
- :func:`pending_change` — for writers that only ever run under the integration's run lock (the import, the
  export's settle step): the counter's current value + 1, read without locking. No plan can run at the same
  time, the next one takes a value at least as large, and the last one took at most the current value.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Connection, Table, select, update

from dotsync.db.models import MarketingList

_lists = cast(Table, MarketingList.__table__)


def next_change(conn: Connection, list_id: int) -> int:
    """Take the list's next change value, holding its row lock until the caller's transaction ends."""
    conn.execute(update(_lists).where(_lists.c.id == list_id).values(change_seq=_lists.c.change_seq + 1))
    return int(conn.execute(select(_lists.c.change_seq).where(_lists.c.id == list_id)).scalar_one())


def pending_change(conn: Connection, list_id: int | None) -> int:
    """A stamp for a writer under the integration's run lock: above every value planned so far (0 if no list)."""
    if list_id is None:
        return 0
    value: Any = conn.execute(select(_lists.c.change_seq).where(_lists.c.id == list_id)).scalar()
    return int(value or 0) + 1
