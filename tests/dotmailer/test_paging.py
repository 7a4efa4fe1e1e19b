"""The select/skip paginator: stop rules, de-duplication, overlap and loop detection."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from dotsync.dotmailer.errors import MalformedResponseError, PagingLoopError
from dotsync.dotmailer.paging import iter_paged


class Pages:
    """A fake list endpoint serving canned pages by call order; records the (select, skip) of each call."""

    def __init__(self, *pages: Sequence[int]) -> None:
        self.pages = list(pages)
        self.requests: list[tuple[int, int]] = []

    def __call__(self, select: int, skip: int) -> Sequence[int]:
        self.requests.append((select, skip))
        return self.pages[len(self.requests) - 1]


def _ident(row: int) -> int:
    return row


def test_three_pages_with_overlap_yield_each_row_once() -> None:
    fetch = Pages([1, 2, 3], [3, 4, 5], [5, 6])
    rows = list(iter_paged(fetch, key=_ident, page_size=3))
    assert rows == [1, 2, 3, 4, 5, 6]
    assert fetch.requests == [(3, 0), (3, 3), (3, 6)]


def test_overlap_rewinds_skip_and_drops_rereads() -> None:
    fetch = Pages([1, 2, 3, 4], [3, 4, 5, 6], [5, 6, 7])
    rows = list(iter_paged(fetch, key=_ident, page_size=4, overlap=2))
    assert rows == [1, 2, 3, 4, 5, 6, 7]
    assert fetch.requests == [(4, 0), (4, 2), (4, 4)]


def test_stops_after_a_short_page_without_an_extra_request() -> None:
    fetch = Pages([1, 2])
    assert list(iter_paged(fetch, key=_ident, page_size=3)) == [1, 2]
    assert len(fetch.requests) == 1


def test_full_last_page_costs_one_empty_request() -> None:
    fetch = Pages([1, 2], [])
    assert list(iter_paged(fetch, key=_ident, page_size=2)) == [1, 2]
    assert fetch.requests == [(2, 0), (2, 2)]


def test_duplicates_within_a_page_are_dropped() -> None:
    assert list(iter_paged(Pages([1, 1, 2]), key=_ident, page_size=5)) == [1, 2]


def test_same_page_again_and_again_raises_a_loop_error() -> None:
    fetch = Pages([1, 2], [1, 2], [1, 2], [1, 2])
    seen: list[int] = []
    rows = iter_paged(fetch, key=_ident, page_size=2, what="GET /v2/address-books")
    with pytest.raises(PagingLoopError) as info:
        seen.extend(rows)  # extended row by row: the rows before the loop was detected stay
    assert seen == [1, 2]
    assert len(fetch.requests) == 3
    assert "GET /v2/address-books" in str(info.value)
    assert "endless loop" in str(info.value)
    assert isinstance(info.value, MalformedResponseError)
    assert info.value.exit_code == 1


def test_one_stale_page_is_tolerated_when_new_rows_follow() -> None:
    fetch = Pages([1, 2], [1, 2], [3])
    assert list(iter_paged(fetch, key=_ident, page_size=2)) == [1, 2, 3]


def test_alternating_pages_are_caught_too() -> None:
    fetch = Pages([1, 2], [3, 4], [1, 2], [3, 4], [1, 2])
    with pytest.raises(PagingLoopError):
        list(iter_paged(fetch, key=_ident, page_size=2))


def test_dedupe_window_is_bounded() -> None:
    # A row seen more than `dedupe_window` pages ago is yielded again: memory stays bounded on huge lists.
    fetch = Pages([1, 2], [3, 4], [5, 6], [1])
    assert list(iter_paged(fetch, key=_ident, page_size=2, dedupe_window=2)) == [1, 2, 3, 4, 5, 6, 1]


def test_custom_key_function() -> None:
    fetch = Pages(["A@x", "b@x"], ["B@X", "c@x"], [])
    assert list(iter_paged(fetch, key=str.lower, page_size=2)) == ["A@x", "b@x", "c@x"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"page_size": 0},
        {"page_size": 1001},
        {"page_size": 10, "overlap": 10},
        {"page_size": 10, "overlap": -1},
        {"page_size": 10, "stale_page_limit": 0},
        {"page_size": 10, "dedupe_window": 0},
    ],
)
def test_invalid_settings_are_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="must be"):
        list(iter_paged(Pages([]), key=_ident, **kwargs))
