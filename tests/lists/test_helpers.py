"""Unit tests for the pure list helpers: fields hash, email column choice, URL masking, JSON-safe values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from uuid import UUID

import pytest

from dotsync.errors import BadInputError
from dotsync.lists.columns import field_columns, find_email_column
from dotsync.lists.hashing import canonical_json, fields_hash
from dotsync.lists.source import json_value, mask_url, normalise_source_url


def test_fields_hash_is_32_hex_and_ignores_key_order() -> None:
    one = fields_hash({"first": "Ann", "city": "Paris"})
    assert len(one) == 32
    int(one, 16)
    assert one == fields_hash({"city": "Paris", "first": "Ann"})
    assert one != fields_hash({"first": "Ann", "city": "Lyon"})
    assert fields_hash({"n": 1}) != fields_hash({"n": "1"})
    assert fields_hash({}) == fields_hash({})
    assert canonical_json({"b": "é", "a": None}) == '{"a":null,"b":"é"}'


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (["id", "Email", "name"], "Email"),
        (["EMAIL"], "EMAIL"),
        (["name", "E-mail"], "E-mail"),
        (["name", "Email Address"], "Email Address"),
        (["name", "work_email_address"], "work_email_address"),
        (["email_address", "email"], "email"),
    ],
)
def test_email_column_found_by_name(columns: list[str], expected: str) -> None:
    assert find_email_column(columns, None, source="f.csv") == expected
    assert field_columns(columns, expected) == [c for c in columns if c != expected]


def test_email_column_given_explicitly() -> None:
    assert find_email_column(["id", "Mail To"], "mail to", source="f.csv") == "Mail To"
    with pytest.raises(BadInputError, match=r"no column 'x' \(columns found: 'id', 'Mail To'\)"):
        find_email_column(["id", "Mail To"], "x", source="f.csv")


def test_missing_or_ambiguous_email_column_names_the_columns() -> None:
    with pytest.raises(BadInputError, match=r"no email column \(columns found: 'id', 'name'\)"):
        find_email_column(["id", "name"], None, source="f.csv")
    with pytest.raises(BadInputError, match="several columns"):
        find_email_column(["home email", "work email"], None, source="f.csv")
    with pytest.raises(BadInputError, match="another separator"):
        find_email_column(["email;name"], None, source="f.csv")


def test_mask_url_hides_passwords() -> None:
    masked = mask_url("postgresql://crm:s3cret@db.example.com:5432/crm?sslmode=require&password=p2")
    assert "s3cret" not in masked
    assert "p2" not in masked
    assert masked.startswith("postgresql://crm:***@db.example.com:5432/crm")
    assert "sslmode=require" in masked
    assert mask_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
    assert mask_url("::not a url::") == "***"


def test_normalise_source_url_makes_sqlite_paths_absolute(tmp_path, monkeypatch) -> None:
    (tmp_path / "src.db").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    assert normalise_source_url("sqlite:///src.db") == f"sqlite:///{tmp_path / 'src.db'}"
    with pytest.raises(BadInputError, match="does not exist"):
        normalise_source_url("sqlite:///missing.db")
    with pytest.raises(BadInputError, match="in-memory"):
        normalise_source_url("sqlite://")
    with pytest.raises(BadInputError, match="invalid --source URL"):
        normalise_source_url("not a url")
    assert normalise_source_url("postgresql://u:p@h/db") == "postgresql://u:p@h/db"


def test_json_value_makes_query_values_json_safe() -> None:
    assert json_value(None) is None
    assert json_value(3) == 3
    assert json_value(True) is True
    assert json_value(1.5) == 1.5
    assert json_value(float("nan")) == "nan"
    assert json_value(Decimal("10.50")) == "10.50"
    assert json_value(dt.date(2024, 5, 1)) == "2024-05-01"
    assert json_value(dt.datetime(2024, 5, 1, 12, 30)) == "2024-05-01T12:30:00"
    assert json_value(b"abc") == "abc"
    assert json_value(b"\xff\x00") == "ff00"
    assert json_value(UUID(int=1)) == "00000000-0000-0000-0000-000000000001"
    assert json_value([1, Decimal("2")]) == [1, "2"]
    assert json_value({"k": dt.time(8, 0)}) == {"k": "08:00:00"}
