"""Contact endpoints: account contacts, opt-out feeds, lookups by id or email, and bulk imports (start,
status,
report, faults CSV)."""

from __future__ import annotations

from dotsync.sandbox.api.context import Ctx
from dotsync.sandbox.api.render import contact_json, suppression_json
from dotsync.sandbox.errors import not_found
from dotsync.sandbox.imports import faults_csv, find_import, poll, report_json, start_import
from dotsync.sandbox.messages import SandboxResponse
from dotsync.sandbox.router import Router
from dotsync.sandbox.uploads import read_upload


def _contacts(ctx: Ctx, ids: list[int]) -> SandboxResponse:
    account, full = ctx.account, ctx.flag("withFullData")
    return SandboxResponse.json(
        200, [contact_json(account, account.contacts[i], full) for i in ctx.page(ids)]
    )


def all_contacts(ctx: Ctx) -> SandboxResponse:
    """``GET /v2/contacts``: every contact of the account."""
    account = ctx.account
    return _contacts(ctx, account.cached(("contacts",), lambda: list(account.contacts)))


def contacts_modified(ctx: Ctx) -> SandboxResponse:
    """``GET /v2/contacts/modified-since/{date}``."""
    account, since = ctx.account, ctx.date()
    ids = account.cached(
        ("contacts-modified", since), lambda: [i for i, c in account.contacts.items() if c.modified >= since]
    )
    return _contacts(ctx, ids)


def _suppressions(ctx: Ctx, only_reason: str | None) -> SandboxResponse:
    # The account feeds write dataFields as null, as the vendor's example of suppressed-since does (§15).
    account, since = ctx.account, ctx.date()
    rows = sorted(
        (s.date, s.contact_id, s.reason)
        for s in account.suppressions.values()
        if s.date >= since and (only_reason is None or s.reason == only_reason)
    )
    return SandboxResponse.json(
        200,
        [suppression_json(account.contacts[i], d, r, null_data_fields=True) for d, i, r in ctx.page(rows)],
    )


def suppressed_since(ctx: Ctx) -> SandboxResponse:
    """``GET /v2/contacts/suppressed-since/{date}``: account suppressions (any reason), oldest first."""
    return _suppressions(ctx, None)


def unsubscribed_since(ctx: Ctx) -> SandboxResponse:
    """``GET /v2/contacts/unsubscribed-since/{date}``: account suppressions with reason Unsubscribed."""
    return _suppressions(ctx, "Unsubscribed")


def get_contact(ctx: Ctx) -> SandboxResponse:
    """``GET /v2/contacts/{id or email}``; suppressed contacts are not returned (as the WADL says)."""
    ref = ctx.params["idOrEmail"]
    account = ctx.account
    contact = account.contacts.get(int(ref)) if ref.isdigit() else account.contact_by_email(ref)
    if contact is None or contact.id in account.suppressions:
        raise not_found("ERROR_CONTACT_NOT_FOUND")
    return SandboxResponse.json(200, contact_json(account, contact))


def _start(ctx: Ctx, book_id: int | None) -> SandboxResponse:
    book = ctx.account.book(book_id) if book_id is not None else None
    filename, data = read_upload(ctx.request)
    started = start_import(ctx.account, book, filename, data, ctx.imports)
    return SandboxResponse.json(202, started.to_json())


def import_into_book(ctx: Ctx) -> SandboxResponse:
    """``POST /v2/address-books/{id}/contacts/import`` (multipart file part or JSON ``{FileName, Data}``)."""
    return _start(ctx, ctx.id())


def import_into_account(ctx: Ctx) -> SandboxResponse:
    """``POST /v2/contacts/import``: contacts only, no book."""
    return _start(ctx, None)


def import_status(ctx: Ctx) -> SandboxResponse:
    """``GET /v2/contacts/import/{importId}``: counts as a poll of the import's lifecycle."""
    imp = find_import(ctx.account, ctx.params["importId"])
    return SandboxResponse.json(200, poll(ctx.account, imp, ctx.imports).to_json())


def import_report(ctx: Ctx) -> SandboxResponse:
    """``GET /v2/contacts/import/{importId}/report``."""
    imp = find_import(ctx.account, ctx.params["importId"])
    return SandboxResponse.json(200, report_json(imp))


def import_faults(ctx: Ctx) -> SandboxResponse:
    """``GET /v2/contacts/import/{importId}/report-faults``: CSV, UTF-8 with a BOM."""
    imp = find_import(ctx.account, ctx.params["importId"])
    body = faults_csv(imp, ctx.account.now(), ctx.imports.faults_ttl)
    return SandboxResponse(200, {"content-type": "text/csv; charset=utf-8"}, body)


def register(router: Router) -> None:
    """Add this module's routes."""
    router.add("POST", "/v2/address-books/{id}/contacts/import", import_into_book)
    router.add("GET", "/v2/contacts", all_contacts)
    router.add("POST", "/v2/contacts/import", import_into_account)
    router.add("GET", "/v2/contacts/import/{importId}", import_status)
    router.add("GET", "/v2/contacts/import/{importId}/report", import_report)
    router.add("GET", "/v2/contacts/import/{importId}/report-faults", import_faults)
    router.add("GET", "/v2/contacts/modified-since/{date}", contacts_modified)
    router.add("GET", "/v2/contacts/suppressed-since/{date}", suppressed_since)
    router.add("GET", "/v2/contacts/unsubscribed-since/{date}", unsubscribed_since)
    router.add("GET", "/v2/contacts/{idOrEmail}", get_contact)
