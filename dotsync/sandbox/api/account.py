"""Endpoints about the account itself: ``account-info``, ``server-time`` and data fields."""

from __future__ import annotations

from dotsync.sandbox.api.context import Ctx
from dotsync.sandbox.dates import format_date
from dotsync.sandbox.messages import SandboxResponse
from dotsync.sandbox.router import Router

UNLIMITED_REMAINING = 1_000_000


def account_info(ctx: Ctx) -> SandboxResponse:
    """``GET /v2/account-info``; ``ApiEndpoint``: where the sandbox was reached, unless configured."""
    account = ctx.account
    used = account.calls_in_last_hour(account.now())
    remaining = UNLIMITED_REMAINING if ctx.hourly_limit is None else max(ctx.hourly_limit - used, 0)
    endpoint = account.api_endpoint or ctx.api_endpoint or ctx.request.base_url
    props = [
        ("Name", "String", account.name),
        ("MainEmail", "String", account.main_email),
        ("MainMobilePhoneNumber", "String", ""),
        ("ListManagedUsers", "String", account.username),
        ("AvailableEmailSendsCredits", "Int", "100000"),
        ("AvailableSmsSendsCredits", "Int", "0"),
        ("APILocale", "String", "en-GB"),
        ("ApiCallsInLastHour", "Int", str(used)),
        ("ApiCallsRemaining", "Int", str(remaining)),
        # The current API writes it with a trailing slash (reference §15).
        ("ApiEndpoint", "String", endpoint.rstrip("/") + "/"),
    ]
    return SandboxResponse.json(
        200, {"id": account.id, "properties": [{"name": n, "type": t, "value": v} for n, t, v in props]}
    )


def server_time(ctx: Ctx) -> SandboxResponse:
    """``GET /v2/server-time``."""
    return SandboxResponse.json(200, format_date(ctx.account.now()))


def list_data_fields(ctx: Ctx) -> SandboxResponse:
    """``GET /v2/data-fields`` (no paging)."""
    return SandboxResponse.json(200, [f.to_json() for f in ctx.account.data_fields.values()])


def create_data_field(ctx: Ctx) -> SandboxResponse:
    """``POST /v2/data-fields`` body ``{Name, Type, Visibility, DefaultValue}`` -> 201."""
    body = ctx.object_body()
    created = ctx.account.create_data_field(
        body.get("name"),  # type: ignore[arg-type]
        body.get("type") or "String",
        body.get("visibility") or "Private",
        body.get("defaultvalue"),
    )
    return SandboxResponse.json(201, created.to_json())


def delete_data_field(ctx: Ctx) -> SandboxResponse:
    """``DELETE /v2/data-fields/{name}`` -> ApiDependencyResult."""
    ctx.account.delete_data_field(ctx.params["name"])
    return SandboxResponse.json(200, {"result": True, "dependencies": []})


def register(router: Router) -> None:
    """Add this module's routes."""
    router.add("GET", "/v2/account-info", account_info)
    router.add("GET", "/v2/server-time", server_time)
    router.add("GET", "/v2/data-fields", list_data_fields)
    router.add("POST", "/v2/data-fields", create_data_field)
    router.add("DELETE", "/v2/data-fields/{name}", delete_data_field)
