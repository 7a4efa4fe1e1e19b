"""The tiered per-minute rate limit of the real API (reference §11, §15), as a sandbox knob.

``RateLimit(calls, seconds)``: each account may make ``calls`` calls per fixed window of ``seconds`` on the
sandbox clock. Over it: **429** with ``x-ratelimit-limit``, ``x-ratelimit-reset`` (seconds until the window
resets, as the vendor's SDK documents it), ``x-ratelimit-scope`` and ``Retry-After``; refused calls are not
counted. Whether the real API also sends the headers on successful answers is unknown; the sandbox does
(with ``x-ratelimit-remaining``), so a client's pacing can be exercised. Off by default: the limit depends on
the account's package.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

TOO_MANY = "Too many requests. The rate limit for this API user has been exceeded."


@dataclass(frozen=True)
class RateLimit:
    """``calls`` per ``seconds`` per account; ``scope`` names the tier in ``x-ratelimit-scope``."""

    calls: int
    seconds: float
    scope: str = "medium"

    def __post_init__(self) -> None:
        if self.calls < 1 or self.seconds <= 0:
            raise ValueError("a rate limit needs at least 1 call per a positive number of seconds")

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """``"35/60"`` -> 35 calls per 60 seconds."""
        calls, sep, seconds = text.partition("/")
        try:
            if not sep:
                raise ValueError(text)
            numbers = int(calls), float(seconds)
        except ValueError:
            raise ValueError(f"expected CALLS/SECONDS such as 35/60, got {text!r}") from None
        return cls(*numbers)


@dataclass
class Window:
    """One account's current window: when it started and how many calls it has taken."""

    start: datetime
    used: int = 0


@dataclass
class RateLimiter:
    """Windows per account (keyed by user name)."""

    limit: RateLimit
    windows: dict[str, Window] = field(default_factory=dict)

    def take(self, user: str, now: datetime) -> tuple[bool, dict[str, str]]:
        """Count one call if the window allows it; returns (allowed, headers for the answer)."""
        window = self.windows.get(user)
        length = timedelta(seconds=self.limit.seconds)
        if window is None or now >= window.start + length or now < window.start:
            window = self.windows[user] = Window(now)
        reset = max(1, math.ceil((window.start + length - now).total_seconds()))
        headers = {
            "x-ratelimit-limit": str(self.limit.calls),
            "x-ratelimit-reset": str(reset),
            "x-ratelimit-scope": self.limit.scope,
        }
        if window.used >= self.limit.calls:
            return False, {**headers, "x-ratelimit-remaining": "0", "retry-after": str(reset)}
        window.used += 1
        return True, {**headers, "x-ratelimit-remaining": str(self.limit.calls - window.used)}
