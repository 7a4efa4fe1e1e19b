"""CLI tests of `books`, `campaigns` and `datafields` (exit codes, --json shapes, unknown names) over the sandbox."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from dotsync.cli.context import AppContext
from dotsync.db.models import (
    SUMMARY_COMMERCE_FIELDS,
    SUMMARY_FLOAT_FIELDS,
    SUMMARY_INT_FIELDS,
    AddressBook,
    Integration,
)
from dotsync.sandbox import Account, Sandbox
from tests.support import PASSWORD
from tests.support.rows import add_integration, connect_book
from tests.support.world import use_sandbox


@pytest.fixture
def sandbox(sandbox: Sandbox, app: AppContext) -> Sandbox:
    """The shared sandbox, with the app pointed at it."""
    use_sandbox(app, sandbox)
    return sandbox


@pytest.fixture
def account(account: Account, app: AppContext) -> Account:
    """The test account, and the integration 'shop' that reaches it (its password stored encrypted)."""
    add_integration(app.sessions(), "shop", password_encrypted=app.box().encrypt(PASSWORD))
    return account


def _json(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _connect(app: AppContext, origin_id: int) -> None:
    """A list 'members' (ann, bob) connected to the imported book ``origin_id`` of the integration 'shop'."""
    with app.sessions()() as session:
        shop = session.scalar(select(Integration.id).where(Integration.name == "shop"))
    assert shop is not None
    connect_book(app.sessions(), shop, origin_id, "members", ["ann@example.com", "bob@example.com"])


def test_books_list_and_available(cli_run: Any, account: Account, app: AppContext) -> None:
    members = account.create_book("Members")
    account.create_book("Spare", "Public")
    assert cli_run("integration", "sync", "--connector", "address_book").exit_code == 0
    _connect(app, members.id)

    books = _json(cli_run("books", "list", "--json"))
    assert {b["name"] for b in books} == {"All Contacts", "Test", "Members", "Spare"}
    by_name = {b["name"]: b for b in books}
    assert by_name["Members"]["state"] == "connected"
    assert by_name["Members"]["list"] == "members"
    assert by_name["Test"]["state"] == "system"
    assert by_name["Spare"]["id"] == account.book("Spare").id
    assert by_name["Spare"]["visibility"] == "Public"

    available = _json(cli_run("books", "list", "--available", "--integration", "shop", "--json"))
    assert [b["name"] for b in available] == ["Spare"]

    human = cli_run("books", "list")
    assert human.exit_code == 0
    assert "Spare" in human.stdout

    unknown = cli_run("books", "list", "--integration", "nope")
    assert unknown.exit_code == 2
    assert "nope" in unknown.stderr


def test_books_create(cli_run: Any, account: Account, app: AppContext) -> None:
    created = _json(cli_run("books", "create", "Newsletter", "--visibility", "public", "--json"))
    assert created["name"] == "Newsletter"
    assert created["visibility"] == "Public"
    assert account.book("Newsletter").id == created["id"]
    with app.sessions()() as session:
        stored = session.scalar(select(AddressBook).where(AddressBook.origin_id == created["id"]))
        assert stored is not None
        assert stored.name == "Newsletter"

    duplicate = cli_run("books", "create", "newsletter")
    assert duplicate.exit_code == 2
    assert "That name is in use already" in duplicate.stderr

    reserved = cli_run("books", "create", "Test")
    assert reserved.exit_code == 2

    bad = cli_run("books", "create", "X", "--visibility", "secret")
    assert bad.exit_code == 2


def test_campaigns_list_and_show(cli_run: Any, account: Account, app: AppContext) -> None:
    members = account.create_book("Members")
    account.add_contacts(members, ["ann@example.com", "bob@example.com", "cid@example.com"])
    account.send_campaign("Spring", [members], opens=["ann@example.com"], clicks=["bob@example.com"])
    assert cli_run("integration", "sync", "--connector", "address_book").exit_code == 0
    _connect(app, members.id)
    result = cli_run("integration", "sync")
    assert result.exit_code == 0, result.stdout + result.stderr

    listed = _json(cli_run("campaigns", "list", "--json"))
    assert [c["name"] for c in listed] == ["Spring"]
    assert listed[0]["books"] == ["Members"]
    assert listed[0]["sent"] == 3

    spring = account.campaign("Spring")
    shown = _json(cli_run("campaigns", "show", str(spring.id), "--json"))
    assert shown["id"] == spring.id
    assert shown["name"] == "Spring"
    assert shown["status"] == "Sent"
    summary = shown["summary"]
    assert set(summary) == {"date_sent", *SUMMARY_INT_FIELDS, *SUMMARY_FLOAT_FIELDS, *SUMMARY_COMMERCE_FIELDS}
    assert (summary["revenue"], summary["num_orders"]) == ("$0.00", 0)  # kept from the API (reference §15)
    assert summary["num_total_sent"] == 3
    assert summary["num_total_clicks"] == 1
    statistics = {s["email"]: s for s in shown["statistics"]}
    assert set(statistics) == {"ann@example.com", "bob@example.com"}  # cid is not a list member
    bob = statistics["bob@example.com"]
    assert set(bob) == {
        "email",
        "list",
        "open_count",
        "click_count",
        "bounce_count",
        "unsubscribe_count",
        "last_contacted_at",
    }
    assert (bob["list"], bob["click_count"], bob["open_count"], bob["bounce_count"]) == ("members", 1, 1, 0)

    by_name = _json(cli_run("campaigns", "show", "Spring", "--json"))
    assert by_name["id"] == spring.id
    human = cli_run("campaigns", "show", "Spring")
    assert human.exit_code == 0
    assert "Per-member statistics" in human.stdout
    assert "bob" in human.stdout
    assert cli_run("campaigns", "list").exit_code == 0

    unknown = cli_run("campaigns", "show", "Autumn")
    assert unknown.exit_code == 2
    assert "Autumn" in unknown.stderr
    assert cli_run("campaigns", "list", "--integration", "nope").exit_code == 2


def test_datafields_list(cli_run: Any, account: Account) -> None:
    account.create_data_field("VIP", "Boolean", "Public", True)
    assert cli_run("integration", "sync", "--connector", "datafield").exit_code == 0
    fields = _json(cli_run("datafields", "list", "--json"))
    by_name = {f["name"]: f for f in fields}
    assert {"FIRSTNAME", "LASTNAME", "VIP"} <= set(by_name)
    assert (by_name["VIP"]["type"], by_name["VIP"]["visibility"], by_name["VIP"]["default_value"]) == (
        "Boolean",
        "Public",
        "Yes",
    )
    assert by_name["VIP"]["integration"] == "shop"
    human = cli_run("datafields", "list", "--integration", "shop")
    assert human.exit_code == 0
    assert "VIP" in human.stdout
    assert cli_run("datafields", "list", "--integration", "nope").exit_code == 2
