"""SPEC §6.4: a run killed at any point leaves the database consistent, and the next runs converge with at
most one re-upload.

`dotsync dotmailer export` and `dotsync sync` run as real processes against the sandbox served on loopback
(uploads are slow, as real ones are) and are SIGKILLed at seeded random points: inside an API call after the
sandbox acted but before it answered (the "lost answer" case), or a random moment after an answer (while
dotsync writes to its database, or talks to the next endpoint). Normal cron cycles then run in-process until the
book holds exactly the list's subscribed members; every email may have been uploaded at most twice for its
initial add.

The long variant (40 trials, marked ``slow``) runs only with ``DOTSYNC_TEST_SLOW=1``; CI runs it as a stage of
its own on SQLite, bounded by ``timeout``: ``DOTSYNC_TEST_SLOW=1 timeout 300 .venv/bin/python -m pytest -q -m slow
tests/reliability``.
"""

from __future__ import annotations

import os
import random
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support.world import IMPORT_TEMPLATE, World, finish, kill, people

MAX_CYCLES = 12


@dataclass
class KillReport:
    trials: int = 0
    killed: int = 0
    finished_first: int = 0
    kill_points: dict[str, int] = field(default_factory=dict)
    cycles_to_converge: list[int] = field(default_factory=list)


def _book(world: World) -> set[str]:
    with world.sandbox.lock:
        suppressed = set(world.account.suppressed_emails())
    return world.book_emails() - suppressed


def _subscribed(world: World) -> set[str]:
    return {m["email"] for m in world.json("list", "members", "customers")}


def _pending(world: World) -> int:
    return sum(b["pending_imports"] for view in world.json("status") for b in view["books"])


def _converge(world: World) -> int:
    """Normal cron cycles (in-process), four minutes apart, until the book is the list and nothing is pending;
    returns how many. The clock moves as cron's does: a removal Dotmailer applied before a killed run's late
    upload re-added the contact is sent again after 30 minutes (export/pending_removals.py)."""
    for n in range(1, MAX_CYCLES + 1):
        world.tick()
        world.run("integration", "sync")
        world.run("dotmailer", "export")
        if _book(world) == _subscribed(world) and _pending(world) == 0:
            return n
    raise AssertionError(
        f"no convergence after {MAX_CYCLES} cycles: book - list = {sorted(_book(world) - _subscribed(world))}, "
        f"list - book = {sorted(_subscribed(world) - _book(world))}, pending = {_pending(world)}"
    )


def _arm(world: World, rng: random.Random, holder: list[Any], max_call: int) -> str:
    """Arm a kill at a seeded random point of the next process's run; returns a label of that point."""
    target = rng.randint(1, max_call)
    lost_answer = rng.random() < 0.4
    delay = rng.uniform(0.0, 0.25)
    base = world.calls_seen

    def hook(request, outcome, number) -> None:
        if number - base != target:
            return
        if lost_answer:
            kill(holder[0])  # the sandbox acted; the answer never reaches dotsync
        else:
            threading.Timer(delay, kill, args=(holder[0],)).start()

    world.hook = hook
    return f"call {target} {'before its answer' if lost_answer else f'+{delay:.2f}s'}"


def _trials(world: World, figures: dict[str, Any], trials: int, seed: int, name: str) -> None:
    rng = random.Random(seed)
    report = KillReport()
    world.connect_list(people(20))
    world.app.transport = world.sandbox.transport()  # in-process cycles: the same sandbox, no sockets
    _converge(world)
    next_person = 100
    # Calls a run makes (kill points are drawn among them); corrected by every run that ends before its kill.
    estimate = {("sync",): 12, ("dotmailer", "export"): 4}
    for trial in range(trials):
        # Something to do for the run about to be killed: new members, a removal, sometimes an opt-out.
        world.import_rows("customers", people(3, start=next_person))
        next_person += 3
        current = sorted(_subscribed(world))
        world.run("list", "remove", "customers", rng.choice(current))
        if trial % 3 == 1:
            with world.sandbox.lock:
                world.account.unsubscribe("Customers", rng.choice(sorted(_book(world))))
        command = ("sync",) if trial % 3 == 2 else ("dotmailer", "export")
        faults = world.sandbox.faults
        faults.endpoints, faults.slow_rate, faults.slow_seconds = frozenset({IMPORT_TEMPLATE}), 1.0, 0.3
        holder: list[Any] = []
        calls_before = world.calls_seen
        label = _arm(world, rng, holder, estimate[command])
        process = world.spawn(*command)
        holder.append(process)
        code, out, err = finish(process)
        world.hook = None
        faults.slow_rate, faults.endpoints = 0.0, None
        report.trials += 1
        if code == -9:
            report.killed += 1
            label = f"{' '.join(command)} killed at {label}"
            world.json("status")  # the database is readable at once (SQLite journal / PostgreSQL rollback)
            report.kill_points[label] = report.kill_points.get(label, 0) + 1
        else:
            assert code == 0, (command, label, code, out, err)
            report.finished_first += 1
            estimate[command] = world.calls_seen - calls_before
        report.cycles_to_converge.append(_converge(world))
    # Invariant 1 held throughout, and no email went more than twice (its initial add plus one re-upload).
    assert world.sandbox.history.readded_after_optout() == []
    counts = world.upload_counts()
    assert max(counts.values()) <= 2, {e: n for e, n in counts.items() if n > 2}
    assert set(counts) >= _subscribed(world)
    world.run("dotmailer", "export")
    assert world.upload_counts() == counts  # converged: an unchanged cycle uploads nothing
    figures[f"kill {name}: trials, killed, finished before the kill"] = (
        report.trials,
        report.killed,
        report.finished_first,
    )
    figures[f"kill {name}: emails uploaded twice (of {len(counts)})"] = sum(
        1 for n in counts.values() if n == 2
    )
    figures[f"kill {name}: cycles to converge after each trial"] = report.cycles_to_converge
    figures[f"kill {name}: kill points"] = sorted(report.kill_points)
    assert report.killed >= trials // 2


def test_killed_runs_converge_with_at_most_one_re_upload(served: World, figures: dict[str, Any]) -> None:
    _trials(served, figures, trials=10, seed=8, name="quick")


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("DOTSYNC_TEST_SLOW"), reason="long variant: set DOTSYNC_TEST_SLOW=1")
def test_many_killed_runs_converge(served: World, figures: dict[str, Any]) -> None:
    _trials(served, figures, trials=40, seed=99, name="long")
