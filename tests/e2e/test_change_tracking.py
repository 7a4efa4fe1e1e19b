"""Change tracking against the sandbox: an export plans only what changed since the book's last plan.

The dry run's plan counts what the plan read: ``unchanged`` is the number of members it looked at and found
as last sent, so an unchanged export shows 0 there, not the size of the list.
"""

from __future__ import annotations

import json
import sqlite3

from tests.support.world import World, people


def _plan(world: World) -> dict:
    result = world.run("dotmailer", "export", "--dry-run", "--json")
    return json.loads(result.stdout)[0]["counts"]["export"]["Customers"]["plan"]


def _counts(world: World, result) -> dict:
    return json.loads(result.stdout)[0]["counts"]["export"]["Customers"]


def _settled_static(world: World, n: int) -> list[dict]:
    rows = people(n)
    world.connect_list(rows, "--map", "first_name=FIRSTNAME")
    world.settle()
    return rows


def test_unchanged_export_reads_no_member_and_a_change_reads_only_itself(world: World) -> None:
    rows = _settled_static(world, 30)
    plan = _plan(world)
    assert (plan["add"], plan["update"], plan["remove"], plan["unchanged"]) == (0, 0, 0, 0)

    world.run("list", "add", "customers", "new.one@example.com", "--field", "first_name=New")
    world.import_rows("customers", [dict(rows[3], first_name="Changed")])
    world.run("list", "remove", "customers", rows[7]["email"])
    plan = _plan(world)
    assert (plan["add"], plan["update"], plan["remove"], plan["unchanged"]) == (1, 1, 1, 0)
    assert plan["samples"]["add"] == ["new.one@example.com"]

    world.tick()
    result = world.run("dotmailer", "export", "--json")
    counts = _counts(world, result)
    assert (counts["added"], counts["updated"], counts["removed"]) == (1, 1, 1)
    sent = world.uploaded_rows(world.uploads()[-1])
    assert {r["Email"] for r in sent} == {"new.one@example.com", rows[3]["email"]}
    world.sandbox.advance(seconds=5)  # Dotmailer applies a removal a little later (202)
    assert rows[7]["email"] not in world.book_emails("Customers")
    # Applied: the next plan starts after it.
    assert _plan(world)["unchanged"] == 0


def test_re_importing_the_same_rows_changes_nothing_to_plan(world: World) -> None:
    rows = _settled_static(world, 12)
    world.import_rows("customers", rows)
    plan = _plan(world)
    assert (plan["add"], plan["update"], plan["unchanged"]) == (0, 0, 0)


def test_resync_and_a_mapping_change_plan_every_member_again(world: World) -> None:
    _settled_static(world, 15)
    world.run("connection", "update", "customers", "--resync")
    plan = _plan(world)
    assert plan["add"] == 15
    assert plan["unchanged"] == 0

    world.run("connection", "update", "customers", "--resync", "--update-threshold", "100")
    world.tick()
    world.run("dotmailer", "export")
    world.settle()
    assert _plan(world)["unchanged"] == 0
    world.run("connection", "update", "customers", "--map", "first_name=FIRSTNAME", "--map", "city=LASTNAME")
    plan = _plan(world)
    assert plan["update"] == 15


def test_a_held_plan_is_planned_again(world: World) -> None:
    rows = _settled_static(world, 40)
    for row in rows[:20]:
        world.run("list", "remove", "customers", row["email"])
    world.tick()
    held = world.run("dotmailer", "export", "--json", expect=1)
    assert _counts(world, held)["status"] == "held"
    # Nothing was applied: the same 20 removals are found again, and go through once confirmed.
    assert _plan(world)["remove"] == 20
    world.tick()
    world.run("dotmailer", "export", "--confirm-mass-change", "customers")
    world.sandbox.advance(seconds=5)  # Dotmailer applies a removal a little later (202)
    assert world.book_emails("Customers") == {r["email"] for r in rows[20:]}


def test_a_query_refresh_replans_only_the_rows_that_changed(world: World) -> None:
    rows = [{"email": f"q{i}@example.com", "first_name": f"Q{i}"} for i in range(20)]
    source = world.connect_list(rows, "--map", "first_name=FIRSTNAME", query=True)
    world.settle()
    assert _plan(world)["unchanged"] == 0

    with sqlite3.connect(source) as db:
        db.execute("UPDATE customers SET first_name = 'Renamed' WHERE email = 'q4@example.com'")
        db.execute("DELETE FROM customers WHERE email = 'q9@example.com'")
    plan = _plan(world)
    assert (plan["update"], plan["remove"], plan["unchanged"]) == (1, 1, 0)


def test_new_rows_that_cannot_be_uploaded_now_wait_as_scheduled_rows(world: World, monkeypatch) -> None:
    import dotsync.sync.export.upload as upload

    monkeypatch.setattr(upload, "MAX_FILE_BYTES", 600)  # a few rows per file
    world.sandbox.imports.max_active = 1  # the second file of the run is refused: "too many active imports"
    rows = people(30)
    world.account.create_book("Customers")
    world.create_list("customers", rows)
    world.run("integration", "sync")
    world.run("connect", "customers", "Customers", "--map", "first_name=FIRSTNAME")
    world.tick()
    first = _counts(world, world.run("dotmailer", "export", "--json"))
    assert first["status"] == "waiting"
    assert first["uploads"] == 1
    assert 0 < first["rows_uploaded"] < 30
    # The rows not sent are kept as scheduled: the next plan has nothing new to read, the upload sends them.
    assert _plan(world)["add"] == 0
    for _ in range(30):
        world.sandbox.finish_imports()
        world.tick()
        world.run("dotmailer", "export")
        if world.book_emails("Customers") == {r["email"] for r in rows}:
            break
    assert world.book_emails("Customers") == {r["email"] for r in rows}
    assert all(world.upload_count(r["email"]) == 1 for r in rows)
