"""Offset paging (``select``/``skip``) over Dotmailer list endpoints, with de-duplication and loop detection.

Part of the HTTP layer (no database knowledge). Dotmailer's list calls return bare JSON arrays with no total
and no stable order, so:

* a page shorter than ``select`` (or empty) is the last one, which saves the extra empty request;
* rows can shift between requests while a set changes, so a row may come back on the next page: rows are
  de-duplicated by a key. Only the keys of the last few pages are remembered, because a re-read row can only
  come from just before the current offset, and remembering every key of a million-contact book would cost
  far more memory than it saves;
* ``overlap`` re-reads the tail of the previous page (as the Oro bundle did) so rows that shift *left* while
  paging are not skipped; the re-read rows are dropped by the de-duplication;
* a full page that brings nothing new means the server ignores ``skip`` or repeats itself: after
  ``stale_page_limit`` such pages in a row, :class:`PagingLoopError` stops the loop instead of spinning.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import TypeVar

from dotsync.dotmailer.errors import PagingLoopError

T = TypeVar("T")

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 1000
DEFAULT_STALE_PAGE_LIMIT = 2
DEFAULT_DEDUPE_WINDOW = 5


def iter_paged(
    fetch: Callable[[int, int], Sequence[T]],
    *,
    key: Callable[[T], Hashable],
    page_size: int = DEFAULT_PAGE_SIZE,
    overlap: int = 0,
    stale_page_limit: int = DEFAULT_STALE_PAGE_LIMIT,
    dedupe_window: int = DEFAULT_DEDUPE_WINDOW,
    what: str = "a list",
) -> Iterator[T]:
    """Yield every row of a paged list once. ``fetch(select, skip)`` returns one page of parsed rows.

    ``what`` names the call in error messages (e.g. ``"GET /v2/address-books"``).
    """
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")
    if not 0 <= overlap < page_size:
        raise ValueError(f"overlap must be between 0 and page_size - 1, got {overlap}")
    if stale_page_limit < 1 or dedupe_window < 1:
        raise ValueError("stale_page_limit and dedupe_window must be at least 1")

    recent: deque[set[Hashable]] = deque(maxlen=dedupe_window)
    skip = 0
    stale_pages = 0
    while True:
        page = fetch(page_size, skip)
        page_keys: set[Hashable] = set()
        fresh = 0
        for row in page:
            row_key = key(row)
            if row_key in page_keys or any(row_key in keys for keys in recent):
                continue
            page_keys.add(row_key)
            fresh += 1
            yield row
        recent.append(page_keys)
        if len(page) < page_size:
            return
        if fresh == 0:
            stale_pages += 1
            if stale_pages >= stale_page_limit:
                raise PagingLoopError(
                    f"Dotmailer API call {what} returned {stale_pages} full pages in a row with nothing new "
                    f"(last at skip={skip}); stopped paging to avoid an endless loop",
                    call=what,
                )
        else:
            stale_pages = 0
        skip += page_size - overlap
