"""Import (Dotmailer -> dotsync): click and open events of campaigns, as marketing events of list members.

Shared by ``campaign_click`` and ``campaign_open``. For each campaign chosen by
:mod:`~dotsync.sync.importer.campaign_feeds`, the whole feed the first time, then ``.../since-date/{date}``;
each row becomes one ``MarketingEvent`` per member with that email in the lists connected to the campaign's
books. The ``event_key`` is a hash of type, time, detail (the URL for clicks) and the row's occurrence number
among identical rows of the same read, so re-reading a page inserts nothing twice (insert-or-ignore on
campaign + member + key). Counts in ``MemberStatistics`` come from ``activity_contact`` (the cumulative
per-contact row), not from here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from dotsync.db.bulk import batched, insert_ignore
from dotsync.db.models import MarketingEvent
from dotsync.dotmailer.errors import ApiNotFoundError
from dotsync.sync.context import SyncContext
from dotsync.sync.importer.campaign_feeds import campaign_lists, candidates, mark_done, plan
from dotsync.sync.importer.common import BATCH, event_key, member_ids

EVENTS = cast(Table, MarketingEvent.__table__)

# (email, when, detail) of one API row.
EventRow = tuple[str, datetime | None, str | None]
Feed = Callable[[int, datetime | None], Iterator[Any]]


def save_events(
    session: Session,
    campaign_id: int,
    list_ids: list[int],
    kind: str,
    rows: Iterable[EventRow],
    seen: Counter[EventRow],
    now: datetime,
) -> int:
    """Store one batch of events; ``seen`` numbers identical rows across the batches of one read."""
    keyed: list[tuple[str, datetime | None, str | None, str]] = []
    for email, when, detail in rows:
        if not email:
            continue
        occurrence = seen[(email, when, detail)]
        seen[(email, when, detail)] += 1
        keyed.append((email, when, detail, event_key(kind, when, detail, occurrence)))
    if not keyed:
        return 0
    conn = session.connection()
    members = member_ids(conn, list_ids, {k[0] for k in keyed})
    events = [
        {
            "campaign_id": campaign_id,
            "list_member_id": member_id,
            "event_type": kind,
            "event_key": key,
            "occurred_at": when,
            "detail": detail,
            "created_at": now,
        }
        for email, when, detail, key in keyed
        for _list_id, member_id in members.get(email, [])
    ]
    insert_ignore(conn, EVENTS, events, key=["campaign_id", "list_member_id", "event_key"])
    return len(keyed)


def run_feed(
    ctx: SyncContext,
    session: Session,
    connector: str,
    kind: str,
    feed: Feed,
    to_row: Callable[[Any], EventRow],
) -> dict[str, int]:
    found = candidates(session, ctx, connector)
    fetches = plan(ctx, session, connector, found)
    counts = {"campaigns": len(found), "read": 0, "events": 0}
    skipped: set[int] = set()
    for done, fetch in enumerate(fetches, 1):
        lists = campaign_lists(session, fetch.campaign_id)
        seen: Counter[EventRow] = Counter()
        try:
            for batch in batched(feed(fetch.origin_id, fetch.since), BATCH):
                rows = [to_row(item) for item in batch]
                counts["events"] += save_events(session, fetch.campaign_id, lists, kind, rows, seen, ctx.now)
        except ApiNotFoundError:
            ctx.note(f"campaign {fetch.origin_id} is gone from Dotmailer; its {kind} events were not read")
            skipped.add(fetch.campaign_id)
        counts["read"] += 1
        ctx.progress(f"campaign {kind}s", done, len(fetches))
    mark_done(ctx, session, connector, [c.id for c in found if c.id not in skipped])
    return counts
