"""Address-book endpoints: books, their contacts (listing, modified/unsubscribed since, add, remove,
unsubscribe) and the campaigns sent to them. Contact imports into a book live in ``contacts.py``."""

from __future__ import annotations

from dotsync.sandbox.api.context import Ctx
from dotsync.sandbox.api.render import book_json, contact_json, suppression_json
from dotsync.sandbox.errors import bad_request
from dotsync.sandbox.messages import SandboxResponse
from dotsync.sandbox.router import Router
from dotsync.sandbox.state import AddressBook


def _book(ctx: Ctx) -> AddressBook:
    return ctx.account.book(ctx.id())


def list_books(ctx: Ctx, visibility: str | None = None) -> SandboxResponse:
    """``GET /v2/address-books`` (``/private``, ``/public``): system books first, then in creation order."""
    books = [b for b in ctx.account.books.values() if visibility is None or b.visibility == visibility]
    return SandboxResponse.json(200, [book_json(ctx.account, b) for b in ctx.page(books)])


def create_book(ctx: Ctx) -> SandboxResponse:
    """``POST /v2/address-books`` body ``{Name, Visibility}`` -> 201."""
    body = ctx.object_body()
    book = ctx.account.create_book(body.get("name") or "", body.get("visibility") or "Private")
    return SandboxResponse.json(201, book_json(ctx.account, book))


def get_book(ctx: Ctx) -> SandboxResponse:
    """``GET /v2/address-books/{id}``."""
    return SandboxResponse.json(200, book_json(ctx.account, _book(ctx)))


def update_book(ctx: Ctx) -> SandboxResponse:
    """``PUT /v2/address-books/{id}``."""
    body = ctx.object_body()
    book = ctx.account.update_book(ctx.id(), str(body.get("name") or ""), body.get("visibility"))
    return SandboxResponse.json(200, book_json(ctx.account, book))


def delete_book(ctx: Ctx) -> SandboxResponse:
    """``DELETE /v2/address-books/{id}`` -> 204."""
    ctx.account.delete_book(ctx.id(), source="api")
    return SandboxResponse.empty()


def _contacts(ctx: Ctx, ids: list[int]) -> SandboxResponse:
    account, full = ctx.account, ctx.flag("withFullData")
    return SandboxResponse.json(
        200, [contact_json(account, account.contacts[i], full) for i in ctx.page(ids)]
    )


def book_contacts(ctx: Ctx) -> SandboxResponse:
    """``GET /v2/address-books/{id}/contacts?withFullData=&select=&skip=``."""
    return _contacts(ctx, ctx.account.member_ids(_book(ctx)))


def book_contacts_modified(ctx: Ctx) -> SandboxResponse:
    """``GET /v2/address-books/{id}/contacts/modified-since/{date}``: members modified at/after it."""
    account, book, since = ctx.account, _book(ctx), ctx.date()
    ids = account.cached(
        ("modified", book.id, since),
        lambda: [i for i in account.member_ids(book) if account.contacts[i].modified >= since],
    )
    return _contacts(ctx, ids)


def book_contacts_unsubscribed(ctx: Ctx) -> SandboxResponse:
    """``GET /v2/address-books/{id}/contacts/unsubscribed-since/{date}``, oldest first."""
    account, book, since = ctx.account, _book(ctx), ctx.date()
    rows = sorted((d, i) for i, d in book.unsubscribed.items() if d >= since)
    return SandboxResponse.json(
        200, [suppression_json(account.contacts[i], d, "Unsubscribed") for d, i in ctx.page(rows)]
    )


def add_contact(ctx: Ctx) -> SandboxResponse:
    """``POST /v2/address-books/{id}/contacts`` body ApiContact -> the contact."""
    body = ctx.object_body()
    fields = body.get("datafields") or []
    if not isinstance(fields, list) or not all(isinstance(f, dict) for f in fields):
        raise bad_request("DataFields must be a list of {Key, Value}.", "ERROR_MALFORMED_REQUEST")
    contact = ctx.account.add_contact(
        ctx.id(),
        str(body.get("email") or ""),
        {str(f.get("key")): f.get("value") for f in fields},
        opt_in_type=body.get("optintype"),
        email_type=body.get("emailtype"),
        source="api",
    )
    return SandboxResponse.json(200, contact_json(ctx.account, contact))


def _writable_book(ctx: Ctx) -> AddressBook:
    book = _book(ctx)
    if not book.writable:
        raise bad_request("Address book cannot be written to via the API.", "ERROR_ADDRESSBOOK_NOTWRITABLE")
    return book


def remove_contact(ctx: Ctx) -> SandboxResponse:
    """``DELETE /v2/address-books/{id}/contacts/{contactId}`` -> 204."""
    book = _writable_book(ctx)
    contact = ctx.account.find_contact(ctx.id("contactId"))
    ctx.account.remove_member(book, contact.id, "api")
    return SandboxResponse.empty()


def remove_contacts(ctx: Ctx) -> SandboxResponse:
    """``POST /v2/address-books/{id}/contacts/delete`` body ``[id, ...]`` -> 202 ``ApiBulkContactDeletion``.

    Asynchronous as in the real API (reference §15): the contacts stay listed in the book for
    ``removal_delay`` seconds of sandbox time (0: applied at once). Unknown ids are ignored.
    """
    book = _writable_book(ctx)
    ids = ctx.body()
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise bad_request("The body must be a JSON array of contact ids.", "ERROR_CONTACTS_ARE_NOT_SPECIFIED")
    job = ctx.account.schedule_removal(book, ids, ctx.removal_delay)
    return SandboxResponse.json(202, {"id": job, "status": "Started"})


def unsubscribe_contact(ctx: Ctx) -> SandboxResponse:
    """``POST /v2/address-books/{id}/contacts/unsubscribe`` body ``{Email}`` -> ApiContactSuppression."""
    book = _writable_book(ctx)
    email = str(ctx.object_body().get("email") or "")
    contact = ctx.account.unsubscribe(book, email, source="api")
    return SandboxResponse.json(200, suppression_json(contact, book.unsubscribed[contact.id], "Unsubscribed"))


def contact_books(ctx: Ctx) -> SandboxResponse:
    """``GET /v2/contacts/{id}/address-books``: the books a contact is listed in (All Contacts unless it is
    suppressed), in book order; 404 ERROR_CONTACT_NOT_FOUND for an unknown id. A contact whose bulk removal is
    still running is still listed in that book."""
    account, ref = ctx.account, ctx.params["id"]
    contact = account.find_contact(int(ref) if ref.isdigit() else ref)
    books = [
        b
        for b in account.books.values()
        if (contact.id not in account.suppressions if b.system == "all" else contact.id in b.members)
    ]
    return SandboxResponse.json(200, [book_json(account, b) for b in ctx.page(books)])


def book_campaigns(ctx: Ctx) -> SandboxResponse:
    """``GET /v2/address-books/{id}/campaigns``: campaigns sent to the book."""
    book = _book(ctx)
    found = [c for c in ctx.account.campaigns.values() if book.id in c.book_ids]
    return SandboxResponse.json(200, [c.to_json() for c in ctx.page(found)])


def register(router: Router) -> None:
    """Add this module's routes."""
    router.add("GET", "/v2/address-books", list_books)
    router.add("POST", "/v2/address-books", create_book)
    router.add("GET", "/v2/address-books/private", lambda ctx: list_books(ctx, "Private"))
    router.add("GET", "/v2/address-books/public", lambda ctx: list_books(ctx, "Public"))
    router.add("GET", "/v2/address-books/{id}", get_book)
    router.add("PUT", "/v2/address-books/{id}", update_book)
    router.add("DELETE", "/v2/address-books/{id}", delete_book)
    router.add("GET", "/v2/address-books/{id}/contacts", book_contacts)
    router.add("POST", "/v2/address-books/{id}/contacts", add_contact)
    router.add("GET", "/v2/address-books/{id}/contacts/modified-since/{date}", book_contacts_modified)
    router.add("GET", "/v2/address-books/{id}/contacts/unsubscribed-since/{date}", book_contacts_unsubscribed)
    router.add("POST", "/v2/address-books/{id}/contacts/delete", remove_contacts)
    router.add("POST", "/v2/address-books/{id}/contacts/unsubscribe", unsubscribe_contact)
    router.add("DELETE", "/v2/address-books/{id}/contacts/{contactId}", remove_contact)
    router.add("GET", "/v2/address-books/{id}/campaigns", book_campaigns)
    router.add("GET", "/v2/contacts/{id}/address-books", contact_books)
