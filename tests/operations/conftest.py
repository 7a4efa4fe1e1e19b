"""Shared fixture of the operations tests: one list of four people connected to a settled book."""

from __future__ import annotations

import pytest

from tests.support.world import World, people


@pytest.fixture
def world(world: World) -> World:
    """The shared world with four people connected to 'Customers', settled."""
    world.connect_list(people(4))
    world.settle()
    return world
