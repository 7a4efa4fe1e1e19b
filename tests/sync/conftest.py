"""Fixtures for the import step tests: respx on the account endpoint, and a client for it (``make_client``, the
sandbox-backed client, the clock and the integration row are shared by every suite: ``tests/support``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx

from dotsync.dotmailer.client import DotmailerClient
from tests.support import ENDPOINT
from tests.support.fixtures import MakeClient

V2 = f"{ENDPOINT}/v2"


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=V2, assert_all_called=False) as router:
        yield router


@pytest.fixture
def client(api: respx.MockRouter, make_client: MakeClient) -> DotmailerClient:
    """A client on the account endpoint, talking to respx (``api``)."""
    return make_client()
