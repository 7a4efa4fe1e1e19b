"""Export rules as pure functions: data-field formatting, the content hash, fault reasons, the guard."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from dotsync.db.models import MemberState
from dotsync.sync.export.faults import classify_fault
from dotsync.sync.export.guard import FLOOR, check_guard
from dotsync.sync.export.plan import Plan
from dotsync.sync.payload import FieldMap, RowFormatter, format_value


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


def member_values(fields: Mapping[str, Any], mappings: Sequence[FieldMap]) -> tuple[list[str], int]:
    """Reference: the data-field values for one member, in mapping order, and how many could not be formatted."""
    values: list[str] = []
    bad = 0
    for mapping in mappings:
        if len(mapping.list_fields) == 1:
            raw = fields.get(mapping.list_fields[0])
        else:
            parts = [str(fields.get(f) or "").strip() for f in mapping.list_fields]
            raw = " ".join(p for p in parts if p)
        try:
            values.append(format_value(raw, mapping.type))
        except ValueError:
            values.append("")
            bad += 1
    return values, bad


def content_hash(email: str, values: Sequence[str], headers: Sequence[str]) -> str:
    """Reference: the hash stored as ``sent_hash``, of exactly what is sent (email, each field's name and value)."""
    payload = json.dumps(
        [email, list(zip(headers, values, strict=True))], ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.md5(payload.encode("utf-8"), usedforsecurity=False).hexdigest()


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
    first = RowFormatter([FieldMap("FIRSTNAME", ("first",))])
    base = first.digest("a@x.com", ["Ann"])
    assert base == content_hash("a@x.com", ["Ann"], ["FIRSTNAME"])
    assert base != first.digest("a@x.com", ["Anne"])
    assert base != first.digest("b@x.com", ["Ann"])
    assert base != RowFormatter([FieldMap("LASTNAME", ("first",))]).digest("a@x.com", ["Ann"])


@pytest.mark.parametrize(
    ("reason", "status", "state"),
    [
        ("Invalid Email", "Invalid", MemberState.REMOVED),
        ("Globally Suppressed", "Suppressed", MemberState.UNSUBSCRIBED),
        ("Unsubscribed", "Unsubscribed", MemberState.UNSUBSCRIBED),
        ("Hard bounced", "HardBounced", MemberState.UNSUBSCRIBED),
        ("Complained to ISP", "IspComplained", MemberState.UNSUBSCRIBED),
        ("Suppressed by Domain", "DomainSuppression", MemberState.UNSUBSCRIBED),
        ("Pending optin", "PendingOptIn", MemberState.UNSUBSCRIBED),
        ("Something new", "Failed", MemberState.REMOVED),
        (None, "Failed", MemberState.REMOVED),
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
