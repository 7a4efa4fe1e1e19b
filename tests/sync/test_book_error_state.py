"""A book's sync error is cleared by state (the import that set it), never by the words of its message."""

from __future__ import annotations

import respx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dotsync.db.models import AddressBook, ContactExport
from dotsync.dotmailer.client import DotmailerClient
from dotsync.sync.export.settle import settle_book
from tests.support import START
from tests.sync.helpers import make_ctx


def _book_with_imports(sessions: sessionmaker[Session], integration_id: int, *import_ids: str) -> int:
    with sessions.begin() as session:
        book = AddressBook(integration_id=integration_id, origin_id=7, name="Customers")
        session.add(book)
        session.flush()
        for import_id in import_ids:
            session.add(
                ContactExport(import_id=import_id, integration_id=integration_id, address_book_id=book.id)
            )
        return book.id


def _finishes(api: respx.MockRouter, import_id: str) -> None:
    api.get(f"/contacts/import/{import_id}").respond(json={"id": import_id, "status": "Finished"})
    api.get(f"/contacts/import/{import_id}/report-faults").respond(
        content=b"Reason,Email\r\n", headers={"content-type": "text/csv"}
    )


def _book(sessions: sessionmaker[Session], book_id: int) -> AddressBook:
    with sessions() as session:
        book = session.get(AddressBook, book_id)
        assert book is not None
        session.expunge(book)
        return book


def test_a_later_finished_import_clears_the_failed_import_error(
    sessions: sessionmaker[Session], integration_id: int, api: respx.MockRouter, client: DotmailerClient
) -> None:
    book_id = _book_with_imports(sessions, integration_id, "imp-a", "imp-b")
    api.get("/contacts/import/imp-a").respond(json={"id": "imp-a", "status": "Failed"})
    _finishes(api, "imp-b")
    ctx = make_ctx(sessions, client, integration_id, START)
    settle_book(ctx, book_id)
    with sessions() as session:
        failed = session.scalar(select(ContactExport).where(ContactExport.import_id == "imp-a"))
        assert failed is not None
        assert failed.error == "Dotmailer ended the import with status Failed"
    book = _book(sessions, book_id)
    assert book.sync_error is None
    assert book.sync_error_import_id is None
    assert book.sync_status == "Finished"


def test_a_failed_import_records_which_import_set_the_error(
    sessions: sessionmaker[Session], integration_id: int, api: respx.MockRouter, client: DotmailerClient
) -> None:
    book_id = _book_with_imports(sessions, integration_id, "imp-a")
    api.get("/contacts/import/imp-a").respond(json={"id": "imp-a", "status": "Failed"})
    settle_book(make_ctx(sessions, client, integration_id, START), book_id)
    book = _book(sessions, book_id)
    assert book.sync_error == "import imp-a: Dotmailer ended the import with status Failed"
    assert book.sync_error_import_id == "imp-a"


def test_an_error_from_elsewhere_survives_a_finished_import_even_if_it_mentions_an_import(
    sessions: sessionmaker[Session], integration_id: int, api: respx.MockRouter, client: DotmailerClient
) -> None:
    book_id = _book_with_imports(sessions, integration_id, "imp-b")
    message = "the upload of import data failed: Dotmailer answered 400"
    with sessions.begin() as session:
        book = session.get(AddressBook, book_id)
        assert book is not None
        book.sync_status = "Failed"  # the state the old text-matching rule needed to clear it
        book.sync_error = message
    _finishes(api, "imp-b")
    settle_book(make_ctx(sessions, client, integration_id, START), book_id)
    book = _book(sessions, book_id)
    assert book.sync_error == message
    assert book.sync_status == "Finished"
