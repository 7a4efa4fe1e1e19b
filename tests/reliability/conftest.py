"""Fixtures of the reliability suites, and the figures they report (printed at the end of the run)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dotsync.sandbox import Sandbox
from tests.support.world import World

FIGURES: dict[str, Any] = {}


@pytest.fixture
def figures() -> dict[str, Any]:
    """Numbers a suite reports (cycles to converge, kill trials, bad inputs tried)."""
    return FIGURES


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("reliability figures")
        for name, value in FIGURES.items():
            terminalreporter.write_line(f"{name}: {value}")


@pytest.fixture
def served(app, cli_run, tmp_path) -> Iterator[World]:
    """The world with its sandbox served on 127.0.0.1, for runs of dotsync as real processes."""
    # Real clock and real sleep: a subprocess runs on real time. Removals are applied at once here (a delay
    # would cost real minutes); asynchronous removal has its own tests on the sandbox clock.
    sandbox = Sandbox(seed=11, removal_delay=0)
    sandbox.faults.hourly_call_limit = None
    world = World(app, cli_run, tmp_path, sandbox, serve=True)
    try:
        yield world
    finally:
        world.close()
