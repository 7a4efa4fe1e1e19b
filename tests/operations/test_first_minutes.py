"""The first minutes (issue 16, item 7): `integration create` imports the address books at once, and an empty
listing says what to run next instead of printing an empty table."""

from __future__ import annotations

import json

import pytest

from dotsync.sandbox import Sandbox
from tests.support import PASSWORD, USERNAME
from tests.support.world import use_sandbox


@pytest.fixture
def sandbox(sandbox: Sandbox, app) -> Sandbox:
    """The shared sandbox, the test account holding two books, and the app pointed at it."""
    account = sandbox.add_account(USERNAME, PASSWORD)
    account.create_book("Customers")
    account.create_book("Prospects")
    use_sandbox(app, sandbox)
    return sandbox


def _create(cli_run, *extra: str):
    return cli_run(
        "integration", "create", "--name", "acme", "--username", USERNAME, "--password-stdin", *extra,
        input=PASSWORD + "\n",
    )  # fmt: skip


def test_create_imports_the_address_books_at_once(cli_run, sandbox: Sandbox) -> None:
    result = _create(cli_run)
    assert result.exit_code == 0, result.stderr
    assert "Imported" in result.stderr
    assert "dotsync books list --available" in result.stderr
    available = json.loads(cli_run("books", "list", "--available", "--json").stdout)
    assert sorted(b["name"] for b in available) == ["Customers", "Prospects"]
    assert "Customers" in cli_run("books", "list", "--available").stdout
    (run,) = json.loads(cli_run("runs", "--json").stdout)
    assert run["kind"] == "import"
    assert run["outcome"] == "success"
    assert [s["name"] for s in run["steps"]] == ["address_book"]


def test_create_without_check_imports_nothing_and_the_listing_says_what_next(
    cli_run, sandbox: Sandbox
) -> None:
    assert _create(cli_run, "--no-check").exit_code == 0
    result = cli_run("books", "list", "--available")
    assert result.exit_code == 0
    assert "dotsync integration sync" in result.stdout
    assert "┏" not in result.stdout
    assert json.loads(cli_run("books", "list", "--json").stdout) == []


def test_a_failed_first_import_is_a_warning_not_a_failure(cli_run, sandbox: Sandbox) -> None:
    sandbox.faults.schedule("5xx", "/v2/address-books", times=50)
    result = _create(cli_run)
    assert result.exit_code == 0
    assert "not imported yet" in result.stderr
    assert "dotsync integration sync" in result.stderr
    assert json.loads(cli_run("integration", "list", "--json").stdout)[0]["name"] == "acme"


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (("integration", "list"), "dotsync integration create"),
        (("list", "ls"), "dotsync list create"),
        (("books", "list"), "dotsync integration sync"),
        (("campaigns", "list"), "dotsync connect"),
        (("datafields", "list"), "dotsync integration sync"),
        (("runs",), "dotsync integration sync"),
    ],
)
def test_empty_listings_say_what_to_run_next(cli_run, args: tuple[str, ...], hint: str) -> None:
    result = cli_run(*args)
    assert result.exit_code == 0, result.stderr
    assert hint in result.stdout
    assert "┏" not in result.stdout
    assert json.loads(cli_run(*args, "--json").stdout) == []


def test_the_first_import_sends_no_alert_and_ignores_the_webhook(app, cli_run, sandbox: Sandbox) -> None:
    app.settings.alert_webhook = "ftp://not-a-webhook"
    result = _create(cli_run)
    assert result.exit_code == 0, result.stderr
    assert "Imported 4 address book(s)" in result.stderr  # with "All Contacts" and "Test"
    assert "DOTSYNC_ALERT_WEBHOOK" in cli_run("integration", "sync").stderr  # the cron runs refuse it
