"""`connect`, `connection`, `disconnect` and `sync LIST` against the sandbox, through the CLI."""

from __future__ import annotations

import pytest

from tests.support.world import World, emails, people


@pytest.fixture
def world(world: World) -> World:
    """The shared world with two books and two lists (12 and 5 people), imported, nothing connected."""
    world.account.create_book("Customers")
    world.account.create_book("Partners")
    world.create_list("customers", people(12))
    world.create_list("partners", people(5, start=50))
    world.run("integration", "sync")
    return world


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("customers", "All Contacts"), "system address book"),
        (("customers", "Test"), "system address book"),
        (("customers", "No such book"), "no address book 'No such book'"),
        (("nolist", "Customers"), "no list named 'nolist'"),
        (
            ("customers", "Customers", "--map", "first_name=NOPE_FIELD"),
            "data field 'NOPE_FIELD' does not exist",
        ),
        (("customers", "Customers", "--map", "shoe_size=FIRSTNAME"), "has no field 'shoe_size'"),
        (("customers", "Customers", "--map", "first_name"), "expected FIELD=DATAFIELD"),
        (("customers", "Customers", "--map", "first_name=WAY_TOO_LONG_DATAFIELD_NAME"), "at most 20"),
    ],
)
def test_connect_refusals_are_exit_2(world: World, args, message) -> None:
    result = world.run("connect", *args, expect=2)
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert world.json("books", "list", "--available")  # nothing got connected


def test_one_list_one_book_both_ways(world: World) -> None:
    world.run("connect", "customers", "Customers")
    again = world.run("connect", "partners", "Customers", expect=2)
    assert "already connected to list 'customers'" in again.stderr
    other = world.run("connect", "customers", "Partners", expect=2)
    assert "already connected to address book 'Customers'" in other.stderr
    available = {b["name"] for b in world.json("books", "list", "--available")}
    assert "Customers" not in available
    assert "Partners" in available
    assert not available & {"All Contacts", "Test"}


def test_default_mappings_and_connection_show(world: World) -> None:
    world.run("connect", "customers", "Customers")
    view = world.json("connection", "show", "customers")
    assert {m["data_field"]: m["fields"] for m in view["mappings"]} == {
        "FIRSTNAME": ["first_name"],
        "LASTNAME": ["last_name"],
        "FULLNAME": ["first_name", "last_name"],
    }
    assert view["address_book"] == "Customers"


def test_create_datafields_creates_them_in_dotmailer(world: World) -> None:
    world.run("connect", "customers", "Customers", "--map", "city=CITY", "--create-datafields")
    assert "CITY" in {f["name"] for f in world.json("datafields", "list")}
    world.settle()
    assert world.contact_fields("person3@example.com").get("CITY") == "City3"


def test_disconnect_removes_nothing_from_the_book(world: World) -> None:
    world.run("connect", "customers", "Customers")
    world.settle()
    world.run("disconnect", "customers")
    for i in range(5):
        world.run("list", "remove", "customers", f"person{i}@example.com")
    world.settle()
    assert world.book_emails("Customers") == emails(people(12))
    assert not world.events(action="remove")
    assert "Customers" in {b["name"] for b in world.json("books", "list", "--available")}


def test_sync_one_list_touches_only_its_book(world: World) -> None:
    world.run("connect", "customers", "Customers")
    world.run("connect", "partners", "Partners")
    for _ in range(3):  # upload, then the sandbox answers NotFinished once, then Finished
        world.tick()
        world.run("sync", "partners")
    assert world.book_emails("Partners") == emails(people(5, start=50))
    assert world.book_emails("Customers") == set()
    not_connected = world.run("sync", "nolist", expect=2)
    assert "no list named 'nolist'" in not_connected.stderr


def test_resync_sends_everyone_again(world: World) -> None:
    world.run("connect", "customers", "Customers")
    world.settle()
    before = len(world.uploads())
    world.run("connection", "update", "customers", "--resync", "--update-threshold", "100")
    world.settle()
    assert len(world.uploads()) == before + 1
    assert len(world.uploaded_rows(world.uploads()[-1])) == 12


def test_a_connected_book_deleted_in_dotmailer_is_flagged_not_dropped(world: World) -> None:
    world.run("connect", "customers", "Customers")
    world.settle()
    world.account.delete_book("Customers")
    world.tick()
    world.run("integration", "sync")
    shown = world.json("list", "show", "customers")
    assert shown["address_book"]["name"] == "Customers"
    assert shown["address_book"]["missing_since"]
    assert "DELETED IN DOTMAILER" in world.run("list", "show", "customers").stdout
    assert any("deleted in Dotmailer" in p for p in world.json("status")[0]["problems"])
    failed = world.run("dotmailer", "export", expect=1)
    assert "no longer exists in Dotmailer" in failed.stdout + failed.stderr
    # Recovery: disconnect, make a new book, connect, export.
    world.run("disconnect", "customers")
    world.run("books", "create", "Customers 2")
    world.run("connect", "customers", "Customers 2")
    world.settle()
    assert world.book_emails("Customers 2") == emails(people(12))


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (("--remove-threshold", "150"), "--remove-threshold must be a percentage between 0 and 100"),
        (("--update-threshold", "-1"), "--update-threshold must be a percentage between 0 and 100"),
        (("--remove-max", "-5"), "--remove-max must be 0 or more"),
        (("--map", "shoe_size=SHOE_SIZE"), "has no field 'shoe_size'"),
    ],
)
def test_connection_update_checks_every_option_before_creating_data_fields(
    world: World, bad, message
) -> None:
    world.run("connect", "customers", "Customers")
    before = world.json("connection", "show", "customers")
    result = world.run(
        "connection", "update", "customers", "--map", "city=CITY", *bad, "--create-datafields", expect=2
    )
    assert message in result.stderr
    assert "CITY" not in world.account.data_fields  # nothing was created in Dotmailer
    assert "SHOE_SIZE" not in world.account.data_fields
    assert world.json("connection", "show", "customers") == before


def test_connect_checks_list_fields_before_creating_data_fields(world: World) -> None:
    result = world.run(
        "connect",
        "customers",
        "Customers",
        "--map",
        "city=CITY",
        "--map",
        "shoe_size=SHOE_SIZE",
        "--create-datafields",
        expect=2,
    )
    assert "has no field 'shoe_size'" in result.stderr
    assert "CITY" not in world.account.data_fields
    assert "SHOE_SIZE" not in world.account.data_fields
