"""Two-way data fields and contacts new to the book, from Dotmailer into the list (issue 15), against the
sandbox through the CLI. Runs on SQLite, and on PostgreSQL when DOTSYNC_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.world import World, people


def _connected(world: World, n: int, *options: str) -> list[dict[str, Any]]:
    rows = people(n)
    world.connect_list(rows, "--map", "first_name=FIRSTNAME", "--map", "last_name=LASTNAME", *options)
    world.settle()
    return rows


def _members(world: World, state: str = "all") -> dict[str, dict[str, Any]]:
    found = json.loads(world.run("list", "members", "customers", "--state", state, "--json").stdout)
    return {m["email"]: m for m in found}


def _sent_since(world: World, first_upload: int, email: str) -> list[dict[str, str]]:
    return [
        row
        for upload in world.uploads()[first_upload:]
        for row in world.uploaded_rows(upload)
        if row["Email"].lower() == email
    ]


def _notes(world: World) -> list[str]:
    runs = json.loads(world.run("runs", "--json").stdout)
    return [note for run in runs for note in (run.get("counts") or {}).get("notes", [])]


def test_a_two_way_change_comes_back_a_one_way_change_does_not_and_is_never_sent_back(world: World) -> None:
    rows = _connected(world, 6, "--two-way", "FIRSTNAME")
    target = rows[1]["email"]
    uploads = len(world.uploads())
    world.account.set_data_fields(target, {"FIRSTNAME": "Changed", "LASTNAME": "Elsewhere"})
    world.cycle()
    member = _members(world)[target]
    assert member["fields"]["first_name"] == "Changed"  # two-way: taken
    assert member["fields"]["last_name"] == "Last1"  # one-way: never changed from Dotmailer
    world.settle()
    assert _sent_since(world, uploads, target) == []  # nothing pushed the old value back

    # A later local change of the member sends the Dotmailer value of the two-way field, not the old one.
    world.import_rows("customers", [dict(rows[1], first_name="Changed", last_name="Local")])
    world.cycle()
    sent = _sent_since(world, uploads, target)
    assert [(r["FIRSTNAME"], r["LASTNAME"]) for r in sent] == [("Changed", "Local")]
    world.settle()
    assert world.contact_fields(target) == {"FIRSTNAME": "Changed", "LASTNAME": "Local"}
    assert _members(world)[target]["fields"]["first_name"] == "Changed"


def test_typed_two_way_fields_are_formatted_back(world: World) -> None:
    world.account.create_data_field("BIRTHDAY", "Date")
    world.account.create_data_field("VIP", "Boolean")
    world.account.create_data_field("SIZE", "Numeric")
    rows = [dict(r, birthday="2000-01-02", vip="no", size="40") for r in people(3)]
    world.account.create_book("Customers")
    world.create_list("customers", rows)
    world.run("integration", "sync")
    world.run(
        "connect",
        "customers",
        "Customers",
        *("--map", "birthday=BIRTHDAY", "--map", "vip=VIP", "--map", "size=SIZE"),
        *("--two-way", "BIRTHDAY", "--two-way", "vip", "--two-way", "SIZE"),
    )
    world.settle()
    uploads = len(world.uploads())
    target = rows[0]["email"]
    world.account.set_data_fields(target, {"BIRTHDAY": "1999-12-31", "VIP": True, "SIZE": 42.5})
    world.settle()
    fields = _members(world)[target]["fields"]
    assert (fields["birthday"], fields["vip"], fields["size"]) == ("1999-12-31T00:00:00", "Yes", "42.5")
    assert _sent_since(world, uploads, target) == []


def test_a_conflict_keeps_the_local_change_and_is_noted(world: World) -> None:
    rows = _connected(world, 6, "--two-way", "FIRSTNAME")
    target = rows[2]["email"]
    uploads = len(world.uploads())
    world.account.set_data_fields(target, {"FIRSTNAME": "Remote"})
    world.import_rows("customers", [dict(rows[2], first_name="Local")])
    world.cycle()
    assert _members(world)[target]["fields"]["first_name"] == "Local"
    assert [r["FIRSTNAME"] for r in _sent_since(world, uploads, target)] == ["Local"]
    assert any("changed both in dotsync and in Dotmailer" in n and target in n for n in _notes(world))
    world.settle()
    assert world.contact_fields(target)["FIRSTNAME"] == "Local"
    assert _members(world)[target]["fields"]["first_name"] == "Local"


def test_contacts_added_in_dotmailer_become_members_and_are_not_uploaded_again(world: World) -> None:
    _connected(world, 4, "--two-way", "FIRSTNAME", "--import-new-contacts")
    uploads = len(world.uploads())
    world.account.add_contacts(
        "Customers",
        [
            {"email": "New.One@Example.com", "dataFields": {"FIRSTNAME": "Nia", "LASTNAME": "One"}},
            {"email": "new.two@example.com", "dataFields": {"FIRSTNAME": "Ned"}},
            "opted.out@example.com",
        ],
    )
    world.account.suppress("opted.out@example.com", "HardBounced")
    world.cycle()
    members = _members(world)
    assert members["new.one@example.com"]["state"] == "subscribed"
    assert members["new.one@example.com"]["fields"] == {"first_name": "Nia", "last_name": "One"}
    assert members["new.two@example.com"]["fields"] == {"first_name": "Ned"}
    assert "opted.out@example.com" not in members  # an opted-out contact is never imported as subscribed
    world.settle()
    for email in ("new.one@example.com", "new.two@example.com"):
        assert _sent_since(world, uploads, email) == []
    assert {"new.one@example.com", "new.two@example.com"} <= world.book_emails("Customers")

    # The list owns them now: removing one from the list removes it from the book.
    world.run("list", "remove", "customers", "new.two@example.com")
    world.settle()
    assert "new.two@example.com" not in world.book_emails("Customers")
    assert "new.one@example.com" in world.book_emails("Customers")
    assert _members(world)["new.two@example.com"]["state"] == "removed"


def test_turning_the_import_on_later_reads_the_book_once_and_takes_contacts_read_before(world: World) -> None:
    _connected(world, 3)
    world.account.add_contacts(
        "Customers", [{"email": "early@example.com", "dataFields": {"FIRSTNAME": "E"}}]
    )
    world.settle()
    assert "early@example.com" not in _members(world)
    world.run("connection", "update", "customers", "--import-new-contacts")
    world.cycle()
    assert _members(world)["early@example.com"]["fields"] == {"first_name": "E"}


def test_an_unchanged_cycle_with_both_on_costs_the_budget_and_changes_nothing(world: World) -> None:
    _connected(world, 20, "--two-way", "FIRSTNAME", "--import-new-contacts")
    world.settle()
    world.sandbox.calls.reset()
    uploads = len(world.uploads())
    world.cycle()
    calls = sum(world.sandbox.calls.counts().values())
    assert calls <= 5 + 3 * 1, world.sandbox.calls.counts()
    assert len(world.uploads()) == uploads
    assert len(_members(world)) == 20


def test_refusals_for_multi_field_mappings_and_query_lists(world: World) -> None:
    rows = people(3)
    world.account.create_book("Customers")
    world.account.create_book("Prospects")
    world.create_list("customers", rows)
    world.run("integration", "sync")

    multi = ("--map", "first_name+last_name=FULLNAME", "--map", "first_name=FIRSTNAME")
    refused = world.run("connect", "customers", "Customers", *multi, "--two-way", "FULLNAME", expect=2)
    assert "several list fields" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    world.run("connection", "show", "customers", expect=2)  # nothing changed: still not connected

    world.run("connect", "customers", "Customers", *multi)
    refused = world.run("connection", "update", "customers", "--two-way", "FULLNAME", expect=2)
    assert "several list fields" in refused.stderr
    view = json.loads(world.run("connection", "show", "customers", "--json").stdout)
    assert [m["direction"] for m in view["mappings"]] == ["one-way", "one-way"]

    world.create_list("prospects", [{"email": "q@example.com", "first_name": "Q"}], query=True)
    for option in (("--two-way", "FIRSTNAME"), ("--import-new-contacts",)):
        refused = world.run(
            "connect", "prospects", "Prospects", "--map", "first_name=FIRSTNAME", *option, expect=2
        )
        assert "query list" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
    world.run("connect", "prospects", "Prospects", "--map", "first_name=FIRSTNAME")
    for option in (("--two-way", "FIRSTNAME"), ("--import-new-contacts",)):
        refused = world.run("connection", "update", "prospects", *option, expect=2)
        assert "query list" in refused.stderr
    view = json.loads(world.run("connection", "show", "prospects", "--json").stdout)
    assert view["import_new_contacts"] is False
    assert view["mappings"][0]["two_way"] is False


def test_turning_both_off_again(world: World) -> None:
    rows = _connected(world, 4, "--two-way", "FIRSTNAME", "--import-new-contacts")
    view = json.loads(world.run("connection", "show", "customers", "--json").stdout)
    assert view["import_new_contacts"] is True
    assert {m["data_field"]: m["direction"] for m in view["mappings"]} == {
        "FIRSTNAME": "two-way",
        "LASTNAME": "one-way",
    }
    shown = world.run("connection", "show", "customers").stdout
    assert "first_name<->FIRSTNAME (two-way)" in shown

    world.run("connection", "update", "customers", "--one-way", "FIRSTNAME", "--no-import-new-contacts")
    view = json.loads(world.run("connection", "show", "customers", "--json").stdout)
    assert view["import_new_contacts"] is False
    assert [m["direction"] for m in view["mappings"]] == ["one-way", "one-way"]

    target = rows[0]["email"]
    world.account.set_data_fields(target, {"FIRSTNAME": "Remote"})
    world.account.add_contacts("Customers", ["late@example.com"])
    world.settle()
    members = _members(world)
    assert "late@example.com" not in members
    assert members[target]["fields"]["first_name"] == "First0"


def test_two_way_and_one_way_of_the_same_field_is_refused(world: World) -> None:
    _connected(world, 2, "--two-way", "FIRSTNAME")
    refused = world.run(
        "connection", "update", "customers", "--two-way", "LASTNAME", "--one-way", "LASTNAME", expect=2
    )
    assert "both" in refused.stderr
    refused = world.run("connection", "update", "customers", "--two-way", "GENDER", expect=2)
    assert "no list field is mapped" in refused.stderr


def test_a_local_change_alone_is_exported_and_not_noted_as_a_conflict(world: World) -> None:
    rows = _connected(world, 4, "--two-way", "FIRSTNAME")
    target = rows[3]["email"]
    uploads = len(world.uploads())
    world.import_rows("customers", [dict(rows[3], first_name="Local")])
    # The contact is read again (a one-way field changed in Dotmailer) while FIRSTNAME there is unchanged.
    world.account.set_data_fields(target, {"LASTNAME": "Elsewhere"})
    world.cycle()
    assert _members(world)[target]["fields"]["first_name"] == "Local"
    assert [r["FIRSTNAME"] for r in _sent_since(world, uploads, target)] == ["Local"]
    assert not any("changed both" in n for n in _notes(world))


def test_a_pending_double_opt_in_joins_as_subscribed_and_stays_so(world: World) -> None:
    _connected(world, 2, "--import-new-contacts")
    (pending,) = world.account.add_contacts("Customers", ["pending@example.com"])
    pending.status = "PendingOptIn"
    world.account.touch()
    world.cycle()
    world.settle()
    member = _members(world)["pending@example.com"]
    assert member["state"] == "subscribed", member
    assert _sent_since(world, 0, "pending@example.com") == []


def test_a_value_read_while_the_members_upload_is_in_flight_is_not_taken(world: World) -> None:
    rows = _connected(world, 4, "--two-way", "FIRSTNAME")
    target = rows[0]["email"]
    world.import_rows("customers", [dict(rows[0], first_name="Local")])
    world.tick()
    world.run("dotmailer", "export")  # uploaded; Dotmailer has not applied it yet
    world.account.set_data_fields(target, {"LASTNAME": "Elsewhere"})  # read again, FIRSTNAME still old there
    world.tick()
    world.run("integration", "sync")
    assert _members(world)[target]["fields"]["first_name"] == "Local"
    world.settle()
    assert world.contact_fields(target)["FIRSTNAME"] == "Local"
    assert _members(world)[target]["fields"]["first_name"] == "Local"


def test_a_local_write_beside_the_import_wins_over_the_two_way_value(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import update

    from dotsync.db.models import ListMember
    from dotsync.lists.changes import next_change
    from dotsync.lists.hashing import fields_hash
    from dotsync.sync.importer import two_way

    rows = _connected(world, 4, "--two-way", "FIRSTNAME")
    target = rows[1]["email"]
    uploads = len(world.uploads())
    local = {"first_name": "Beside", "last_name": "Last1", "city": rows[1]["city"]}
    real = two_way.Incoming._unsettled_imports

    def meanwhile(self: two_way.Incoming, conn: Any) -> set[str]:
        # Between the import's read of the member and its write: a local write takes a later change value.
        seq = next_change(conn, self.list_id)
        conn.execute(
            update(ListMember)
            .where(ListMember.email == target)
            .values(fields=local, fields_hash=fields_hash(local), change_seq=seq)
        )
        return real(self, conn)

    monkeypatch.setattr(two_way.Incoming, "_unsettled_imports", meanwhile)
    world.account.set_data_fields(target, {"FIRSTNAME": "Remote"})
    world.tick()
    world.run("integration", "sync")
    monkeypatch.undo()
    assert _members(world)[target]["fields"]["first_name"] == "Beside"
    world.tick()
    world.run("dotmailer", "export")
    assert [r["FIRSTNAME"] for r in _sent_since(world, uploads, target)] == ["Beside"]
