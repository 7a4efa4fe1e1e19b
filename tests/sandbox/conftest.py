"""Fixtures for the sandbox tests: httpx clients on the shared sandbox (``tests/support/fixtures.py``), whose
clock here stands at 2024-03-01 12:00 (the dates these tests read back)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from dotsync.sandbox import Account, Sandbox
from tests.support import PASSWORD, USERNAME
from tests.support.fakes import Clock

START = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def client(sandbox: Sandbox, account: Account) -> Iterator[httpx.Client]:
    with httpx.Client(
        transport=sandbox.transport(), base_url="http://sandbox.test/v2", auth=(USERNAME, PASSWORD)
    ) as c:
        yield c


@pytest.fixture
def served(sandbox: Sandbox, account: Account) -> Iterator[httpx.Client]:
    """A client talking to the sandbox through the loopback server."""
    with sandbox.serve() as handle, httpx.Client(base_url=handle.url + "/v2", auth=(USERNAME, PASSWORD)) as c:
        yield c
