"""Loading a CSV into a new list without a set of every email: the same result as ``load_csv`` into an empty
list, with duplicates across batches found through the unique index (small batches force that here)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dotsync.db.models import ListMember, MarketingList
from dotsync.errors import BadInputError
from dotsync.lists import csvload
from dotsync.lists.csvfile import CsvFile
from dotsync.lists.csvload import load_csv_new_list
from dotsync.lists.members import load_csv
from tests.lists.conftest import NOW, members_of

ROWS = [
    "Ann@X.com,1",  # line 2
    "bob@x.com,2",
    "not-an-email,3",  # invalid
    "ann@x.com,4",  # duplicate of line 2, an earlier batch
    "cy@x.com,5",
    "cy@x.com,6",  # duplicate inside one batch (lines 6 and 7 share a batch of 2)
    "dee@x.com,7",
    "BOB@x.com,8",  # duplicate of line 3, an earlier batch
    "eve@x.com,9",
]


def _load(sessions, name: str, path, loader) -> object:
    with sessions.begin() as session:
        marketing_list = MarketingList(name=name, kind="static", email_column="email", field_columns=["n"])
        session.add(marketing_list)
        session.flush()
        with CsvFile(path) as csv_file:
            return loader(session.connection(), marketing_list.id, csv_file, email_column="email", now=NOW)


def test_same_result_as_load_csv_with_duplicates_across_batches(sessions, write_csv, monkeypatch) -> None:
    monkeypatch.setattr(csvload, "WRITE_BATCH", 2)
    path = write_csv("email,n\n" + "\n".join(ROWS) + "\n")
    fast = _load(sessions, "fast", path, load_csv_new_list)
    slow = _load(sessions, "slow", path, load_csv)
    # Same counts; the same rejects, though a duplicate of an earlier batch is logged when its batch is written.
    assert {k: v for k, v in fast.as_dict().items() if k != "rejects"} == {
        k: v for k, v in slow.as_dict().items() if k != "rejects"
    }
    assert (fast.rows_read, fast.new, fast.invalid, fast.duplicates) == (9, 5, 1, 3)
    assert sorted((r.line, r.kind, r.reason) for r in fast.rejects) == sorted(
        (r.line, r.kind, r.reason) for r in slow.rejects
    )
    assert {r.line for r in fast.rejects if r.kind == "duplicate"} == {5, 7, 9}
    fast_members, slow_members = members_of(sessions, "fast"), members_of(sessions, "slow")
    assert fast_members == slow_members
    assert fast_members["ann@x.com"]["fields"] == {"n": "1"}  # the first occurrence wins
    assert fast_members["bob@x.com"]["fields"] == {"n": "2"}
    assert sorted(fast_members) == ["ann@x.com", "bob@x.com", "cy@x.com", "dee@x.com", "eve@x.com"]


def test_members_are_stamped_with_a_change_value(sessions, write_csv) -> None:
    path = write_csv("email,n\na@x.com,1\nb@x.com,2\n")
    _load(sessions, "news", path, load_csv_new_list)
    with sessions() as session:
        seqs = set(session.scalars(select(ListMember.change_seq)))
        list_seq = session.scalar(select(MarketingList.change_seq).where(MarketingList.name == "news"))
    assert seqs == {list_seq}
    assert list_seq
    assert list_seq > 0


def test_no_valid_email_is_refused(sessions, write_csv) -> None:
    path = write_csv("email,n\nnope,1\nalso-nope,2\n")
    with pytest.raises(BadInputError, match="none of its 2 rows has a valid email"):
        _load(sessions, "news", path, load_csv_new_list)
