"""Asynchronous removal (issue 14 item 1; API reference §15): ``contacts/delete`` answers 202 and the contacts
leave the book later. dotsync keeps the removed rows pending until a check no longer finds the contact in the
book, sends a removal again when it is not applied (bounded), and uploads a re-added member only once its
removal is confirmed. The sandbox's ``removal_delay`` stands in for Dotmailer's; its clock is moved, never slept.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from dotsync.db.models import AddressBook, AddressBookContact, Contact
from dotsync.sync.export import pending_removals, remove
from tests.support.world import World, emails, people

GONE = ["person1@example.com", "person2@example.com", "person3@example.com"]
DELETE = "/v2/address-books/{id}/contacts/delete"
CHECK = "/v2/contacts/{id}/address-books"
LISTING = "/v2/address-books/{id}/contacts"


@pytest.fixture
def world(world: World) -> World:
    """The shared world with ten people connected to 'Customers', settled."""
    world.connect_list(people(10))
    world.settle()
    assert world.book_emails("Customers") == emails(people(10))
    return world


def _rows(w: World, addresses: list[str] | None = None) -> dict[str, AddressBookContact]:
    """The book rows dotsync keeps for these emails (all when None), by email."""
    with w.app.sessions()() as session:
        query = (
            select(Contact.email, AddressBookContact)
            .join(AddressBookContact, AddressBookContact.contact_id == Contact.id)
            .join(AddressBook, AddressBook.id == AddressBookContact.address_book_id)
            .where(AddressBook.name == "Customers")
        )
        if addresses is not None:
            query = query.where(Contact.email.in_(addresses))
        found = {email: row for email, row in session.execute(query).all()}
        session.expunge_all()
    return found


def _export(w: World, minutes: float = 0) -> dict[str, Any]:
    if minutes:
        w.sandbox.advance(timedelta(minutes=minutes))
    return dict(w.json("dotmailer", "export")[0]["counts"]["export"]["Customers"])


def _removal_posts(w: World) -> int:
    return w.sandbox.calls.count(DELETE, method="POST")


def _remove(w: World, addresses: list[str]) -> None:
    for email in addresses:
        w.run("list", "remove", "customers", email)


def test_a_removal_that_takes_20_s_is_kept_pending_then_forgotten_once_confirmed(world: World) -> None:
    """The issue's user trial: rows are not forgotten at once, the contact read while Dotmailer still lists the
    contacts does not make them contacts dotsync did not add, and they are forgotten once a check confirms."""
    world.sandbox.removal_delay = 20
    _remove(world, GONE)
    world.tick()
    world.run("integration", "sync")
    assert _export(world)["removed"] == 3
    assert world.book_emails("Customers") >= set(GONE)  # Dotmailer still lists them
    rows = _rows(world, GONE)
    assert set(rows) == set(GONE)
    assert all(r.removal_requested_at is not None and r.removal_attempts == 1 for r in rows.values())
    # A Dotmailer user edits them meanwhile, so the contact read surely lists them (the overlap would too).
    for email in GONE:
        contact = world.account.contact_by_email(email)
        assert contact is not None
        world.account.apply_values(contact, {"FIRSTNAME": "Edited"})
    world.sandbox.advance(seconds=5)
    world.run("integration", "sync")
    rows = _rows(world, GONE)
    assert set(rows) == set(GONE)
    assert all(r.added_by_dotsync and r.removal_requested_at is not None for r in rows.values())
    # Exported again within the first minute: nothing is asked, nothing sent twice.
    assert _export(world)["removed"] == 0
    assert world.sandbox.calls.count(CHECK) == 0
    assert _removal_posts(world) == 1
    # Dotmailer applies the removal after 20 s; the next cycle's check confirms it and forgets the rows.
    world.tick()
    world.run("integration", "sync")
    mark = len(world.sandbox.calls)
    outcome = _export(world)
    assert outcome["removals_confirmed"] == 3
    assert outcome["removals_resent"] == 0
    # Three rows due on a one-page book: one read of its listing answers them all (cheaper than 3 checks).
    asked = Counter(r.endpoint for r in world.sandbox.calls.records[mark:])
    assert asked[f"GET {LISTING}"] == 1
    assert asked[f"GET {CHECK}"] == 0
    assert _rows(world, GONE) == {}
    assert world.book_emails("Customers") == emails(people(10)) - set(GONE)
    assert _removal_posts(world) == 1
    # Nothing pending any more: the next cycles ask nothing.
    mark = len(world.sandbox.calls)
    world.cycle()
    asked = Counter(r.endpoint for r in world.sandbox.calls.records[mark:])
    assert asked[f"GET {LISTING}"] == 0
    assert asked[f"GET {CHECK}"] == 0


def test_a_removal_not_applied_is_sent_again_at_most_three_times_then_shown(world: World) -> None:
    world.sandbox.removal_delay = 24 * 3600  # Dotmailer's job never finishes today
    _remove(world, GONE[:1])
    _export(world, 4)
    assert _removal_posts(world) == 1
    for _ in range(40):  # 40 cycles of 4 minutes: more than 3 x 30 minutes
        _export(world, 4)
    assert _removal_posts(world) == pending_removals.MAX_ATTEMPTS
    (row,) = _rows(world, GONE[:1]).values()
    assert row.removal_attempts == 3
    assert row.removal_requested_at is not None
    view = world.json("status")[0]
    (book,) = view["books"]
    assert book["pending_removals"] == 1
    assert "after 3 attempts" in (book["removal_note"] or "")
    assert any("after 3 attempts" in p for p in view["problems"])
    check = world.run("status", "--check", "--json", expect=1)
    assert any(p["kind"] == "removals_not_applied" for p in json.loads(check.stdout)["problems"])
    # Still listed: checks slow down to hourly once every attempt is spent (here: 2 more hours, 30 cycles).
    checks = world.sandbox.calls.count(CHECK)
    for _ in range(30):
        _export(world, 4)
    assert world.sandbox.calls.count(CHECK) - checks <= 3
    assert _removal_posts(world) == 3
    # Dotmailer finally applies it: the next check confirms, the note goes.
    world.sandbox.advance(timedelta(hours=24))
    assert _export(world, 4).get("removals_confirmed") == 1
    assert _rows(world, GONE[:1]) == {}
    (book,) = world.json("status")[0]["books"]
    assert book["removal_note"] is None
    assert book["pending_removals"] == 0


def test_a_member_re_added_during_the_removal_waits_then_reaches_the_book(world: World) -> None:
    world.sandbox.removal_delay = 20
    email = GONE[0]
    uploads = world.upload_count(email)
    _remove(world, [email])
    _export(world, 4)
    world.run("list", "add", "customers", email)
    # Not uploaded while the removal is pending: the late deletion would take it out again.
    _export(world, 0.1)
    assert world.upload_count(email) == uploads
    world.sandbox.advance(seconds=30)
    assert email not in world.book_emails("Customers")
    world.settle()
    assert world.upload_count(email) == uploads + 1
    assert world.book_emails("Customers") == emails(people(10))
    (row,) = _rows(world, [email]).values()
    assert row.added_by_dotsync
    assert row.removal_requested_at is None
    assert row.status == "Subscribed"


def test_a_member_re_added_and_removed_again_is_removed_again(world: World) -> None:
    world.sandbox.removal_delay = 20
    email = GONE[0]
    _remove(world, [email])
    world.settle()
    assert email not in world.book_emails("Customers")
    world.run("list", "add", "customers", email)
    world.settle()
    assert email in world.book_emails("Customers")
    _remove(world, [email])
    world.settle()
    assert email not in world.book_emails("Customers")
    assert _removal_posts(world) == 2
    assert _rows(world, [email]) == {}


class _Crash(BaseException):
    """Stands for the process dying (not an error the export would catch and record)."""


def test_a_crash_between_the_removal_and_its_record_sends_it_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.sandbox.removal_delay = 20
    _remove(world, GONE)

    def crash(*_args: Any, **_kwargs: Any) -> Any:  # the local write after the POST
        raise _Crash

    with monkeypatch.context() as patched:
        patched.setattr(remove, "update", crash)
        world.tick()
        with pytest.raises(_Crash):
            world.cli("dotmailer", "export")
    assert _removal_posts(world) == 1
    rows = _rows(world, GONE)
    assert set(rows) == set(GONE)
    assert all(r.removal_requested_at is None for r in rows.values())
    # The next cycles send the removal again (idempotent), confirm it and converge.
    world.settle()
    assert _removal_posts(world) == 2
    assert _rows(world, GONE) == {}
    assert world.book_emails("Customers") == emails(people(10)) - set(GONE)


def test_checks_are_bounded_per_run(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """One call per due contact, at most MAX_CHECKS per book and run; the rest are asked next run."""
    monkeypatch.setattr(pending_removals, "MAX_CHECKS", 2)
    monkeypatch.setattr(pending_removals, "LISTING_PAGE", 1)  # the listing read now costs more than 3 checks
    world.sandbox.removal_delay = 20
    _remove(world, GONE)
    listings = world.sandbox.calls.count(LISTING, method="GET")
    _export(world, 4)
    first = _export(world, 4)
    assert first["removals_confirmed"] == 2
    assert world.sandbox.calls.count(CHECK) == 2
    assert len(_rows(world, GONE)) == 1
    second = _export(world, 4)
    assert second["removals_confirmed"] == 1
    assert world.sandbox.calls.count(CHECK) == 3
    assert _rows(world, GONE) == {}
    assert world.sandbox.calls.count(LISTING, method="GET") == listings  # no read of the book's listing


def test_an_opt_out_during_the_removal_is_kept(world: World) -> None:
    """A contact that unsubscribes from the book while its removal is pending keeps its opt-out record once the
    removal is confirmed: re-added to the list, it is not uploaded to that book again (invariant 1)."""
    world.sandbox.removal_delay = 20
    email = GONE[0]
    _remove(world, [email])
    _export(world, 4)
    world.account.unsubscribe("Customers", email)
    world.cycle()  # the import reads the opt-out; the export confirms the removal
    (row,) = _rows(world, [email]).values()
    assert row.status == "Unsubscribed"
    assert row.removal_requested_at is None
    uploads = world.upload_count(email)
    world.run("list", "add", "customers", email)
    world.settle()
    assert world.upload_count(email) == uploads
    (member,) = [
        m for m in world.json("list", "members", "customers", "--state", "all") if m["email"] == email
    ]
    assert member["state"] == "unsubscribed"
