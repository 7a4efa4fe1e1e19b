"""Step tests of the export's settle step (dotsync/sync/export/settle.py) against respx and a migrated database:
the give-up rules (30 NotFinished polls, 10 failed polls -> Unknown) and the re-queue rule (a failed upload's
rows are re-queued once; after a second failure they stay as sent)."""

from __future__ import annotations

import httpx
import pytest
import respx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dotsync.db.models import (
    AddressBook,
    AddressBookContact,
    Contact,
    ContactExport,
    ImportStatus,
    ListMember,
    MarketingList,
    Operation,
)
from dotsync.dotmailer.client import DotmailerClient
from dotsync.sync.export.settle import MAX_FAILED_POLLS, MAX_NOT_FINISHED_POLLS, SettleResult, settle_book
from tests.support import START
from tests.sync.helpers import make_ctx

FIRST = "a1b2c3d4-0000-4000-8000-000000000001"
SECOND = "a1b2c3d4-0000-4000-8000-000000000002"
EMAILS = ("ann@example.com", "bob@example.com")
LIST_SEQ = 5  # the list's change counter when the upload is settled
MEMBER_SEQ = 1  # the members' stamp before the settle step
SENT_HASH = "0123456789abcdef0123456789abcdef"


def _connected_book(sessions: sessionmaker[Session], integration_id: int) -> int:
    """A static list of two members connected to a book, each member with its contact row in the book."""
    with sessions.begin() as session:
        marketing_list = MarketingList(name="customers", kind="static", change_seq=LIST_SEQ)
        session.add(marketing_list)
        session.flush()
        book = AddressBook(
            integration_id=integration_id, origin_id=10, name="Customers", marketing_list_id=marketing_list.id
        )
        session.add(book)
        session.flush()
        for email in EMAILS:
            member = ListMember(list_id=marketing_list.id, email=email, change_seq=MEMBER_SEQ)
            contact = Contact(integration_id=integration_id, email=email)
            session.add_all([member, contact])
            session.flush()
            session.add(
                AddressBookContact(
                    address_book_id=book.id,
                    contact_id=contact.id,
                    list_member_id=member.id,
                    added_by_dotsync=True,
                    operation=Operation.NEW,
                )
            )
        return book.id


def _uploaded(sessions: sessionmaker[Session], integration_id: int, book_id: int, import_id: str) -> None:
    """What the upload step leaves: every row of the book sent in ``import_id``, and an open export row."""
    with sessions.begin() as session:
        for row in session.scalars(
            select(AddressBookContact).where(AddressBookContact.address_book_id == book_id)
        ):
            row.import_id = import_id
            row.sent_hash = SENT_HASH
            row.sent_at = START
        session.add(
            ContactExport(
                import_id=import_id,
                integration_id=integration_id,
                address_book_id=book_id,
                status=ImportStatus.NOT_FINISHED,
                row_count=len(EMAILS),
            )
        )


def _settle(
    sessions: sessionmaker[Session], client: DotmailerClient, integration_id: int, book_id: int
) -> SettleResult:
    return settle_book(make_ctx(sessions, client, integration_id, START), book_id)


def _export(sessions: sessionmaker[Session], import_id: str) -> ContactExport:
    with sessions() as session:
        export = session.scalar(select(ContactExport).where(ContactExport.import_id == import_id))
        assert export is not None
        return export


def _book(sessions: sessionmaker[Session], book_id: int) -> AddressBook:
    with sessions() as session:
        book = session.get(AddressBook, book_id)
        assert book is not None
        return book


def _rows(sessions: sessionmaker[Session]) -> dict[str, tuple[str | None, str | None, int]]:
    """Per email: (sent_hash, import_id, export_failures) of its book row."""
    with sessions() as session:
        rows = session.execute(
            select(
                Contact.email,
                AddressBookContact.sent_hash,
                AddressBookContact.import_id,
                AddressBookContact.export_failures,
            ).join(Contact, Contact.id == AddressBookContact.contact_id)
        ).all()
    return {email: (sent, import_id, failures) for email, sent, import_id, failures in rows}


def _member_seqs(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions() as session:
        return dict(session.execute(select(ListMember.email, ListMember.change_seq)).all())


def _assert_requeued(sessions: sessionmaker[Session]) -> None:
    """The rows' last-sent hash is forgotten and their members stamped, so the next plan sends them again."""
    assert _rows(sessions) == {email: (None, None, 1) for email in EMAILS}
    assert _member_seqs(sessions) == {email: LIST_SEQ + 1 for email in EMAILS}


@pytest.fixture
def book_id(sessions: sessionmaker[Session], integration_id: int) -> int:
    made = _connected_book(sessions, integration_id)
    _uploaded(sessions, integration_id, made, FIRST)
    return made


def test_30_not_finished_polls_give_up_as_unknown_and_requeue(
    api: respx.MockRouter,
    client: DotmailerClient,
    sessions: sessionmaker[Session],
    integration_id: int,
    book_id: int,
) -> None:
    route = api.get(f"/contacts/import/{FIRST}").respond(
        json={"id": FIRST, "status": ImportStatus.NOT_FINISHED}
    )
    for poll in range(1, MAX_NOT_FINISHED_POLLS):
        assert _settle(sessions, client, integration_id, book_id).pending == 1, poll
        assert route.call_count == poll
        export = _export(sessions, FIRST)
        assert (export.status, export.attempts, export.faults_processed) == (
            ImportStatus.NOT_FINISHED,
            poll,
            False,
        )
    # Still waiting after 29 polls: nothing re-queued, the book untouched.
    assert _rows(sessions) == {email: (SENT_HASH, FIRST, 0) for email in EMAILS}
    assert _member_seqs(sessions) == {email: MEMBER_SEQ for email in EMAILS}
    assert _book(sessions, book_id).sync_status is None

    result = _settle(sessions, client, integration_id, book_id)  # the 30th NotFinished answer
    assert result.pending == 0
    assert route.call_count == MAX_NOT_FINISHED_POLLS
    export = _export(sessions, FIRST)
    assert (export.status, export.attempts, export.faults_processed) == (
        ImportStatus.UNKNOWN,
        MAX_NOT_FINISHED_POLLS,
        True,
    )
    assert export.error == f"still NotFinished after {MAX_NOT_FINISHED_POLLS} polls"
    book = _book(sessions, book_id)
    assert book.sync_status == ImportStatus.UNKNOWN
    assert book.sync_error == f"import {FIRST}: still NotFinished after {MAX_NOT_FINISHED_POLLS} polls"
    _assert_requeued(sessions)
    # Given up: never polled again.
    assert _settle(sessions, client, integration_id, book_id).pending == 0
    assert route.call_count == MAX_NOT_FINISHED_POLLS


@pytest.mark.parametrize(
    "answer",
    [httpx.Response(500, json={"message": "boom"}), httpx.Response(200, json={"id": FIRST})],
    ids=["server-error", "no-status"],
)
def test_10_failed_polls_give_up_as_unknown_and_requeue(
    api: respx.MockRouter,
    client: DotmailerClient,
    sessions: sessionmaker[Session],
    integration_id: int,
    book_id: int,
    answer: httpx.Response,
) -> None:
    route = api.get(f"/contacts/import/{FIRST}").mock(return_value=answer)
    for poll in range(1, MAX_FAILED_POLLS):
        assert _settle(sessions, client, integration_id, book_id).pending == 1, poll
        export = _export(sessions, FIRST)
        assert (export.status, export.failed_polls, export.attempts) == (ImportStatus.NOT_FINISHED, poll, 0)
    assert _rows(sessions) == {email: (SENT_HASH, FIRST, 0) for email in EMAILS}
    assert _book(sessions, book_id).sync_status is None

    assert _settle(sessions, client, integration_id, book_id).pending == 0  # the 10th failed poll
    export = _export(sessions, FIRST)
    assert (export.status, export.failed_polls, export.faults_processed) == (
        ImportStatus.UNKNOWN,
        MAX_FAILED_POLLS,
        True,
    )
    book = _book(sessions, book_id)
    assert book.sync_status == ImportStatus.UNKNOWN
    assert book.sync_error is not None
    assert book.sync_error.startswith(f"import {FIRST}: ")
    _assert_requeued(sessions)
    # Given up: never polled again.
    calls = route.call_count
    assert _settle(sessions, client, integration_id, book_id).pending == 0
    assert route.call_count == calls


def test_terminal_error_requeues_once_and_a_second_failure_leaves_the_rows_as_sent(
    api: respx.MockRouter,
    client: DotmailerClient,
    sessions: sessionmaker[Session],
    integration_id: int,
    book_id: int,
) -> None:
    status = "ExceedsAllowedContactLimit"
    api.get(f"/contacts/import/{FIRST}").respond(json={"id": FIRST, "status": status})
    assert _settle(sessions, client, integration_id, book_id).pending == 0
    export = _export(sessions, FIRST)
    assert (export.status, export.faults_processed) == (status, True)
    assert export.error == f"Dotmailer ended the import with status {status}"
    book = _book(sessions, book_id)
    assert (book.sync_status, book.sync_error) == (status, f"import {FIRST}: {export.error}")
    _assert_requeued(sessions)

    # The next run sends the rows again; that upload fails too.
    _uploaded(sessions, integration_id, book_id, SECOND)
    second = api.get(f"/contacts/import/{SECOND}").respond(json={"id": SECOND, "status": status})
    assert _settle(sessions, client, integration_id, book_id).pending == 0
    assert second.call_count == 1
    assert _export(sessions, SECOND).status == status
    # Rows stay as sent (re-sending them would loop) and their members are not stamped again. (The failure
    # count stops at MAX_REQUEUES: only a re-queued row is counted.)
    assert _rows(sessions) == {email: (SENT_HASH, None, 1) for email in EMAILS}
    assert _member_seqs(sessions) == {email: LIST_SEQ + 1 for email in EMAILS}
    assert (
        _book(sessions, book_id).sync_error
        == f"import {SECOND}: Dotmailer ended the import with status {status}"
    )


def test_only_the_rows_that_never_failed_are_requeued(
    api: respx.MockRouter,
    client: DotmailerClient,
    sessions: sessionmaker[Session],
    integration_id: int,
    book_id: int,
) -> None:
    """One upload holding a row sent for the first time and a row that already failed once."""
    ann, bob = EMAILS
    with sessions.begin() as session:
        row = session.scalar(
            select(AddressBookContact)
            .join(Contact, Contact.id == AddressBookContact.contact_id)
            .where(Contact.email == bob)
        )
        assert row is not None
        row.export_failures = 1
    api.get(f"/contacts/import/{FIRST}").respond(json={"id": FIRST, "status": "Failed"})
    _settle(sessions, client, integration_id, book_id)
    assert _rows(sessions) == {ann: (None, None, 1), bob: (SENT_HASH, None, 1)}
    assert _member_seqs(sessions) == {ann: LIST_SEQ + 1, bob: MEMBER_SEQ}
