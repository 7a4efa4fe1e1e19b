"""Logs for machines (issue 16, item 3) and full output when stdout is not a terminal (item 4)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import update

from dotsync.db.models import AddressBook
from tests.support import PASSWORD
from tests.support.world import World, people

LONG_BOOK = "Newsletter subscribers of the spring and summer campaigns, Europe and North America, 2026"
LONG_EMAIL = "a.very.long.local.part.that.goes.on.and.on.and.on@subdomain.of.a.long.example.com"


@pytest.fixture
def world(app, cli_run, tmp_path, sandbox) -> World:
    """A world of its own (not the suite's settled one): a long book name and a long email, connected."""
    w = World(app, cli_run, tmp_path, sandbox)
    w.connect_list(
        [*people(3), {"email": LONG_EMAIL, "first_name": "L", "last_name": "E", "city": "X"}], book=LONG_BOOK
    )
    return w


def _json_lines(stderr: str) -> list[dict[str, Any]]:
    lines = [line for line in stderr.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # every line must parse


def test_json_logs_one_object_per_line_with_run_fields(world: World) -> None:
    world.tick()
    result = world.run("--log-format", "json", "dotmailer", "export")
    records = _json_lines(result.stderr)
    assert records, "json logs include each run's summary"
    for record in records:
        assert {"time", "level", "logger", "message"} <= record.keys()
        assert record["integration"] == "acme"
        assert isinstance(record["run_id"], int)
    (summary,) = [r for r in records if "counts" in r]
    assert summary["outcome"] == "success"
    assert summary["kind"] == "export"
    assert summary["api_calls"] > 0
    assert summary["counts"]["export"][LONG_BOOK]["added"] == 4
    # Records made while a book is exported name the book.
    (uploaded,) = [r for r in records if r["message"].startswith("uploaded ")]
    assert uploaded["book"] == LONG_BOOK
    assert uploaded["logger"] == "dotsync.sync.export"
    assert "book" not in summary  # the run's summary is about the integration


def test_json_logs_from_the_environment_and_secrets_never_logged(world: World, secret_key: str) -> None:
    world.tick()
    result = world.cli("-vv", "integration", "sync", env={"DOTSYNC_LOG_FORMAT": "json"})
    assert result.exit_code == 0, result.stderr
    records = _json_lines(result.stderr)
    assert any(r["level"] == "debug" for r in records)
    assert PASSWORD not in result.stderr
    assert secret_key not in result.stderr
    # A refused password is logged as refused, never shown.
    world.account.password = "changed-password-1"
    world.tick()
    result = world.cli("-vv", "--log-format", "json", "integration", "sync")
    assert result.exit_code == 3
    assert PASSWORD not in result.stderr
    assert secret_key not in result.stderr
    assert "changed-password-1" not in result.stderr
    *logs, error = [line for line in result.stderr.splitlines() if line.strip()]
    assert error.startswith("Error: acme:")
    assert "401" in error
    records = [json.loads(line) for line in logs]  # every log line parses, the traceback inside its record
    assert any("exception" in r for r in records)


def test_a_bad_log_format_is_a_usage_error(world: World) -> None:
    assert world.run("--log-format", "xml", "status", expect=2).exit_code == 2


def test_tables_through_a_pipe_are_never_cut(world: World) -> None:
    world.settle()
    with world.app.sessions().begin() as session:
        session.execute(update(AddressBook).where(AddressBook.name == LONG_BOOK).values(sync_error="x" * 300))
    books = world.run("books", "list").stdout
    assert LONG_BOOK in books
    assert "…" not in books
    members = world.run("list", "members", "customers").stdout
    assert LONG_EMAIL in members
    status = world.run("status").stdout
    assert LONG_BOOK in status
    assert "…" not in status
    assert "x" * 300 in status
    explain = world.run("explain", LONG_EMAIL).stdout
    assert LONG_EMAIL in explain
    assert "…" not in explain
    for line in books.splitlines():
        assert LONG_BOOK not in line or line.count("│") + line.count("┃") >= 2  # one row, one line
