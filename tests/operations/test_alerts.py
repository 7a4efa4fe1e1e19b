"""Alerts (issue 16, item 2) against a real HTTP receiver on 127.0.0.1: a problem is announced once over several
failing runs and resolved once; a receiver that is down or slow never fails a run, and the message is retried by
the next run; a malformed webhook is refused at configuration (exit 3)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from dotsync.db.models import AlertState
from tests.operations.receiver import Receiver, dead_url, running_receiver
from tests.support.world import World


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


def _webhook(world: World, url: str, timeout: float = 5.0) -> None:
    world.app.settings.alert_webhook = url
    world.app.settings.alert_timeout = timeout


def _states(world: World) -> list[AlertState]:
    with world.app.sessions()() as session:
        return list(session.scalars(select(AlertState)))


def test_a_problem_is_announced_once_and_resolved_once(world: World, receiver: Receiver) -> None:
    _webhook(world, receiver.url)
    world.cycle()
    assert receiver.messages == []  # healthy: nothing to say
    world.account.delete_book("Customers")
    for _ in range(3):  # several failing runs
        world.cycle(expect=None)
    (problem,) = receiver.events("problem")
    assert problem["integration"] == "acme"
    assert problem["book"] == "Customers"
    assert problem["kind"] == "book_missing"
    assert "no longer exists" in problem["problem"]
    assert problem["text"].startswith("[dotsync] PROBLEM acme / Customers:")
    assert problem["since"]
    assert isinstance(problem["run_id"], int)
    assert receiver.events("resolved") == []
    # Fixed: the list goes to a new book; the problem clears and is resolved once.
    world.run("disconnect", "customers")
    world.account.create_book("Customers 2")
    world.run("integration", "sync")
    world.run("connect", "customers", "Customers 2")
    for _ in range(3):
        world.cycle()
    (resolved,) = receiver.events("resolved")
    assert resolved["book"] == "Customers"
    assert resolved["kind"] == "book_missing"
    assert resolved["since"] == problem["since"]
    assert resolved["run_id"] > problem["run_id"]
    assert len(receiver.events("problem")) == 1
    assert _states(world) == []


def test_a_down_receiver_never_fails_the_run_and_the_next_run_delivers(
    world: World, receiver: Receiver
) -> None:
    _webhook(world, dead_url())
    world.account.delete_book("Customers")
    world.tick()
    result = world.run("integration", "sync")  # the import itself succeeds (it flags the book)
    assert "alert" in result.stderr
    assert "not delivered" in result.stderr
    assert "secret-token" not in result.stderr
    (state,) = _states(world)
    assert state.announced_at is None
    assert state.last_error
    # The receiver is back: the next run sends the problem, once.
    _webhook(world, receiver.url)
    world.tick()
    world.run("integration", "sync")
    world.tick()
    world.run("integration", "sync")
    assert len(receiver.events("problem")) == 1
    (state,) = _states(world)
    assert state.announced_at is not None
    assert state.last_error is None


def test_a_slow_receiver_costs_at_most_the_timeout(world: World, receiver: Receiver) -> None:
    receiver.hold = threading.Event()
    _webhook(world, receiver.url, timeout=0.2)
    world.account.delete_book("Customers")
    world.tick()
    result = world.run("integration", "sync")
    assert "not delivered" in result.stderr
    assert "Timeout" in result.stderr
    assert _states(world)[0].announced_at is None


def test_an_error_answer_is_retried(world: World, receiver: Receiver) -> None:
    receiver.status = 500
    _webhook(world, receiver.url)
    world.account.delete_book("Customers")
    world.tick()
    assert "HTTP 500" in world.run("integration", "sync").stderr
    receiver.status = 200
    world.tick()
    world.run("integration", "sync")
    assert len(receiver.events("problem")) == 2  # the refused one, then the delivered one
    assert _states(world)[0].announced_at is not None


def test_alerts_test_command(world: World, receiver: Receiver) -> None:
    assert "DOTSYNC_ALERT_WEBHOOK" in world.run("alerts", "test", expect=3).stderr
    _webhook(world, receiver.url)
    result = world.run("alerts", "test")
    assert "delivered" in result.stdout
    (message,) = receiver.messages
    assert message["event"] == "test"
    assert message["text"].startswith("[dotsync] TEST")
    _webhook(world, dead_url())
    assert "not delivered" in world.run("alerts", "test", expect=1).stderr


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "ftp://example.com/hook",
        "http://example.com/hook",
        "https://",
        "https://example.com:99999/x",
    ],
)
def test_a_malformed_webhook_is_refused_at_configuration(world: World, url: str) -> None:
    _webhook(world, url)
    for args in (("integration", "sync"), ("dotmailer", "export"), ("alerts", "test")):
        result = world.run(*args, expect=3)
        assert "DOTSYNC_ALERT_WEBHOOK" in result.stderr
        assert "Traceback" not in result.stderr
    assert world.json("runs", "--limit", "1")[0]["kind"] == "export"  # nothing ran


def test_a_dry_run_sends_no_alert(world: World, receiver: Receiver) -> None:
    _webhook(world, receiver.url)
    world.account.delete_book("Customers")
    world.tick()
    world.run("dotmailer", "export", "--dry-run", expect=None)
    assert receiver.messages == []
