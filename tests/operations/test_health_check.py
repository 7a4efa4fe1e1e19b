"""`dotsync status --check [--max-age MINUTES]`: exit 0 when healthy, 1 with one line per problem, in every
problem state the issue lists (issue 16, item 1)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from dotsync.db.models import AddressBook, ContactExport, ImportStatus
from tests.support.world import World


def _check(world: World, *extra: str, expect: int) -> dict[str, Any]:
    data = world.run("status", "--check", "--json", *extra, expect=expect)
    text = world.run("status", "--check", *extra, expect=expect).stdout
    report = __import__("json").loads(data.stdout)
    lines = [line for line in text.splitlines() if line.strip()]
    if report["healthy"]:
        assert lines, text
        assert lines[0].startswith("OK:"), text
    else:
        assert len(lines) == len(report["problems"])
        assert all(line.startswith("PROBLEM ") for line in lines)
    return report


def _kinds(report: dict[str, Any]) -> set[str]:
    return {p["kind"] for p in report["problems"]}


def _book(world: World, **values: Any) -> None:
    with world.app.sessions().begin() as session:
        session.execute(update(AddressBook).where(AddressBook.name == "Customers").values(**values))


def test_healthy_after_a_cycle(world: World) -> None:
    report = _check(world, expect=0)
    assert report == {"healthy": True, "integrations": 1, "connected_books": 1, "problems": []}


def test_no_successful_run_for_longer_than_max_age(world: World) -> None:
    world.tick(31)
    report = _check(world, expect=1)
    assert _kinds(report) == {"no_recent_import", "no_recent_export"}
    problem = report["problems"][0]
    assert problem["integration"] == "acme"
    assert problem["book"] is None
    assert "31 minutes" in problem["problem"]
    assert problem["run_id"] is not None
    assert problem["since"] is not None
    _check(world, "--max-age", "60", expect=0)
    # A failing import keeps the problem; the next successful one clears it.
    world.sandbox.faults.schedule("5xx", "/v2/address-books", times=50)
    world.run("integration", "sync", expect=1)
    assert "no_recent_import" in _kinds(_check(world, expect=1))
    world.sandbox.faults.clear()
    world.cycle()
    _check(world, expect=0)


def test_max_age_must_be_positive_and_needs_check(world: World) -> None:
    for value in ("0", "-5", "x"):
        result = world.run("status", "--check", "--max-age", value, expect=2)
        assert "max-age" in result.stderr
    assert "--check" in world.run("status", "--max-age", "10", expect=2).stderr


def test_a_book_missing_in_dotmailer(world: World) -> None:
    world.account.delete_book("Customers")
    world.cycle(expect=None)
    report = _check(world, expect=1)
    (problem,) = report["problems"]
    assert problem["kind"] == "book_missing"
    assert problem["book"] == "Customers"


def test_a_failed_export_and_a_held_mass_change(world: World) -> None:
    _book(world, sync_error="import abc: Failed")
    (problem,) = _check(world, expect=1)["problems"]
    assert problem["kind"] == "export_failed"
    assert "import abc: Failed" in problem["problem"]
    _book(world, sync_error=None, guard_held_reason="would remove 60% of the contacts dotsync manages")
    (problem,) = _check(world, expect=1)["problems"]
    assert problem["kind"] == "mass_change_held"
    assert "60%" in problem["problem"]


def test_an_upload_unfinished_for_two_hours_then_unknown(world: World) -> None:
    world.sandbox.imports.polls_before_finish = 1000
    world.run("list", "add", "customers", "late@example.com")
    world.cycle()
    _check(world, "--max-age", "1000", expect=0)
    world.tick(121)
    (problem,) = _check(world, "--max-age", "1000", expect=1)["problems"]
    assert problem["kind"] == "upload_stuck"
    assert "unfinished for over two hours" in problem["problem"]
    with world.app.sessions().begin() as session:
        (upload,) = session.scalars(select(ContactExport).where(ContactExport.status == "NotFinished")).all()
        upload.status = ImportStatus.UNKNOWN
    (problem,) = _check(world, "--max-age", "1000", expect=1)["problems"]
    assert problem["kind"] == "upload_unknown"
    assert upload.import_id in problem["problem"]
    # A later upload of the book that finished clears it.
    world.sandbox.imports.polls_before_finish = 0
    world.run("list", "add", "customers", "later@example.com")
    world.settle()
    _check(world, expect=0)


def test_credentials_refused_in_the_last_run(world: World) -> None:
    world.account.password = "changed-password-1"
    world.tick()
    world.run("integration", "sync", expect=3)
    report = _check(world, expect=1)
    (problem,) = [p for p in report["problems"] if p["kind"] == "credentials_refused"]
    assert "refused" in problem["problem"]
    assert problem["run_id"] is not None


def test_a_run_stopped_early_for_the_api_budget(world: World) -> None:
    world.app.settings.api_safety_margin = 10**9
    world.tick()
    world.run("integration", "sync")
    (problem,) = _check(world, expect=1)["problems"]
    assert problem["kind"] == "budget_exhausted"
    assert "API calls remain" in problem["problem"]
    assert "last import stopped early" in problem["problem"]
    # A successful export afterwards does not hide the import that stopped early.
    world.app.settings.api_safety_margin = 0
    world.run("dotmailer", "export")
    (problem,) = _check(world, expect=1)["problems"]
    assert problem["kind"] == "budget_exhausted"
    world.run("integration", "sync")
    _check(world, expect=0)


def test_an_inactive_integration_is_not_checked(world: World) -> None:
    world.tick(60)
    world.run("integration", "update", "acme", "--inactive")
    assert _check(world, expect=0)["integrations"] == 0
