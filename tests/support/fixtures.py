"""Fixtures every suite shares (loaded by ``tests/conftest.py`` as a plugin): a clock, fake sleeps, Dotmailer
clients for respx, the sandbox with the test account, a client on it, an integration row, and the in-process
world.

A suite that needs another value overrides the small fixture it comes from: ``clock`` (another start time),
``sandbox_seed`` (other fault draws); or extends one of the same name (``def world(world): ...``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dotsync.cli.context import AppContext
from dotsync.dotmailer.client import DotmailerClient
from dotsync.sandbox import Account, Sandbox
from tests.support import CLIENT_NOW, ENDPOINT, PASSWORD, USERNAME
from tests.support.fakes import Clock, FakeSleep, FixedRandom
from tests.support.rows import add_integration
from tests.support.world import World

# What ``make_client`` hands a test: keyword options in, a client out.
MakeClient = Callable[..., DotmailerClient]


@pytest.fixture
def clock() -> Clock:
    """The test's time (``START``), shared by the sandbox; move it with ``clock.advance(...)``."""
    return Clock()


@pytest.fixture
def fake_sleep() -> FakeSleep:
    """The waits a Dotmailer client asked for."""
    return FakeSleep()


@pytest.fixture
def make_client(fake_sleep: FakeSleep) -> Iterator[MakeClient]:
    """Build Dotmailer clients for respx: the account endpoint already known (no account-info call), the
    ``fake_sleep``, a clock that stands still (``CLIENT_NOW``) and an RNG with no jitter; keyword arguments
    override these (``page_size=2``, ``endpoint=None``, ``username=...``). Closed at teardown."""
    made: list[DotmailerClient] = []

    def build(**kwargs: Any) -> DotmailerClient:
        kwargs.setdefault("endpoint", ENDPOINT)
        kwargs.setdefault("sleep", fake_sleep)
        kwargs.setdefault("clock", lambda: CLIENT_NOW)
        kwargs.setdefault("rng", FixedRandom(0.0))
        client = DotmailerClient(kwargs.pop("username", USERNAME), kwargs.pop("password", PASSWORD), **kwargs)
        made.append(client)
        return client

    yield build
    for client in made:
        client.close()


@pytest.fixture
def sandbox_sleep() -> FakeSleep:
    """The waits the sandbox's slow answers asked for (kept apart from the client's)."""
    return FakeSleep()


@pytest.fixture
def sandbox_seed() -> int:
    return 7


@pytest.fixture
def sandbox(clock: Clock, sandbox_sleep: FakeSleep, sandbox_seed: int) -> Sandbox:
    """A sandbox on the test's clock that never sleeps."""
    return Sandbox(clock=clock, sleep=sandbox_sleep, seed=sandbox_seed)


@pytest.fixture
def account(sandbox: Sandbox) -> Account:
    """The test account (``USERNAME``/``PASSWORD``) in the sandbox."""
    return sandbox.add_account(USERNAME, PASSWORD)


@pytest.fixture
def sandbox_client(sandbox: Sandbox, account: Account, fake_sleep: FakeSleep) -> Iterator[DotmailerClient]:
    """dotsync's client on the sandbox (in-process), connected to the test account."""
    with DotmailerClient(
        USERNAME, PASSWORD, "http://127.0.0.1:9", transport=sandbox.transport(), sleep=fake_sleep
    ) as made:
        made.connect()
        yield made


@pytest.fixture
def integration_id(sessions: sessionmaker[Session]) -> int:
    return add_integration(sessions)


@pytest.fixture
def world(app: AppContext, cli_run: Any, tmp_path: Path, sandbox: Sandbox) -> World:
    """The in-process world: the sandbox, its account and the integration ``acme``; nothing connected yet."""
    return World(app, cli_run, tmp_path, sandbox)
