"""SPEC §6.3: one lock per integration, shared by `integration sync`, `dotmailer export` and `sync`.

Real processes race against a served sandbox; the first one is held inside its run by a slow answer (the
sandbox answers its account-info only when the test says so), so the second one certainly finds the lock
taken. Runs on SQLite (flock) and, with DOTSYNC_TEST_POSTGRES_URL, on PostgreSQL (advisory lock).
"""

from __future__ import annotations

import re
import threading

import pytest

from dotsync.db.models import RunKind
from dotsync.errors import SyncFailedError
from dotsync.sync.orchestrator import IntegrationOutcome, SyncOutcome, SyncReport
from tests.support.world import World, finish, kill, people

ACCOUNT_INFO = "/v2/account-info"


def _hold_account_info(world: World) -> tuple[threading.Event, threading.Event]:
    """Make the next account-info answer wait for ``release``; ``entered`` is set when it arrived."""
    entered, release = threading.Event(), threading.Event()

    def hook(request, outcome, number) -> None:
        if request.path.startswith(ACCOUNT_INFO) and not entered.is_set():
            entered.set()
            release.wait(30)

    world.hook = hook
    return entered, release


def _holder_running(world: World) -> list[dict]:
    return [r for r in world.json("runs") if r["outcome"] == "running"]


@pytest.fixture
def connected(served: World) -> World:
    served.connect_list(people(5))
    return served


def test_concurrent_exports_one_works_one_exits_75(connected: World) -> None:
    world = connected
    entered, release = _hold_account_info(world)
    first = world.spawn("dotmailer", "export")
    try:
        assert entered.wait(30), finish(first)
        # The first export is inside its run, holding the lock, waiting for Dotmailer.
        second = world.spawn("dotmailer", "export")
        code, out, err = finish(second)
        assert code == 75, (code, out, err)
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1, (out, err)
        match = re.search(
            r"locked by export on \S+ pid (\d+) since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", lines[0]
        )
        assert match, lines[0]
        assert int(match.group(1)) == first.pid, lines[0]
        assert "Traceback" not in err
        # Import and the manual sync share the same lock.
        for args in (("integration", "sync"), ("sync",), ("sync", "customers")):
            result = world.run(*args, expect=75)
            assert f"pid {first.pid}" in result.stderr, result.stderr
    finally:
        release.set()
    code, out, err = finish(first)
    assert code == 0, (out, err)
    assert len(world.account.imports) == 1
    runs = world.json("runs")
    skipped = [r for r in runs if r["outcome"] == "skipped"]
    assert len(skipped) == 4
    assert all("busy" in r["error"] for r in skipped)
    assert [r["outcome"] for r in runs if r["kind"] == "export" and r["outcome"] != "skipped"] == ["success"]
    # Once the holder is done, the lock is free again.
    world.hook = None
    world.run("dotmailer", "export")


def test_no_stale_lock_after_sigkill(connected: World) -> None:
    world = connected
    entered, release = _hold_account_info(world)
    holder = world.spawn("dotmailer", "export")
    try:
        assert entered.wait(30), finish(holder)
        assert _holder_running(world)
        kill(holder)
        code, _out, _err = finish(holder)
        assert code == -9
    finally:
        release.set()
    world.hook = None
    # The next run (a real process, as under cron) gets the lock at once and does the work.
    code, out, err = finish(world.spawn("dotmailer", "export"))
    assert code == 0, (code, out, err)
    # The killed run stays visible in the history as killed (not running); the next one succeeded.
    runs = world.json("runs")
    assert [r["outcome"] for r in runs if r["kind"] == "export"] == ["success", "killed"]


def test_a_lock_message_is_not_lost_behind_another_integrations_failure() -> None:
    report = SyncReport(
        kind=RunKind.EXPORT,
        outcomes=[
            IntegrationOutcome("a", SyncOutcome.FAILED, error="book 'X': HTTP 500"),
            IntegrationOutcome(
                "b", SyncOutcome.LOCKED, error="integration 'b' is busy: locked by import on h pid 1"
            ),
        ],
    )
    with pytest.raises(SyncFailedError) as failed:
        report.raise_for_outcome()
    assert "a: book 'X': HTTP 500" in str(failed.value)
    assert "locked by import on h pid 1" in str(failed.value)
