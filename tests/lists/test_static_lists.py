"""Static lists from CSV files, through the service and the CLI: loading, re-importing, rejects, errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from dotsync.db.models import ListMember
from dotsync.errors import BadInputError
from dotsync.lists.hashing import fields_hash
from dotsync.secret import SecretBox
from dotsync.services import lists as svc
from tests.lists.conftest import NOW, list_names, members_of

BOX = SecretBox(Fernet.generate_key())

MESSY = (
    b"\xef\xbb\xbfEmail,First Name,City\r\n"
    b'Ann@Example.com,Ann,"Paris, FR"\r\n'
    b"not-an-email,Bob,Rome\r\n"
    b'"  ANN@example.COM ",Annie,Lyon\r\n'
    b'cy@example.org,"Cy\r\nSecond line",Oslo\r\n'
    b"dee@example,Dee,Nice\r\n"
    b"eve@example.net,Eve\r\n"
    b"fay@example.net,Fay,Bonn\r\n"
)


def test_create_from_messy_csv_keeps_valid_rows_and_reports_the_rest(
    cli_run, sessions: sessionmaker[Session], write_csv, tmp_path: Path
) -> None:
    path = write_csv(MESSY)
    rejects = tmp_path / "rejects.csv"
    result = cli_run("list", "create", "news", "--csv", str(path), "--rejects", str(rejects))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "3 new" in result.stderr
    assert "Skipped 3 invalid rows and 1 duplicate" in result.stderr

    members = members_of(sessions, "news")
    assert set(members) == {"ann@example.com", "cy@example.org", "fay@example.net"}
    # first occurrence wins
    assert members["ann@example.com"]["fields"] == {"First Name": "Ann", "City": "Paris, FR"}
    assert members["cy@example.org"]["fields"]["First Name"] == "Cy\r\nSecond line"
    assert all(m["state"] == "subscribed" and m["current"] for m in members.values())
    assert members["fay@example.net"]["hash"] == fields_hash({"First Name": "Fay", "City": "Bonn"})

    with rejects.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["line", "reason", "Email", "First Name", "City"]
    by_line = {int(r[0]): r for r in rows[1:]}
    assert set(by_line) == {3, 4, 7, 8}
    assert "missing @" in by_line[3][1]
    assert by_line[3][2:] == ["not-an-email", "Bob", "Rome"]
    assert "duplicate of ann@example.com" in by_line[4][1]
    assert "the domain has no dot" in by_line[7][1]
    assert by_line[8][1] == "expected 3 columns, found 2"


def test_rejects_are_listed_on_stderr_without_a_rejects_file(cli_run, write_csv) -> None:
    result = cli_run("list", "create", "news", "--csv", str(write_csv(MESSY)))
    assert result.exit_code == 0
    assert "line 3: invalid email 'not-an-email': missing @" in result.stderr
    assert "line 4: duplicate of ann@example.com" in result.stderr


def test_missing_email_column_writes_nothing(cli_run, sessions, write_csv) -> None:
    path = write_csv("id,name\n1,Ann\n")
    result = cli_run("list", "create", "news", "--csv", str(path))
    assert result.exit_code == 2
    assert "no email column (columns found: 'id', 'name')" in result.stderr
    assert list_names(sessions) == []

    result = cli_run("list", "create", "news", "--csv", str(path), "--email-column", "mail")
    assert result.exit_code == 2
    assert "no column 'mail'" in result.stderr
    assert list_names(sessions) == []


def test_email_column_option(cli_run, sessions, write_csv) -> None:
    path = write_csv("Contact,Work Email\nAnn,ann@x.com\n")
    wrong = cli_run("list", "create", "news", "--csv", str(path), "--email-column", "contact")
    assert wrong.exit_code == 2
    assert "none of its 1 rows has a valid email in column 'Contact'" in wrong.stderr
    assert list_names(sessions) == []
    result = cli_run("list", "create", "news", "--csv", str(path), "--email-column", "work email")
    assert result.exit_code == 0, result.stderr
    assert members_of(sessions, "news")["ann@x.com"]["fields"] == {"Contact": "Ann"}


def test_undecodable_bytes_exit_2_naming_the_line(cli_run, sessions, write_csv) -> None:
    path = write_csv(b"email,name\na@x.com,Ann\nb@x.com,Ren\xe9e\n")
    result = cli_run("list", "create", "news", "--csv", str(path))
    assert result.exit_code == 2
    assert "line 3" in result.stderr
    assert "--encoding" in result.stderr
    assert list_names(sessions) == []

    result = cli_run("list", "create", "news", "--csv", str(path), "--encoding", "latin-1")
    assert result.exit_code == 0, result.stderr
    assert members_of(sessions, "news")["b@x.com"]["fields"] == {"name": "Renée"}


def test_unknown_encoding_is_bad_input(cli_run, write_csv) -> None:
    result = cli_run("list", "create", "news", "--csv", str(write_csv("email\n")), "--encoding", "nope")
    assert result.exit_code == 2
    assert "unknown encoding 'nope'" in result.stderr


def test_empty_file_is_bad_input(cli_run, sessions, write_csv) -> None:
    result = cli_run("list", "create", "news", "--csv", str(write_csv(b"")))
    assert result.exit_code == 2
    assert "is empty" in result.stderr
    assert list_names(sessions) == []


def test_nul_bytes_and_long_fields_reject_the_row_only(cli_run, sessions, write_csv) -> None:
    long = "y" * 70_000
    path = write_csv(f"email,note\na@x.com,ok\nb@x.com,bad\x00\nc@x.com,{long}\nd@x.com,fine\n")
    result = cli_run("list", "create", "news", "--csv", str(path))
    assert result.exit_code == 0, result.stderr
    assert "line 3: contains a NUL character" in result.stderr
    assert "line 4: column 'note' is longer than 65536 characters" in result.stderr
    assert set(members_of(sessions, "news")) == {"a@x.com", "d@x.com"}


def test_reimport_keeps_states_and_updates_fields(cli_run, sessions, write_csv) -> None:
    first = write_csv("email,name\na@x.com,Ann\nb@x.com,Bob\nc@x.com,Cy\nd@x.com,Dee\n", "one.csv")
    assert cli_run("list", "create", "news", "--csv", str(first)).exit_code == 0
    assert cli_run("list", "unsubscribe", "news", "B@x.com").exit_code == 0
    assert cli_run("list", "remove", "news", "c@x.com").exit_code == 0
    before = members_of(sessions, "news")

    second = write_csv(
        "EMAIL,name,city\na@x.com,Ann,Rome\nb@x.com,Bobby,\nc@x.com,Cy,\nd@x.com,Dee,\ne@x.com,Eve,\n"
    )
    result = cli_run("list", "import", "news", str(second), "--json")
    assert result.exit_code == 0, result.stderr
    counts = json.loads(result.stdout)
    assert {k: counts[k] for k in ("rows_read", "new", "changed", "unchanged")} == {
        "rows_read": 5,
        "new": 1,
        "changed": 4,  # every member gained the new "city" field
        "unchanged": 0,
    }

    after = members_of(sessions, "news")
    assert after["b@x.com"]["state"] == "unsubscribed"
    assert after["b@x.com"]["reason"] == "unsubscribed by user"
    assert after["c@x.com"]["state"] == "removed"
    assert after["c@x.com"]["reason"] == "removed by user"
    assert after["a@x.com"]["state"] == "subscribed"
    assert after["e@x.com"]["state"] == "subscribed"
    assert after["b@x.com"]["fields"] == {"name": "Bobby", "city": ""}
    assert after["a@x.com"]["hash"] != before["a@x.com"]["hash"]
    assert after["a@x.com"]["hash"] == fields_hash({"name": "Ann", "city": "Rome"})

    again = cli_run("list", "import", "news", str(second), "--json")
    assert json.loads(again.stdout)["unchanged"] == 5
    show = json.loads(cli_run("list", "show", "news", "--json").stdout)
    assert show["fields"] == ["name", "city"]


def test_failed_import_changes_nothing(sessions, write_csv) -> None:
    """A decoding error after several written batches rolls the whole import back."""
    with sessions.begin() as session:
        svc.create_list(session, BOX, name="news", now=NOW)
        svc.add_member(session, "news", "keep@x.com", now=NOW, fields={"n": "0"})
    rows = "".join(f"u{i}@x.com,{i}\n" for i in range(7000))
    path = write_csv(b"email,n\n" + rows.encode() + b"late@x.com,\xff\n")
    with pytest.raises(BadInputError, match="line 7002"), sessions.begin() as session:
        svc.import_members(session, "news", path, now=NOW)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ListMember)) == 1
    assert members_of(sessions, "news")["keep@x.com"]["fields"] == {"n": "0"}


def test_import_into_unknown_or_query_list(cli_run, write_csv) -> None:
    path = write_csv("email\na@x.com\n")
    result = cli_run("list", "import", "nope", str(path))
    assert result.exit_code == 2
    assert "no list named 'nope'" in result.stderr


def test_progress_is_reported(sessions, write_csv) -> None:
    rows = "".join(f"u{i}@x.com\n" for i in range(5000))
    path = write_csv("email\n" + rows)
    calls: list[tuple[str, int, int | None]] = []
    with sessions.begin() as session:
        result = svc.create_list(
            session,
            BOX,
            name="big",
            now=NOW,
            csv_path=path,
            progress=lambda label, done, total: calls.append((label, done, total)),
        )
    assert result.load is not None
    assert result.load.new == 5000
    assert calls[-1] == ("Importing members.csv", 5000, 5000)
    assert len(calls) >= 3
    assert all(total is None or total >= done for _label, done, total in calls)


def test_empty_static_list_then_add_by_hand(cli_run, sessions) -> None:
    result = cli_run("list", "create", "vip")
    assert result.exit_code == 0, result.stderr
    assert (
        cli_run("list", "add", "vip", " Zoe@X.com ", "--field", "name=Zoë", "--field", "tier=gold").exit_code
        == 0
    )
    assert members_of(sessions, "vip") == {
        "zoe@x.com": {
            "state": "subscribed",
            "reason": None,
            "fields": {"name": "Zoë", "tier": "gold"},
            "hash": fields_hash({"name": "Zoë", "tier": "gold"}),
            "current": True,
        }
    }
    bad = cli_run("list", "add", "vip", "zoe@", "--field", "x=1")
    assert bad.exit_code == 2
    assert "nothing after the @" in bad.stderr
    bad_field = cli_run("list", "add", "vip", "y@x.com", "--field", "novalue")
    assert bad_field.exit_code == 2
    assert "expected NAME=VALUE" in bad_field.stderr
    assert cli_run("list", "create", "vip").exit_code == 2
