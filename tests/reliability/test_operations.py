"""Operations views: `dotsync status [--json]` and `dotsync runs [--json]` show what an operator needs — a failed
run's error, a run skipped for the lock, uploads pending or stuck at Dotmailer, a run that never finished."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from dotsync.db.models import Integration
from dotsync.sync import runs as run_history
from dotsync.sync.lock import integration_lock
from tests.support.world import World, people


@pytest.fixture
def world(world: World) -> World:
    """The shared world with six people connected to 'Customers'."""
    world.connect_list(people(6))
    return world


def _integration_id(world: World) -> int:
    with world.app.sessions()() as session:
        return int(session.scalars(select(Integration.id).where(Integration.name == "acme")).one())


def _status(world: World) -> dict[str, Any]:
    (view,) = world.json("status")
    return view


def test_a_failed_runs_error_shows(world: World) -> None:
    world.sandbox.faults.schedule("5xx", "/v2/address-books", times=20)
    world.tick()
    world.run("integration", "sync", expect=1)
    latest = world.json("runs", "--limit", "1")[0]
    assert latest["kind"] == "import"
    assert latest["outcome"] == "failed"
    assert "address_book" in latest["error"]
    assert "HTTP 500" in latest["error"]
    step = next(s for s in latest["steps"] if s["name"] == "address_book")
    assert step["outcome"] == "failed"
    assert "HTTP 500" in step["error"]
    assert _status(world)["last_runs"]["import"]["outcome"] == "failed"
    assert "HTTP 500" in _status(world)["last_runs"]["import"]["error"]
    text = world.run("runs").stdout + world.run("status").stdout
    assert "failed" in text
    assert "HTTP 500" in text
    # A book whose export fails carries its error in status, as a problem to act on.
    world.sandbox.faults.clear()
    world.account.delete_book("Customers")
    world.tick()
    world.run("integration", "sync")
    world.run("dotmailer", "export", expect=1)
    view = _status(world)
    assert view["last_runs"]["export"]["outcome"] == "failed"
    assert any("Customers" in p and "deleted" in p for p in view["problems"]), view["problems"]
    assert "problem:" in world.run("status").stdout


def test_a_locked_run_shows_as_skipped(world: World) -> None:
    with integration_lock(world.app.engine(), _integration_id(world), "acme", "export"):
        result = world.run("dotmailer", "export", expect=75)
    assert "busy" in result.stderr
    assert "locked by export" in result.stderr
    latest = world.json("runs", "--limit", "1")[0]
    assert latest["kind"] == "export"
    assert latest["outcome"] == "skipped"
    assert "locked by export" in latest["error"]
    assert latest["api_calls"] == 0
    assert _status(world)["last_runs"]["export"]["outcome"] == "skipped"
    assert "skipped" in world.run("runs").stdout
    # The lock is free again afterwards.
    world.run("dotmailer", "export")
    assert world.json("runs", "--limit", "1")[0]["outcome"] == "success"


def test_pending_and_stuck_imports_show(world: World) -> None:
    world.sandbox.imports.polls_before_finish = 1000
    world.tick()
    world.run("dotmailer", "export")
    (book,) = _status(world)["books"]
    assert book["pending_imports"] == 1
    assert book["stuck_imports"] == []
    (upload,) = world.uploads()
    world.tick(60)
    world.run("dotmailer", "export")
    (book,) = _status(world)["books"]
    assert book["pending_imports"] == 1
    assert book["stuck_imports"] == []
    world.tick(70)  # over two hours since the upload
    (book,) = _status(world)["books"]
    assert book["stuck_imports"] == [upload.id]
    assert "Customers" in world.run("status").stdout
    export = world.json("runs", "--limit", "1")[0]["steps"][0]
    assert export["counts"]["pending_imports"] == 1
    assert export["counts"]["status"] == "waiting"


def test_a_killed_run_shows_as_killed_once_its_lock_is_free(world: World) -> None:
    integration_id = _integration_id(world)
    with integration_lock(world.app.engine(), integration_id, "acme", "export"):
        run_id = run_history.start_run(world.app.sessions(), "export", integration_id, world.sandbox.now())
        # Its process still holds the lock: it is running.
        assert world.json("runs", "--limit", "1")[0]["outcome"] == "running"
        assert not _status(world)["problems"]
        world.tick(150)
        problems = _status(world)["problems"]
        assert any(f"run {run_id}" in p and "still running" in p for p in problems), problems
    # The holder died (its lock is free): the history says killed, not running, and it is no problem.
    assert world.json("runs", "--limit", "1")[0]["outcome"] == "killed"
    assert _status(world)["last_runs"]["export"]["outcome"] == "killed"
    assert not _status(world)["problems"]
    assert "killed" in world.run("runs").stdout
