"""When and how long to wait before retrying a Dotmailer call: the retry policy of the HTTP layer.

No database knowledge here; the client asks :meth:`RetryPolicy.next_delay` after each failed attempt and
sleeps with its injected ``sleep`` (tests pass a fake, so no test ever sleeps).

Rules:

* Retried: transport errors, HTTP 5xx and 429 (and ``ERROR_SYSTEM_SERVICETEMPORARILYUNAVAILABLE``). Any other
  4xx, a malformed response, ``ERROR_APIUSAGE_EXCEEDED`` and ``ERROR_IMPORT_TOOMANYACTIVEIMPORTS`` are not:
  repeating the same request cannot help, and the last two need hours or another run, not seconds.
* Waits grow exponentially (``base_delay * multiplier ** (attempt - 1)``), capped at ``max_delay``, with jitter
  drawn from an injectable RNG so parallel runs do not retry in lock-step.
* On 429 the server's own hint wins: ``Retry-After`` (seconds or an HTTP date) or ``x-ratelimit-reset`` (epoch
  seconds). A hint longer than ``max_delay`` ends the retries at once: the run should stop and resume later
  rather than sit in a long sleep or hammer the API early.
* Non-idempotent POSTs (create book, create data field, start an import) are retried only when the server
  certainly did not act: the connection was never made, 429 (refused by the rate limiter before any work), or
  503 / ``ERROR_SYSTEM_SERVICETEMPORARILYUNAVAILABLE`` (service unavailable, nothing processed). A timeout
  after sending, a dropped connection or another 5xx may hide a completed action; the client then raises
  :class:`~dotsync.dotmailer.errors.OutcomeUnknownError` and the caller decides (e.g. polls imports, lists books).
"""

from __future__ import annotations

import email.utils
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC

from dotsync.dotmailer.errors import (
    DotmailerError,
    RateLimitedError,
    ServerError,
    TransportError,
)

# x-ratelimit-reset values below this are read as "seconds from now", not epoch seconds (2001-09-09).
_EPOCH_THRESHOLD = 1_000_000_000


@dataclass(frozen=True)
class RetryPolicy:
    """Capped, jittered exponential backoff. ``max_attempts`` counts the first try."""

    max_attempts: int = 5
    base_delay: float = 2.0
    multiplier: float = 2.0
    max_delay: float = 120.0
    jitter: float = 0.25

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter must be between 0 and 1")

    def is_retryable(self, error: DotmailerError, *, idempotent: bool) -> bool:
        """Whether another attempt may help and is safe."""
        if isinstance(error, RateLimitedError):
            return True
        if isinstance(error, TransportError):
            return idempotent or not error.sent
        if isinstance(error, ServerError):
            return idempotent or server_did_not_act(error)
        return False

    def next_delay(
        self, error: DotmailerError, attempt: int, *, idempotent: bool, rng: random.Random
    ) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to give up and raise ``error``."""
        if attempt >= self.max_attempts or not self.is_retryable(error, idempotent=idempotent):
            return None
        if isinstance(error, RateLimitedError) and error.retry_after is not None:
            if error.retry_after > self.max_delay:
                return None
            return max(0.0, error.retry_after)
        delay = min(self.max_delay, self.base_delay * self.multiplier ** (attempt - 1))
        # Jitter only shortens the wait, so max_delay stays a true cap.
        return delay * (1.0 - self.jitter * rng.random())


def server_did_not_act(error: DotmailerError) -> bool:
    """True when the answer proves the request was not carried out (so even a POST may be re-sent)."""
    if isinstance(error, RateLimitedError):
        return True
    if isinstance(error, TransportError):
        return not error.sent
    return error.status == 503 or error.code == "ERROR_SYSTEM_SERVICETEMPORARILYUNAVAILABLE"


def retry_after_seconds(headers: Mapping[str, str], now: float) -> float | None:
    """The wait a 429 asks for, from ``Retry-After`` or ``x-ratelimit-reset``; None if neither is usable.

    ``now`` is the current time in epoch seconds (from the client's injectable clock).
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    retry_after = lowered.get("retry-after", "").strip()
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(retry_after)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return max(0.0, when.timestamp() - now)
    reset = lowered.get("x-ratelimit-reset", "").strip()
    if reset:
        try:
            value = float(reset)
        except ValueError:
            return None
        return max(0.0, value - now) if value >= _EPOCH_THRESHOLD else max(0.0, value)
    return None
