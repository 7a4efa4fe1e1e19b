"""``dotsync sandbox serve``: a sandbox built from the command's options and seed file, served on loopback
until Ctrl-C. Above :mod:`~dotsync.sandbox.core` and :mod:`~dotsync.sandbox.server`, which it puts together."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from dotsync.sandbox.core import Sandbox
from dotsync.sandbox.ratelimit import RateLimit
from dotsync.sandbox.seed import load_seed
from dotsync.sandbox.server import serve

DEFAULT_USERNAME = "apiuser-sandbox@apiconnector.com"
DEFAULT_PASSWORD = "sandbox-password"
# Seconds a served sandbox keeps contacts listed after a bulk removal (the real API takes "some minutes").
SERVED_REMOVAL_DELAY = 5.0


def _print(line: str) -> None:
    print(line, flush=True)


def _wait_forever() -> None:
    stop = threading.Event()
    while not stop.wait(3600):
        pass


def run(
    *,
    port: int = 0,
    username: str | None = None,
    password: str | None = None,
    seed: Path | str | None = None,
    host: str = "127.0.0.1",
    echo: Callable[[str], None] = _print,
    wait: Callable[[], None] = _wait_forever,
    rate_limit: RateLimit | None = None,
    removal_delay: float = SERVED_REMOVAL_DELAY,
    faults_ttl: float | None = None,
) -> int:
    """Serve a sandbox until Ctrl-C (``KeyboardInterrupt`` from ``wait``), then shut down; return 0.

    Accounts come from the seed file, plus ``username``/``password`` (defaults when neither a seed account
    nor a username is given). Prints the base URL and every accepted credential to stdout via ``echo``.
    ``rate_limit``, ``removal_delay`` and ``faults_ttl`` are the :class:`Sandbox` knobs; a served sandbox
    removes contacts from a book ``removal_delay`` seconds (default 5) after a bulk removal, as the real API
    does (in-process sandboxes default to 0).
    """
    sandbox = Sandbox(rate_limit=rate_limit, removal_delay=removal_delay, faults_ttl=faults_ttl)
    if seed is not None:
        load_seed(sandbox, seed)
    if username is not None or not sandbox.accounts:
        name = username or DEFAULT_USERNAME
        if name.lower() in sandbox.accounts:
            sandbox.account(name).password = password or DEFAULT_PASSWORD
        else:
            sandbox.add_account(name, password or DEFAULT_PASSWORD)
    handle = serve(sandbox, host, port)
    try:
        echo(f"Dotmailer sandbox listening on {handle.url} (API base {handle.url}/v2)")
        for account in sandbox.accounts.values():
            echo(f"  username: {account.username}  password: {account.password}")
        echo("Press Ctrl-C to stop.")
        try:
            wait()
        except KeyboardInterrupt:
            echo("Stopping the sandbox.")
    finally:
        handle.shutdown()
    return 0
