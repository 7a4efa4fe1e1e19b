"""Fixtures for the sandbox tests: a sandbox on a fixed clock with a fake sleep, and httpx clients on it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from dotsync.sandbox import Account, Sandbox

USER = "apiuser-test@apiconnector.com"
PASSWORD = "secret"
START = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


class FakeSleep:
    """Records requested delays instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def sandbox(sleep: FakeSleep) -> Sandbox:
    return Sandbox(clock=lambda: START, sleep=sleep, seed=7)


@pytest.fixture
def account(sandbox: Sandbox) -> Account:
    return sandbox.add_account(USER, PASSWORD, name="Test account")


@pytest.fixture
def client(sandbox: Sandbox, account: Account) -> Iterator[httpx.Client]:
    with httpx.Client(
        transport=sandbox.transport(), base_url="http://sandbox.test/v2", auth=(USER, PASSWORD)
    ) as c:
        yield c


@pytest.fixture
def served(sandbox: Sandbox, account: Account) -> Iterator[httpx.Client]:
    """A client talking to the sandbox through the loopback server."""
    with sandbox.serve() as handle, httpx.Client(base_url=handle.url + "/v2", auth=(USER, PASSWORD)) as c:
        yield c
