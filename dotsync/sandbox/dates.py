"""Date handling for the sandbox: the clock, tolerant parsing of dates in paths and CSV cells, ISO 8601
output."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

_YEAR = re.compile(r"^\d{4}$")


def utc(dt: datetime) -> datetime:
    """Return ``dt`` as an aware UTC datetime (a naive value is taken to be UTC, as the API does)."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def parse_date(text: str) -> datetime:
    """Parse the date forms clients put in paths (reference §3.2); raise ``ValueError`` on anything else.

    Accepted: ``2015-10-10T00:00:00Z`` (also ``z``), ``...+0000``, ``...+00:00``, fractional seconds (up to 7
    digits), ``2015-10-10 12:00:00``, ``2015-10-10`` and a bare year ``1971``. Zone-less values are UTC.
    """
    value = unquote(text).strip()
    if _YEAR.match(value):
        return datetime(int(value), 1, 1, tzinfo=UTC)
    if value.endswith(("z", "Z")):
        value = value[:-1] + "+00:00"
    return utc(datetime.fromisoformat(value))


# What a .NET server writes for a date that is not there (a non-nullable DateTime: DateTime.MinValue).
NO_DATE = "0001-01-01T00:00:00"


def format_date(dt: datetime | None) -> str | None:
    """Render a datetime as ISO 8601 UTC with a ``Z`` (milliseconds only when present)."""
    if dt is None:
        return None
    dt = utc(dt)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if dt.microsecond:
        text += f".{dt.microsecond // 1000:03d}"
    return text + "Z"


class Clock:
    """The sandbox clock: an injectable ``now()`` plus an offset that tests move with ``advance``/``set``."""

    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self._source = now or (lambda: datetime.now(UTC))
        self._offset = timedelta(0)

    def now(self) -> datetime:
        """The current sandbox time (aware, UTC)."""
        return utc(self._source()) + self._offset

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move the clock forward by ``delta`` or by ``timedelta(**kwargs)``; return the new time."""
        self._offset += delta if delta is not None else timedelta(**kwargs)
        return self.now()

    def set(self, when: datetime) -> None:
        """Make ``now()`` answer ``when`` (the clock keeps ticking with its source from there)."""
        self._offset += utc(when) - self.now()
