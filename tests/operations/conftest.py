"""Shared fixture of the operations tests: one list of four people connected to a settled book."""

from __future__ import annotations

import pytest

from tests.e2e.world import World, people


@pytest.fixture
def world(app, cli_run, tmp_path) -> World:
    w = World(app, cli_run, tmp_path)
    w.account.create_book("Customers")
    w.create_list("customers", people(4))
    w.run("integration", "sync")
    w.run("connect", "customers", "Customers")
    w.settle()
    return w
