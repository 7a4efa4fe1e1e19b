"""What the test suites share: fakes, a scripted world over the sandbox, rows set up directly, and fixtures.

How it is imported: ``tests/`` and each suite folder are packages (they hold an ``__init__.py``), so with pytest's
default import mode (``prepend``) the folder above ``tests/`` (the repository root, pytest's rootdir) is put on
``sys.path`` and every test module imports this package by its full name::

    from tests.support import PASSWORD, START, USERNAME
    from tests.support.world import World, people

The fixtures live in ``tests/support/fixtures.py``; ``tests/conftest.py`` loads it as a plugin
(``pytest_plugins``), so every suite has them without importing anything. A suite that needs a different value
overrides the small fixture it comes from (``clock``, ``sandbox_seed``) or extends a fixture of the same name
(``def world(world): ...``), instead of building its own copy.

- ``fakes``: ``Clock`` (one movable time for a test), ``FakeSleep`` (records waits, never sleeps) and
  ``FixedRandom`` (predictable jitter).
- ``world``: ``World``, the sandbox plus one integration driven through the CLI (in-process, or served on
  loopback with dotsync run as real processes), ``use_sandbox`` (point an app at a sandbox), and
  ``people``/``emails``/``finish``/``kill``.
- ``rows``: rows a test writes straight to the database (an integration, a list connected to a book).
- ``fixtures``: ``clock``, ``fake_sleep``, ``make_client`` (respx-backed clients), ``sandbox``, ``account``,
  ``sandbox_client``, ``integration_id``, ``world``.
"""

from __future__ import annotations

from datetime import UTC, datetime

# The sandbox account every shared fixture and the world use.
USERNAME = "apiuser-test@apiconnector.com"
PASSWORD = "Test-Pa55word-x9"
# The address dotsync is given for Dotmailer, and the account's own endpoint (what account-info answers).
API = "https://r1-api.dotdigital.com"
ENDPOINT = "https://r1-api.dotmailer.com"
# A Dotmailer client's clock in tests (epoch seconds, 2023-11-14 22:13:20 UTC): it stands still, so a wait the
# client computes from a reset time or a Retry-After is exact however slow the machine is.
CLIENT_NOW = 1_700_000_000.0
# The time a test starts at (the clock fixture, the sandbox, the world).
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
