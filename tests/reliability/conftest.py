"""Fixtures of the reliability suites: a served sandbox world driven through the CLI and subprocesses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.served import ServedWorld


@pytest.fixture
def served(app, cli_run, settings, tmp_path) -> Iterator[ServedWorld]:
    world = ServedWorld(app, cli_run, settings, tmp_path)
    try:
        yield world
    finally:
        world.close()
