"""Export rules as pure functions: data-field formatting, the content hash, fault reasons, the guard."""

from __future__ import annotations

import random
from datetime import date, datetime
from types import SimpleNamespace

import pytest

from dotsync.db.models import REMOVED, UNSUBSCRIBED
from dotsync.sync.export.faults import classify_fault
from dotsync.sync.export.guard import FLOOR, check_guard
from dotsync.sync.export.payload import FieldMap, RowFormatter, content_hash, format_value, member_values
from dotsync.sync.export.plan import Plan


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        ("  Ann ", "String", "Ann"),
        (None, "String", ""),
        ("42", "Numeric", "42"),
        ("41.50", "Numeric", "41.50"),
        ("1E+2", "Numeric", "100"),
        (7, "Numeric", "7"),
        ("2024-05-31", "Date", "2024-05-31T00:00:00"),
        ("2024-05-31T10:20:30Z", "Date", "2024-05-31T10:20:30"),
        (date(2024, 1, 2), "Date", "2024-01-02T00:00:00"),
        (datetime(2024, 1, 2, 3, 4, 5), "Date", "2024-01-02T03:04:05"),
        ("yes", "Boolean", "Yes"),
        ("0", "Boolean", "No"),
        (True, "Boolean", "Yes"),
        ("", "Boolean", ""),
    ],
)
def test_format_value_per_type(value, kind, expected) -> None:
    assert format_value(value, kind) == expected


@pytest.mark.parametrize(
    ("value", "kind"), [("abc", "Numeric"), ("31/05/2024", "Date"), ("maybe", "Boolean")]
)
def test_unformattable_values_raise(value, kind) -> None:
    with pytest.raises(ValueError, match=r"is not a (number|date|yes/no value)"):
        format_value(value, kind)


def test_row_formatter_matches_the_reference_functions() -> None:
    # Stored sent_hash values must stay valid: the fast formatter gives exactly the reference results.
    mappings = [
        FieldMap("FIRSTNAME", ("first",)),
        FieldMap("FULLNAME", ("first", "last")),
        FieldMap("SIZE", ("size",), "Numeric"),
        FieldMap("BORN", ("born",), "Date"),
        FieldMap("VIP", ("vip",), "Boolean"),
    ]
    formatter = RowFormatter(mappings)
    rng = random.Random(5)
    samples = [
        "",
        " x ",
        "Zoë",
        "12",
        "3.50",
        "2024-02-29",
        "bad",
        "yes",
        "no",
        None,
        0,
        1.25,
        True,
        '"quote"',
    ]
    for i in range(2000):
        fields = {
            k: rng.choice(samples) for k in ("first", "last", "size", "born", "vip") if rng.random() < 0.9
        }
        email = f"p{i}@example.com"
        values, bad = formatter.values(fields)
        assert (values, bad) == member_values(fields, mappings)
        assert formatter.digest(email, values) == content_hash(email, values, formatter.headers)


def test_content_hash_changes_with_any_sent_value() -> None:
    base = content_hash("a@x.com", ["Ann"], ["FIRSTNAME"])
    assert base != content_hash("a@x.com", ["Anne"], ["FIRSTNAME"])
    assert base != content_hash("b@x.com", ["Ann"], ["FIRSTNAME"])
    assert base != content_hash("a@x.com", ["Ann"], ["LASTNAME"])


@pytest.mark.parametrize(
    ("reason", "status", "state"),
    [
        ("Invalid Email", "Invalid", REMOVED),
        ("Globally Suppressed", "Suppressed", UNSUBSCRIBED),
        ("Unsubscribed", "Unsubscribed", UNSUBSCRIBED),
        ("Hard bounced", "HardBounced", UNSUBSCRIBED),
        ("Complained to ISP", "IspComplained", UNSUBSCRIBED),
        ("Suppressed by Domain", "DomainSuppression", UNSUBSCRIBED),
        ("Pending optin", "PendingOptIn", UNSUBSCRIBED),
        ("Something new", "Failed", REMOVED),
        (None, "Failed", REMOVED),
    ],
)
def test_fault_reasons(reason, status, state) -> None:
    outcome = classify_fault(reason)
    assert (outcome.book_status, outcome.member_state) == (status, state)


def _book(**overrides):
    defaults = {
        "name": "B",
        "guard_remove_percent": 20.0,
        "guard_remove_max": 1000,
        "guard_update_percent": 50.0,
    }
    return SimpleNamespace(**{**defaults, **overrides})


def _plan(managed: int, removals: int = 0, updated: int = 0) -> Plan:
    return Plan(managed=managed, updated=updated, removals=tuple((i, i) for i in range(removals)))


def test_guard_thresholds() -> None:
    book = _book()
    assert check_guard(book, _plan(100, removals=20), list_name="l", confirmed=False) is None
    held = check_guard(book, _plan(100, removals=21), list_name="l", confirmed=False)
    assert held is not None
    assert "--confirm-mass-change l" in held
    assert check_guard(book, _plan(100, removals=21), list_name="l", confirmed=True) is None
    assert (
        check_guard(book, _plan(20, removals=FLOOR), list_name="l", confirmed=False) is None
    )  # small change
    assert check_guard(_book(guard_remove_max=50), _plan(10_000, removals=51), list_name="l", confirmed=False)
    assert check_guard(book, _plan(100, updated=50), list_name="l", confirmed=False) is None
    assert "would update 51 of 100" in (
        check_guard(book, _plan(100, updated=51), list_name="l", confirmed=False) or ""
    )
