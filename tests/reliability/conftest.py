"""Fixtures of the reliability suites, and the figures they report (printed at the end of the run)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.reliability.served import ServedWorld

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
def served(app, cli_run, settings, tmp_path) -> Iterator[ServedWorld]:
    world = ServedWorld(app, cli_run, settings, tmp_path)
    try:
        yield world
    finally:
        world.close()
