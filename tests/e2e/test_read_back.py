"""Reading the book back once (issue 13): after a big upload settles, the following cron cycles read the
uploaded contacts exactly once, a change that becomes visible late (inside the overlap) is still read, and
Dotmailer's clock (the ``Date`` header), not ours, drives the contact watermark.

Small sizes keep these fast: the "big upload" threshold is lowered to 10 rows and the API page to 10 contacts,
so the sandbox's call log shows each read page by page.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from dotsync.db.models import AddressBook, Contact, ListMember
from dotsync.sync.importer import contact as contact_importer
from tests.support.world import World, people

N = 40
PAGE = 10
LIST_ENDPOINTS = (
    "GET /v2/address-books/{id}/contacts",
    "GET /v2/address-books/{id}/contacts/modified-since/{date}",
)


def _world(w: World, monkeypatch: pytest.MonkeyPatch, skew: timedelta) -> World:
    """The shared world with small reads (a "big" upload is 10 rows, a page 10 contacts), our clock skewed, and a
    list of N people connected to the book 'Big'."""
    app = w.app
    monkeypatch.setattr(contact_importer, "DEFER_ROWS", 10)
    kwargs = app.client_kwargs
    monkeypatch.setattr(app, "client_kwargs", lambda: {**kwargs(), "page_size": PAGE})
    w.sandbox.imports.polls_before_finish = 0  # the first poll applies an upload
    # Our clock: the sandbox's plus a skew (hours, either way): nothing below may depend on it.
    app.clock = lambda: w.sandbox.now() + skew
    w.connect_list(people(N), "--map", "first_name=FIRSTNAME", book="Big", name="big")
    return w


def _cycle(w: World) -> tuple[dict[str, int], Counter[str]]:
    """One cron cycle; returns the contact connector's counts and the API calls of the cycle per endpoint."""
    mark = len(w.sandbox.calls.records)
    w.tick()
    report = w.json("integration", "sync")
    w.run("dotmailer", "export")
    calls = Counter(r.endpoint for r in w.sandbox.calls.records[mark:])
    counts = dict(report[0]["counts"]["import"]["contact"])
    assert counts.pop("outcome") == "success"
    return counts, calls


def _reads(calls: Counter[str]) -> int:
    return sum(calls[e] for e in LIST_ENDPOINTS)


def _contacts(w: World) -> dict[str, Contact]:
    with w.app.sessions()() as session:
        return {c.email: c for c in session.scalars(select(Contact))}


def _watermark(w: World) -> datetime | None:
    with w.app.sessions()() as session:
        return session.scalar(select(AddressBook.last_contact_import_at).where(AddressBook.name == "Big"))


SKEWS = [timedelta(0), timedelta(hours=3), timedelta(hours=-3)]


@pytest.mark.parametrize("skew", SKEWS, ids=["our-clock-right", "ours-3h-ahead", "ours-3h-behind"])
def test_after_a_big_upload_the_book_is_read_back_once(
    world: World, monkeypatch: pytest.MonkeyPatch, skew: timedelta
) -> None:
    w = _world(world, monkeypatch, skew)
    _counts, calls = _cycle(w)  # cycle 1: the first export uploads the N members
    assert calls["POST /v2/address-books/{id}/contacts/import"] == 1
    assert _contacts(w)["person0@example.com"].origin_id is None

    per_cycle = [_cycle(w) for _ in range(5)]  # cycle 2 settles; cycles 3-6 follow
    read = [counts["contacts"] for counts, _calls in per_cycle]
    # Cycle 2: the upload is in flight at import time (deferred), settled by the export, which defers the
    # read-back; cycle 3 is within the overlap after the settle (deferred); cycle 4 reads every contact once;
    # cycles 5 and 6 start after the upload and read nothing.
    assert read == [0, 0, N, 0, 0]
    assert [counts.get("deferred", 0) for counts, _calls in per_cycle] == [1, 1, 0, 0, 0]
    pages = [_reads(calls) for _counts, calls in per_cycle]
    assert pages == [0, 0, N // PAGE + 1, 1, 1]  # one read of N contacts in pages, then one empty page each
    assert (
        sum(calls["GET /v2/address-books/{id}/contacts"] for _c, calls in per_cycle) == 0
    )  # no full re-read
    contacts = _contacts(w)
    assert len(contacts) == N
    assert all(c.origin_id is not None for c in contacts.values())
    # The watermark is Dotmailer's clock when the last read began (cycle 6), whatever our clock says.
    watermark = _watermark(w)
    assert watermark is not None
    assert abs(watermark - w.sandbox.now()) < timedelta(seconds=2)


@pytest.mark.parametrize("skew", SKEWS, ids=["our-clock-right", "ours-3h-ahead", "ours-3h-behind"])
def test_a_change_visible_late_inside_the_overlap_is_still_read(
    world: World, monkeypatch: pytest.MonkeyPatch, skew: timedelta
) -> None:
    w = _world(world, monkeypatch, skew)
    for _ in range(4):  # upload, settle, wait, read back
        _cycle(w)
    read_at = _watermark(w)
    assert read_at is not None
    # A change Dotmailer stamped 2 minutes before that read, which the read did not see (it became visible
    # after): the next read's overlap must still cover it.
    changed = w.account.contact_by_email("person7@example.com")
    assert changed is not None
    changed.data = {**(changed.data or {}), "FIRSTNAME": "Late"}
    changed.modified = read_at - timedelta(minutes=2)
    w.account.touch()
    counts, calls = _cycle(w)
    assert counts["contacts"] == 1
    assert _reads(calls) == 1
    assert _contacts(w)["person7@example.com"].data_fields["FIRSTNAME"] == "Late"
    # And one stamped after the overlap's start but long before our (skewed) clock's idea of now.
    other = w.account.contact_by_email("person8@example.com")
    assert other is not None
    other.data = {**(other.data or {}), "FIRSTNAME": "Later"}
    other.modified = w.sandbox.now() + timedelta(minutes=1)
    w.account.touch()
    counts, _calls = _cycle(w)
    assert counts["contacts"] == 1
    assert _contacts(w)["person8@example.com"].data_fields["FIRSTNAME"] == "Later"


def test_a_small_upload_is_read_back_at_once(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    w = _world(world, monkeypatch, timedelta(0))
    monkeypatch.setattr(contact_importer, "DEFER_ROWS", N + 1)
    _cycle(w)
    counts, calls = _cycle(w)  # the export settles the upload and reads the book at once
    assert counts.get("deferred", 0) == 0
    assert _reads(calls) == 2 + N // PAGE  # the import's empty page, then the export's read of N contacts
    assert all(c.origin_id is not None for c in _contacts(w).values())


def test_the_wait_is_bounded(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Big uploads that keep a book's read waiting cannot starve it: after MAX_DEFERRAL since the last read,
    the book is read anyway."""
    w = _world(world, monkeypatch, timedelta(0))
    for _ in range(4):
        _cycle(w)
    # An upload Dotmailer never finishes: the read waits ...
    w.sandbox.imports.polls_before_finish = 1000
    w.import_rows("big", [{**p, "first_name": "Changed"} for p in people(15)])  # 15 rows: a "big" upload
    counts, _calls = _cycle(w)
    assert counts["contacts"] == 0
    assert "deferred" not in counts
    counts, _calls = _cycle(w)
    assert counts.get("deferred") == 1
    # ... but not longer than MAX_DEFERRAL after the last read.
    w.tick(int(contact_importer.MAX_DEFERRAL.total_seconds() // 60))
    counts, _calls = _cycle(w)
    assert "deferred" not in counts


def test_export_alone_reads_back_once_the_wait_is_over(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where only ``dotmailer export`` runs (no import), its step 0 does the deferred read when it comes due."""
    w = _world(world, monkeypatch, timedelta(0))
    reads = []
    for _ in range(4):
        mark = len(w.sandbox.calls.records)
        w.tick()
        w.run("dotmailer", "export")
        reads.append(_reads(Counter(r.endpoint for r in w.sandbox.calls.records[mark:])))
    # Upload; settle (the read waits); still within the overlap; then one read of every contact.
    assert reads == [0, 0, 0, N // PAGE + 1]
    assert all(c.origin_id is not None for c in _contacts(w).values())
    mark = len(w.sandbox.calls.records)
    w.tick()
    w.run("dotmailer", "export")
    assert _reads(Counter(r.endpoint for r in w.sandbox.calls.records[mark:])) == 0  # nothing pending


@pytest.mark.parametrize("skew", SKEWS, ids=["our-clock-right", "ours-3h-ahead", "ours-3h-behind"])
def test_opt_outs_arrive_the_next_cycle_whatever_our_clock_says(
    world: World, monkeypatch: pytest.MonkeyPatch, skew: timedelta
) -> None:
    """The unsubscribe and suppression watermarks are on Dotmailer's clock too: an opt-out made in Dotmailer
    between two cycles is read by the next one, even while the book's contact read waits."""
    w = _world(world, monkeypatch, skew)
    _cycle(w)  # upload
    counts, _calls = _cycle(w)  # settle; the contact read waits
    assert counts.get("deferred") == 1
    w.tick(1)
    w.account.unsubscribe("Big", "person2@example.com")
    w.account.suppress("person3@example.com", "HardBounced")
    _cycle(w)
    with w.app.sessions()() as session:
        states = dict(session.execute(select(ListMember.email, ListMember.state)).all())
    assert states["person2@example.com"] == "unsubscribed"
    assert states["person3@example.com"] == "unsubscribed"
    assert states["person4@example.com"] == "subscribed"
