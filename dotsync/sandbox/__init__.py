"""A stateful fake Dotmailer API v2 for end-to-end tests, ``dotsync demo``, the benchmark and offline trials.

It is independent of dotsync's own client: it answers plain HTTP as the real API does (reference
``dotmailer-api-v2.md``), in-process through ``Sandbox.transport()`` or over loopback through ``serve``::

    sandbox = Sandbox(seed=1)
    account = sandbox.add_account("apiuser-1@apiconnector.com", "secret")
    book = account.create_book("Newsletter")
    with httpx.Client(transport=sandbox.transport(), base_url="http://sandbox.test/v2",
                      auth=("apiuser-1@apiconnector.com", "secret")) as client:
        client.get("/address-books").json()

See README.md next to this file for the decisions and knobs. Modules: ``state`` (model + world helpers),
``imports`` (import lifecycle), ``faults`` (fault knobs), ``calllog``/``history`` (what tests count and
audit), ``seed`` (seed format).
"""

from __future__ import annotations

from dotsync.sandbox.calllog import CallLog, CallRecord
from dotsync.sandbox.campaigns import Campaign
from dotsync.sandbox.core import Sandbox
from dotsync.sandbox.errors import ApiError, SeedError
from dotsync.sandbox.faults import FaultConfig
from dotsync.sandbox.history import History, HistoryEvent
from dotsync.sandbox.imports import ImportConfig
from dotsync.sandbox.seed import load_seed
from dotsync.sandbox.server import ServerHandle, serve
from dotsync.sandbox.standalone import DEFAULT_PASSWORD, DEFAULT_USERNAME, run
from dotsync.sandbox.state import Account, AddressBook, Contact, ContactImport
from dotsync.sandbox.transport import SandboxTransport

__all__ = [
    "DEFAULT_PASSWORD",
    "DEFAULT_USERNAME",
    "Account",
    "AddressBook",
    "ApiError",
    "CallLog",
    "CallRecord",
    "Campaign",
    "Contact",
    "ContactImport",
    "FaultConfig",
    "History",
    "HistoryEvent",
    "ImportConfig",
    "Sandbox",
    "SandboxTransport",
    "SeedError",
    "ServerHandle",
    "load_seed",
    "run",
    "serve",
]
