"""Changes a running sync must not see half-way take the integration's run lock (issue 18 item 8):
`connection update --resync`, `disconnect` and `list delete --force` wait a bounded time for a running sync, say
so once, and exit 75 with nothing changed if it is still running. On SQLite (flock) and, with
DOTSYNC_TEST_POSTGRES_URL, PostgreSQL (advisory lock) or MariaDB (named lock)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from sqlalchemy import select

from dotsync.db.models import Integration
from dotsync.sync.lock import integration_lock
from tests.support.world import World, people

CHANGES = [
    ("connection", "update", "customers", "--resync"),
    ("disconnect", "customers"),
    ("list", "delete", "customers", "--force"),
]


@pytest.fixture
def world(world: World) -> World:
    """The shared world with three people connected to 'Customers'."""
    world.connect_list(people(3))
    return world


@pytest.fixture
def held(world: World) -> Iterator[ExitStack]:
    """The integration's run lock, held as a running sync holds it (closing the stack releases it)."""
    with world.app.sessions()() as session:
        integration_id = session.scalar(select(Integration.id).where(Integration.name == "acme"))
    assert integration_id is not None
    with ExitStack() as stack:
        stack.enter_context(integration_lock(world.app.engine(), integration_id, "acme", "sync"))
        yield stack


def _still_connected(world: World) -> bool:
    return world.json("connection", "show", "customers")["address_book"] == "Customers"


@pytest.mark.parametrize("args", CHANGES, ids=lambda a: " ".join(a[:2]))
def test_a_change_under_a_running_sync_exits_75_without_waiting_when_told(
    world: World, held: ExitStack, args: tuple[str, ...]
) -> None:
    sleeps: list[float] = []
    world.app.sleep = sleeps.append
    result = world.run(*args, "--wait", "0", expect=75)
    assert "integration 'acme' is busy: locked by sync on " in result.stderr
    assert "nothing was changed" in result.stderr
    assert "waiting" not in result.stderr
    assert "Traceback" not in result.stderr
    assert sleeps == []
    assert _still_connected(world)


@pytest.mark.parametrize("args", CHANGES, ids=lambda a: " ".join(a[:2]))
def test_a_change_waits_a_bounded_time_then_exits_75(
    world: World, held: ExitStack, args: tuple[str, ...]
) -> None:
    sleeps: list[float] = []
    world.app.sleep = sleeps.append
    result = world.run(*args, "--wait", "10", expect=75)
    assert result.stderr.count("waiting for the running sync of integration 'acme' (locked by sync on ") == 1
    assert "up to 10 s" in result.stderr
    assert "integration 'acme' is busy: locked by sync on " in result.stderr
    assert "waited 10 s; nothing was changed" in result.stderr
    assert sleeps == [2.0] * 5  # counted tries, not a clock: ends even when time stands still
    assert _still_connected(world)


@pytest.mark.parametrize("args", CHANGES, ids=lambda a: " ".join(a[:2]))
def test_a_change_goes_ahead_once_the_sync_finishes(
    world: World, held: ExitStack, args: tuple[str, ...]
) -> None:
    sleeps: list[float] = []

    def sync_finishes_while_we_wait(seconds: float) -> None:
        sleeps.append(seconds)
        held.close()

    world.app.sleep = sync_finishes_while_we_wait
    result = world.run(*args)
    assert "waiting for the running sync of integration 'acme'" in result.stderr
    assert sleeps == [2.0]
    if args[0] == "connection":
        assert _still_connected(world)
    else:
        assert "Customers" in {b["name"] for b in world.json("books", "list", "--available")}


def test_changes_a_sync_does_not_mind_do_not_wait(world: World, held: ExitStack) -> None:
    sleeps: list[float] = []
    world.app.sleep = sleeps.append
    world.run("connection", "update", "customers", "--remove-threshold", "30")
    refused = world.run("list", "delete", "customers", expect=2)  # refused while connected, as before
    assert "disconnect it first" in refused.stderr
    assert sleeps == []
    assert world.json("connection", "show", "customers")["guard"]["remove_percent"] == 30


def test_the_lock_is_released_after_the_change(world: World) -> None:
    world.run("connection", "update", "customers", "--resync")
    world.run("dotmailer", "export")  # would exit 75 if the change had kept the lock
