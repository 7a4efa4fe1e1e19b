"""Fixtures for the import step tests: an integration row, a clock, a respx-backed client and a sandbox-backed one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx
from sqlalchemy.orm import Session, sessionmaker

from dotsync.dotmailer.client import DotmailerClient
from dotsync.sandbox import Account, Sandbox
from tests.sync.helpers import API, PASSWORD, USERNAME, Clock, FakeSleep, add_integration

ENDPOINT = "https://r1-api.dotmailer.com"
V2 = f"{ENDPOINT}/v2"


@pytest.fixture
def integration_id(sessions: sessionmaker[Session]) -> int:
    return add_integration(sessions)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake_sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=V2, assert_all_called=False) as router:
        yield router


@pytest.fixture
def client(api: respx.MockRouter, fake_sleep: FakeSleep) -> Iterator[DotmailerClient]:
    """A client already pointed at the account endpoint (no account-info call), talking to respx; its clock stands
    still, so a wait it computes from a reset time is exact however slow the machine is."""
    with DotmailerClient(
        USERNAME, PASSWORD, API, endpoint=ENDPOINT, sleep=fake_sleep, clock=lambda: 1_767_225_600.0
    ) as made:
        yield made


@pytest.fixture
def sandbox(clock: Clock) -> Sandbox:
    return Sandbox(clock=clock, sleep=lambda _s: None, seed=7)


@pytest.fixture
def account(sandbox: Sandbox) -> Account:
    return sandbox.add_account(USERNAME, PASSWORD)


@pytest.fixture
def sandbox_client(sandbox: Sandbox, account: Account, fake_sleep: FakeSleep) -> Iterator[DotmailerClient]:
    with DotmailerClient(
        USERNAME, PASSWORD, "http://127.0.0.1:9", transport=sandbox.transport(), sleep=fake_sleep
    ) as made:
        made.connect()
        yield made
