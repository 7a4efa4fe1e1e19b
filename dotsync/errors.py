"""The exception tree and its exit codes: the one place that turns an error into a process exit code.

Every expected failure raises a subclass of :class:`DotsyncError`. Its ``exit_code`` class attribute is the
whole mapping; :func:`exit_code_for` is the only function that reads it (the CLI calls it once).

| code | meaning |
|------|---------|
| 0    | success |
| 1    | failure: the run did not do its job |
| 2    | usage or bad input |
| 3    | configuration or credentials problem |
| 75   | skipped: another run holds the integration's lock |
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_LOCKED = 75


class DotsyncError(Exception):
    """Base of every expected dotsync error; the message is shown to the user as it is."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class BadInputError(DotsyncError):
    """The user gave something we cannot use: a malformed file, a bad option value, an unknown name."""

    exit_code = EXIT_USAGE


class NotFoundError(BadInputError):
    """A name the user gave (list, book, integration, campaign) does not exist."""


class ConfigError(DotsyncError):
    """Configuration is missing or wrong: settings, key file, database schema, credentials."""

    exit_code = EXIT_CONFIG


class SchemaOutdatedError(ConfigError):
    """The database schema is behind the code: the user must run ``dotsync db upgrade``."""


class LockedError(DotsyncError):
    """Another run holds the integration's lock; this run was skipped."""

    exit_code = EXIT_LOCKED

    def __init__(self, message: str, *, holder: str | None = None) -> None:
        super().__init__(message)
        # Who holds the lock, e.g. "locked by sync on host pid 12 since 2026-12-01 18:00:00 UTC", when known.
        self.holder = holder


class SyncFailedError(DotsyncError):
    """A run finished but did not do its job (one or more steps failed)."""

    exit_code = EXIT_FAILURE


def exit_code_for(exc: BaseException) -> int:
    """Return the process exit code for an exception (1 for anything unexpected)."""
    if isinstance(exc, DotsyncError):
        return exc.exit_code
    return EXIT_FAILURE
