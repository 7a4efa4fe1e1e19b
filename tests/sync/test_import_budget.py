"""The import stops early when the hourly API allowance runs low, and then moves no watermark."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from dotsync.db.models import AddressBook, Contact, RunStep
from dotsync.dotmailer.client import DotmailerClient
from dotsync.sandbox import Account, Sandbox
from dotsync.sync import runs
from dotsync.sync.importer import run_import
from tests.support import PASSWORD, USERNAME
from tests.support.fakes import Clock, FakeSleep
from tests.support.rows import connect_book
from tests.sync.helpers import make_ctx, run_connector


def test_budget_low_stops_the_run_and_keeps_watermarks(
    sandbox: Sandbox, account: Account, sessions: sessionmaker[Session], integration_id: int, clock: Clock
) -> None:
    book = account.create_book("Big")
    account.add_contacts(book, [f"user{i:04d}@example.com" for i in range(2500)])
    sandbox.faults.hourly_call_limit = 1000
    with DotmailerClient(
        USERNAME, PASSWORD, "http://127.0.0.1:9", transport=sandbox.transport(), sleep=FakeSleep()
    ) as client:
        client.connect()
        run_connector(make_ctx(sessions, client, integration_id, clock.now), "address_book")
        connect_book(sessions, integration_id, book.id, "big")
        remaining = client.calls_remaining
        assert remaining is not None
        # Two more calls leave fewer than the margin: the contact import stops after its first page.
        ctx = make_ctx(sessions, client, integration_id, clock.now, safety_margin=remaining - 1)
        run_id = runs.start_run(sessions, "import", integration_id, clock.now)
        result = run_import(ctx, run_id, ["contact", "unsubscribed_contact"])
    assert result.stopped_early is not None
    assert [(s.name, s.outcome) for s in result.steps] == [
        ("contact", "skipped"),
        ("unsubscribed_contact", "skipped"),
    ]
    with sessions() as session:
        stored = session.scalar(select(AddressBook).where(AddressBook.origin_id == book.id))
        assert stored is not None
        assert stored.last_contact_import_at is None
        assert stored.last_unsubscribe_import_at is None
        assert session.scalar(select(func.count()).select_from(Contact)) == 0  # rolled back with the step
        steps = session.scalars(select(RunStep).where(RunStep.run_id == run_id)).all()
        assert {s.outcome for s in steps} == {"skipped"}
