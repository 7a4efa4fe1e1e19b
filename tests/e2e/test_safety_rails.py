"""Safety rails against the sandbox: the dry run's plan equals the real run, the mass-change guard, and a
query source that fails or empties is never read as "everyone left"."""

from __future__ import annotations

import json
import sqlite3

from tests.support.world import World, emails, people


def _settled(world: World, rows, *maps: str) -> None:
    world.connect_list(rows, *maps)
    world.settle()


def _book(world: World, result) -> dict:
    outcome = json.loads(result.stdout)[0]
    return outcome["counts"]["export"]["Customers"]


def test_dry_run_plan_equals_the_real_run(world: World) -> None:
    rows = people(40)
    _settled(world, rows, "--map", "first_name=FIRSTNAME")
    # A mixed change set: 3 removed, 2 changed, 4 new members, 1 opt-out in Dotmailer.
    for i in (1, 2, 3):
        world.run("list", "remove", "customers", f"person{i}@example.com")
    world.import_rows("customers", [dict(rows[10], first_name="Changed"), dict(rows[11], first_name="Also")])
    world.import_rows("customers", people(4, start=100))
    world.account.unsubscribe("Customers", "person20@example.com")
    world.tick()
    world.run("integration", "sync")
    world.sandbox.calls.reset()
    uploads_before = len(world.uploads())
    members_before = world.json("list", "members", "customers", "--state", "all")

    dry = world.run("dotmailer", "export", "--dry-run", "--json")
    plan = _book(world, dry)["plan"]
    # Nothing changed anywhere: no write calls to Dotmailer, no member state change in dotsync.
    assert all(c.method == "GET" for c in world.sandbox.calls), [c.endpoint for c in world.sandbox.calls]
    assert len(world.uploads()) == uploads_before
    assert world.json("list", "members", "customers", "--state", "all") == members_before
    assert plan["add"] == 4
    assert plan["update"] == 2
    assert plan["remove"] == 3
    # The opt-out was already applied to the member by the import; nothing more to change back.
    assert plan["state_changes"] == 0
    assert set(plan["samples"]["remove"]) == {
        "person1@example.com",
        "person2@example.com",
        "person3@example.com",
    }

    real = _book(world, world.run("dotmailer", "export", "--json"))
    assert (real["added"], real["updated"], real["removed"], real["unsubscribed"]) == (
        plan["add"],
        plan["update"],
        plan["remove"],
        plan["state_changes"],
    )
    assert real["rows_uploaded"] == plan["add"] + plan["update"]


def test_dry_run_counts_state_changes_like_the_real_run(world: World) -> None:
    rows = people(12)
    _settled(world, rows)
    world.account.unsubscribe("Customers", "person4@example.com")
    # Only the contact import learns the new status (not the unsubscribe feed): run just that connector.
    world.tick()
    world.run("integration", "sync", "--connector", "contact")
    plan = _book(world, world.run("dotmailer", "export", "--dry-run", "--json"))["plan"]
    real = _book(world, world.run("dotmailer", "export", "--json"))
    assert plan["state_changes"] == real["unsubscribed"]


def test_removing_30_percent_is_held_then_confirmed(world: World) -> None:
    rows = people(50)
    _settled(world, rows)
    gone = [f"person{i}@example.com" for i in range(15)]
    for email in gone:
        world.run("list", "remove", "customers", email)
    world.tick()
    held = world.run("dotmailer", "export", expect=1)
    assert "held" in held.stdout + held.stderr
    assert "--confirm-mass-change" in held.stdout + held.stderr
    assert world.book_emails("Customers") == emails(rows)  # nothing removed
    status = world.json("status")
    assert status[0]["books"][0]["held"]
    world.run("dotmailer", "export", "--confirm-mass-change", "customers")
    world.sandbox.advance(seconds=5)  # Dotmailer applies a removal a little later (202)
    assert world.book_emails("Customers") == emails(rows) - set(gone)
    assert world.json("status")[0]["books"][0]["held"] is None
    world.settle(1)


def test_mapping_change_touching_everyone_is_held_as_mass_update(world: World) -> None:
    rows = people(30)
    _settled(world, rows, "--map", "first_name=FIRSTNAME")
    uploads_before = len(world.uploads())
    world.run("connection", "update", "customers", "--map", "last_name=FIRSTNAME")
    world.tick()
    held = world.run("dotmailer", "export", expect=1)
    assert "would update 30 of 30" in held.stdout + held.stderr
    assert len(world.uploads()) == uploads_before
    world.run("sync", "customers", "--confirm-mass-change", "customers")
    assert len(world.uploads()) == uploads_before + 1
    assert len(world.uploaded_rows(world.uploads()[-1])) == 30


def test_empty_or_failing_query_source_removes_nothing(world: World) -> None:
    rows = [{"email": f"q{i}@example.com", "first_name": f"Q{i}"} for i in range(20)]
    source = world.connect_list(rows, query=True)
    world.settle()
    expected = {f"q{i}@example.com" for i in range(20)}
    assert world.book_emails("Customers") == expected

    with sqlite3.connect(source) as db:
        db.execute("DELETE FROM customers")
    world.tick()
    result = world.run("dotmailer", "export", expect=1)
    assert "no rows" in (result.stdout + result.stderr).lower()
    assert world.book_emails("Customers") == expected

    with sqlite3.connect(source) as db:
        db.execute("DROP TABLE customers")
    world.tick()
    result = world.run("dotmailer", "export", expect=1)
    assert world.book_emails("Customers") == expected
    assert not world.events(action="remove")
