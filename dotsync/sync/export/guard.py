"""Export safety rail (dotsync -> Dotmailer): hold a book's export that would remove or update too much.

A bad query that empties a list, or a mapping change that touches every member, must not silently remove a
customer base from a book or re-send it into a welcome journey. Thresholds are per connection (AddressBook
columns); ``--confirm-mass-change LIST`` lets one held change through. Changes of at most ``FLOOR`` rows are
never held: on a small book a handful of rows is a large percentage but no mass change.
"""

from __future__ import annotations

from dotsync.db.models import AddressBook
from dotsync.sync.export.plan import GUARD_FLOOR, Plan

FLOOR = GUARD_FLOOR


def check_guard(book: AddressBook, plan: Plan, *, list_name: str, confirmed: bool) -> str | None:
    """The reason to hold this export, or None to let it through."""
    if confirmed:
        return None
    managed = plan.managed or 0  # None only when no change is above FLOOR: nothing to hold
    removals = len(plan.removals)
    remove_limit = min(book.guard_remove_percent / 100.0 * managed, float(book.guard_remove_max))
    if removals > FLOOR and removals > remove_limit:
        return (
            f"held: this export would remove {removals} of {managed} contacts dotsync manages in "
            f"{book.name!r} (limit {book.guard_remove_percent:g}% or {book.guard_remove_max}); "
            f"check the list, then run with --confirm-mass-change {list_name}"
        )
    update_limit = book.guard_update_percent / 100.0 * managed
    if managed and plan.updated > FLOOR and plan.updated > update_limit:
        return (
            f"held: this export would update {plan.updated} of {managed} contacts in {book.name!r} "
            f"(limit {book.guard_update_percent:g}%); check the mapping, then run with --confirm-mass-change {list_name}"
        )
    return None
