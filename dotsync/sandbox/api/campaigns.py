"""Campaign endpoints: campaigns (all, per book, with activity since), summary, per-contact activities, opens
and clicks, each with its ``since-date`` variant."""

from __future__ import annotations

from datetime import datetime

from dotsync.sandbox.api.context import Ctx
from dotsync.sandbox.api.render import book_json
from dotsync.sandbox.campaigns import Campaign
from dotsync.sandbox.errors import not_found
from dotsync.sandbox.messages import SandboxResponse
from dotsync.sandbox.router import Router


def _campaign(ctx: Ctx) -> Campaign:
    return ctx.account.campaign(ctx.id())


def list_campaigns(ctx: Ctx) -> SandboxResponse:
    """``GET /v2/campaigns``."""
    return SandboxResponse.json(200, [c.to_json() for c in ctx.page(list(ctx.account.campaigns.values()))])


def with_activity_since(ctx: Ctx) -> SandboxResponse:
    """``GET /v2/campaigns/with-activity-since/{date}``: campaigns sent or acted on at or after the date."""
    since = ctx.date()
    found = [
        c for c in ctx.account.campaigns.values() if c.last_activity is not None and c.last_activity >= since
    ]
    return SandboxResponse.json(200, [c.to_json() for c in ctx.page(found)])


def get_campaign(ctx: Ctx) -> SandboxResponse:
    """``GET /v2/campaigns/{id}``."""
    return SandboxResponse.json(200, _campaign(ctx).to_json())


def campaign_books(ctx: Ctx) -> SandboxResponse:
    """``GET /v2/campaigns/{id}/address-books``."""
    account = ctx.account
    books = [account.books[i] for i in _campaign(ctx).book_ids if i in account.books]
    return SandboxResponse.json(200, [book_json(account, b) for b in ctx.page(books)])


def summary(ctx: Ctx) -> SandboxResponse:
    """``GET /v2/campaigns/{id}/summary``."""
    return SandboxResponse.json(200, _campaign(ctx).summary())


def _since(ctx: Ctx) -> datetime | None:
    return ctx.date() if "date" in ctx.params else None


def activities(ctx: Ctx) -> SandboxResponse:
    """``GET /v2/campaigns/{id}/activities[/since-date/{date}]``: all recipients, or those active since."""
    since = _since(ctx)
    rows = [a for a in _campaign(ctx).activities.values() if since is None or a.changed >= since]
    return SandboxResponse.json(200, [a.to_json() for a in ctx.page(rows)])


def contact_activity(ctx: Ctx) -> SandboxResponse:
    """``GET /v2/campaigns/{id}/activities/{contactId}``."""
    found = _campaign(ctx).activities.get(ctx.id("contactId"))
    if found is None:
        raise not_found("ERROR_CONTACT_NOT_FOUND")
    return SandboxResponse.json(200, found.to_json())


def opens(ctx: Ctx) -> SandboxResponse:
    """``GET /v2/campaigns/{id}/opens[/since-date/{date}]``: one row per open."""
    since = _since(ctx)
    rows = [o for o in _campaign(ctx).opens if since is None or o.date >= since]
    return SandboxResponse.json(200, [o.to_json() for o in ctx.page(rows)])


def clicks(ctx: Ctx) -> SandboxResponse:
    """``GET /v2/campaigns/{id}/clicks[/since-date/{date}]``: one row per click."""
    since = _since(ctx)
    rows = [c for c in _campaign(ctx).clicks if since is None or c.date >= since]
    return SandboxResponse.json(200, [c.to_json() for c in ctx.page(rows)])


def register(router: Router) -> None:
    """Add this module's routes."""
    router.add("GET", "/v2/campaigns", list_campaigns)
    router.add("GET", "/v2/campaigns/with-activity-since/{date}", with_activity_since)
    router.add("GET", "/v2/campaigns/{id}", get_campaign)
    router.add("GET", "/v2/campaigns/{id}/address-books", campaign_books)
    router.add("GET", "/v2/campaigns/{id}/summary", summary)
    router.add("GET", "/v2/campaigns/{id}/activities", activities)
    router.add("GET", "/v2/campaigns/{id}/activities/since-date/{date}", activities)
    router.add("GET", "/v2/campaigns/{id}/activities/{contactId}", contact_activity)
    router.add("GET", "/v2/campaigns/{id}/opens", opens)
    router.add("GET", "/v2/campaigns/{id}/opens/since-date/{date}", opens)
    router.add("GET", "/v2/campaigns/{id}/clicks", clicks)
    router.add("GET", "/v2/campaigns/{id}/clicks/since-date/{date}", clicks)
