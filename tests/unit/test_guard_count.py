"""The mass-change guard decides the same on a count of managed contacts cut at ``guard_count_limit`` as on the
whole count (a 1% change of a big book must not count the whole book)."""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any, cast

from dotsync.sync.export.guard import check_guard
from dotsync.sync.export.plan import GUARD_FLOOR, Plan, guard_count_limit


def book(remove_percent: float, remove_max: int, update_percent: float) -> Any:
    return SimpleNamespace(
        name="B",
        guard_remove_percent=remove_percent,
        guard_remove_max=remove_max,
        guard_update_percent=update_percent,
    )


def plan(removals: int, updated: int, managed: int) -> Plan:
    return Plan(removals=tuple((i, i) for i in range(removals)), updated=updated, managed=managed)


def test_a_cut_count_decides_as_the_whole_count() -> None:
    rng = random.Random(3)
    checked = held = 0
    for _ in range(3000):
        b = book(
            rng.choice([0, 5, 20, 50, 100]), rng.choice([0, 15, 1000, 10**6]), rng.choice([0, 10, 50, 100])
        )
        managed = rng.choice([0, 1, 5, 50, 500, 5000, 50000])
        removals = rng.randint(0, min(managed, 3000)) if rng.random() < 0.7 else 0
        updated = rng.randint(0, managed) if rng.random() < 0.7 else 0
        limit = guard_count_limit(b, removals, updated)
        cut = managed if limit is None else min(managed, limit)
        whole = check_guard(b, plan(removals, updated, managed), list_name="L", confirmed=False)
        assert check_guard(b, plan(removals, updated, cut), list_name="L", confirmed=False) == whole
        checked += removals > GUARD_FLOOR or updated > GUARD_FLOOR
        held += whole is not None
    assert checked > 1000  # changes above the floor were exercised
    assert held > 200  # and so were held exports


def test_a_small_change_of_a_big_book_counts_a_few_percent() -> None:
    b = book(20, 1000, 50)
    assert cast(int, guard_count_limit(b, 0, 10_000)) == 20_001  # updates > 50% needs fewer than 20,000
    assert cast(int, guard_count_limit(b, 100, 0)) == 501
    assert (
        guard_count_limit(b, 2000, 0) is None
    )  # above the maximum: held, with the whole count in its message
