"""Import (Dotmailer -> dotsync): campaigns of the connected books (``GET address-books/{id}/campaigns``).

Every ``ApiCampaign`` field is upserted by (integration, Dotmailer id), and the links between campaigns and
the connected books they were sent to are kept current. A campaign of this integration that no connected book
lists any more is soft-deleted (``is_deleted``); seen again, it is undeleted. Links to books that are not
(or no longer) connected are left alone: they are history, and those books are not asked.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, cast

from sqlalchemy import Table, and_, delete, select, update
from sqlalchemy.orm import Session

from dotsync.db.bulk import insert_ignore, upsert
from dotsync.db.lookups import connected_books
from dotsync.db.models import Campaign, campaign_address_book
from dotsync.dotmailer.models import ApiCampaign
from dotsync.sync.context import SyncContext

CAMPAIGNS = cast(Table, Campaign.__table__)
_UPDATED = (
    "name",
    "subject",
    "from_name",
    "from_address",
    "from_address_id",
    "html_content",
    "plain_text_content",
    "reply_action",
    "reply_to_address",
    "is_split_test",
    "status",
    "is_deleted",
    "updated_at",
)


def campaign_row(ctx: SyncContext, api: ApiCampaign) -> dict[str, Any]:
    sender = api.from_address
    return {
        "integration_id": ctx.integration_id,
        "origin_id": api.id,
        "name": api.name or f"Campaign {api.id}",
        "subject": api.subject,
        "from_name": api.from_name,
        "from_address": sender.email if sender else None,
        "from_address_id": sender.id if sender else None,
        "html_content": api.html_content,
        "plain_text_content": api.plain_text_content,
        "reply_action": api.reply_action,
        "reply_to_address": api.reply_to_address,
        "is_split_test": api.is_split_test,
        "status": api.status,
        "is_deleted": False,
        "created_at": ctx.now,
        "updated_at": ctx.now,
    }


def run(ctx: SyncContext, session: Session) -> dict[str, int]:
    books = connected_books(session, ctx.integration_id)
    seen: dict[int, ApiCampaign] = {}
    books_of: dict[int, set[int]] = defaultdict(set)  # campaign origin id -> local book ids
    for book in books:
        for api in ctx.client.iter_address_book_campaigns(book.origin_id):
            seen[api.id] = api
            books_of[api.id].add(book.id)
    conn = session.connection()
    before = {
        row.origin_id: row.is_deleted
        for row in conn.execute(
            select(CAMPAIGNS.c.origin_id, CAMPAIGNS.c.is_deleted).where(
                CAMPAIGNS.c.integration_id == ctx.integration_id
            )
        )
    }
    upsert(
        conn,
        CAMPAIGNS,
        [campaign_row(ctx, api) for api in seen.values()],
        key=["integration_id", "origin_id"],
        update=_UPDATED,
    )
    ids = {
        row.origin_id: row.id
        for row in conn.execute(
            select(CAMPAIGNS.c.id, CAMPAIGNS.c.origin_id).where(
                CAMPAIGNS.c.integration_id == ctx.integration_id
            )
        )
    }
    # Links: what each asked book lists now, nothing more, nothing less.
    asked = [book.id for book in books]
    wanted = {(ids[origin], book_id) for origin, book_ids in books_of.items() for book_id in book_ids}
    if asked:
        existing = {
            (row.campaign_id, row.address_book_id)
            for row in conn.execute(
                select(campaign_address_book.c.campaign_id, campaign_address_book.c.address_book_id).where(
                    campaign_address_book.c.address_book_id.in_(asked)
                )
            )
        }
        for campaign_id, book_id in existing - wanted:
            conn.execute(
                delete(campaign_address_book).where(
                    and_(
                        campaign_address_book.c.campaign_id == campaign_id,
                        campaign_address_book.c.address_book_id == book_id,
                    )
                )
            )
        insert_ignore(
            conn,
            campaign_address_book,
            [{"campaign_id": c, "address_book_id": b} for c, b in sorted(wanted - existing)],
            key=["campaign_id", "address_book_id"],
        )
    gone = [origin for origin, deleted in before.items() if not deleted and origin not in seen]
    if gone:
        conn.execute(
            update(CAMPAIGNS)
            .where(CAMPAIGNS.c.integration_id == ctx.integration_id, CAMPAIGNS.c.origin_id.in_(gone))
            .values(is_deleted=True, updated_at=ctx.now)
        )
    return {
        "books": len(books),
        "seen": len(seen),
        "created": sum(1 for origin in seen if origin not in before),
        "deleted": len(gone),
        "undeleted": sum(1 for origin in seen if before.get(origin)),
    }
